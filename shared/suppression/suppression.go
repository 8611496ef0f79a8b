// Package suppression is a tenant's suppression list: the addresses SES
// reported as a permanent bounce or a complaint, to which the service sends
// no more invitations (409 address_suppressed) until an operator removes
// them.
//
// functions/ses-events adds to it (Add), shared/invitations checks it (Key
// and Refusal, read in the batch of an invite or resend and held as a
// condition in their transaction), operators list it and remove from it
// (List, Remove). Every change is logged in the tenant-level change log
// (GET /tenant/changes) in its own transaction: email.suppressed,
// email.unsuppressed.
package suppression

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Why an address is suppressed.
const (
	ReasonBounced    = "bounced"    // a permanent bounce
	ReasonComplained = "complained" // the recipient marked an email as spam
)

// Entry is one suppressed address (table.Suppression).
type Entry struct {
	PK    string `dynamodbav:"PK" json:"-"`
	SK    string `dynamodbav:"SK" json:"-"`
	Type  string `dynamodbav:"type" json:"-"`
	Email string `dynamodbav:"email" json:"email"` // normalised (identity.NormalizeEmail)
	// Reason is bounced or complained; Detail is SES's word for it (the
	// bounce subtype, e.g. NoEmail, or the complaint's feedback type).
	Reason string `dynamodbav:"reason" json:"reason"`
	Detail string `dynamodbav:"detail,omitempty" json:"detail,omitempty"`
	// InvitationID is the invitation whose email bounced or was
	// complained about ("" when the notification named none).
	InvitationID string    `dynamodbav:"invitationId,omitempty" json:"invitationId,omitempty"`
	At           time.Time `dynamodbav:"at" json:"suppressedAt"` // when SES reported it
	GSI1PK       string    `dynamodbav:"GSI1PK" json:"-"`
	GSI1SK       string    `dynamodbav:"GSI1SK" json:"-"`
}

const typeSuppression = "SUPPRESSION"

// Errors of this package, with stable codes.
var (
	// ErrSuppressed refuses an invitation to a suppressed address; Refusal
	// says why and when.
	ErrSuppressed = apperr.New(apperr.KindConflict, "address_suppressed",
		"this address is on the tenant's suppression list: emails to it bounced or were reported as spam; an operator can remove it")
	ErrNotSuppressed = apperr.New(apperr.KindNotFound, "not_suppressed", "this address is not on the suppression list")
)

// Refusal is ErrSuppressed for e: why (bounced or complained, with SES's
// detail), when, and that an operator can remove it.
func Refusal(e Entry) *apperr.Error {
	why := "an invitation email to it bounced permanently"
	if e.Reason == ReasonComplained {
		why = "its recipient reported an invitation email as spam"
	}
	if e.Detail != "" {
		why += " (" + e.Detail + ")"
	}
	return ErrSuppressed.Withf("%s is on the suppression list: %s on %s, so no more invitations are sent to it; "+
		"a tenant operator can remove it (DELETE /tenant/suppressions/{email}) once the address works again",
		e.Email, why, email.FormatInstant(e.At)).With("reason", e.Reason).With("suppressedAt", e.At.UTC())
}

// Service keeps the suppression list.
type Service struct {
	Store *store.Store
	Clock clock.Clock
	IDs   ids.Generator
}

// Actor is who adds to the list: the function that receives SES's
// notifications.
var Actor = changelog.System("ses-events")

// Suppress is one address to add.
type Suppress struct {
	Email        string // normalised
	Reason       string // ReasonBounced or ReasonComplained
	Detail       string
	InvitationID string
	AccountID    string // the invitation's first account, for the log entry ("" none)
	At           time.Time
}

// Add puts the address on t's list with an email.suppressed entry in the
// tenant-level log, in one transaction. An address already listed is left
// as it is (added false): a second notification changes nothing.
func (s *Service) Add(ctx context.Context, t table.Tenant, cmd Suppress) (bool, error) {
	k, ix := t.Suppression(cmd.Email), t.SuppressionsByTime(cmd.At, cmd.Email)
	e := Entry{PK: k.PK, SK: k.SK, Type: typeSuppression, Email: cmd.Email, Reason: cmd.Reason, Detail: cmd.Detail,
		InvitationID: cmd.InvitationID, At: cmd.At.UTC(), GSI1PK: ix.PK, GSI1SK: ix.SK}
	log := changelog.NewTenantEntry(t, s.IDs.NewID(), s.Clock.Now(), cmd.AccountID, Actor, "email.suppressed", nil,
		map[string]any{"email": cmd.Email, "reason": cmd.Reason, "detail": cmd.Detail, "invitationId": cmd.InvitationID})
	log.SubjectType, log.SubjectID = "email", cmd.Email
	err := s.Store.Transact(ctx, "suppress an address", store.Put(e).If(store.NotExists()).OrFail(errListed), log.Write())
	if errors.Is(err, errListed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("suppress an address for invitation %s: %w", cmd.InvitationID, err)
	}
	return true, nil
}

var errListed = apperr.New(apperr.KindConflict, "already_suppressed", "the address is suppressed already")

// NotSuppressed is the condition, for a transaction that sends to addr,
// that addr is not on t's list (else ErrSuppressed): a suppression added
// between the read and the write makes the send fail rather than go out.
func NotSuppressed(t table.Tenant, addr string) *store.Write {
	return store.Check(t.Suppression(addr), store.NotExists()).OrFail(ErrSuppressed.Withf("%s was put on the suppression list a moment ago", addr))
}

// Page is one page of the list, newest first.
type Page struct {
	Suppressions []Entry `json:"suppressions"`
	NextCursor   string  `json:"nextCursor,omitempty"`
}

// List reads one page of t's list, newest first (one Query of GSI1,
// descending), for tenant operators only (403 operators_only; a tenant API
// key needs the tenant.manage scope).
func (s *Service) List(ctx context.Context, c access.Caller, limit int32, cursor string) (Page, error) {
	if err := access.RequireOperator(c, access.ManageTenant); err != nil {
		return Page{}, err
	}
	page, err := s.Store.QueryPage(ctx, store.Query{Index: table.GSI1, Partition: c.Tenant.Suppressions(),
		SKPrefix: table.SuppressedAtPrefix, Newest: true, Limit: limit, Cursor: cursor})
	if err != nil {
		return Page{}, fmt.Errorf("list the suppression list: %w", err)
	}
	out := Page{Suppressions: []Entry{}, NextCursor: page.Cursor}
	if err := page.Decode(&out.Suppressions); err != nil {
		return Page{}, apperr.Internal("decode suppressions", err)
	}
	return out, nil
}

// Remove takes raw (an address, normalised here) off t's list, logging
// email.unsuppressed in the tenant-level log in the same transaction; 404
// not_suppressed when it is not listed. Operators only, as List.
func (s *Service) Remove(ctx context.Context, c access.Caller, raw string) error {
	if err := access.RequireOperator(c, access.ManageTenant); err != nil {
		return err
	}
	addr, err := identity.NormalizeEmail(raw)
	if err != nil {
		return ErrNotSuppressed.Withf("%q is not an email address on the suppression list", truncate(raw, 80))
	}
	t := c.Tenant
	var e Entry
	found, err := s.Store.Get(ctx, t.Suppression(addr), &e)
	if err != nil {
		return fmt.Errorf("read a suppression: %w", err)
	}
	if !found {
		return ErrNotSuppressed.Withf("%s is not on the suppression list", addr)
	}
	log := changelog.NewTenantEntry(t, s.IDs.NewID(), s.Clock.Now(), "", changelog.ActorOf(c), "email.unsuppressed",
		map[string]any{"email": addr, "reason": e.Reason, "detail": e.Detail, "suppressedAt": e.At, "invitationId": e.InvitationID}, nil)
	log.SubjectType, log.SubjectID = "email", addr
	err = s.Store.Transact(ctx, "remove a suppression",
		store.Delete(t.Suppression(addr)).If(store.Exists()).OrFail(ErrNotSuppressed.Withf("%s is not on the suppression list", addr)),
		log.Write())
	if err != nil {
		return fmt.Errorf("remove a suppression: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
