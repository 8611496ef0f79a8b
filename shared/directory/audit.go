package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Change is one change-log entry as the API shows it.
type Change struct {
	ID          string          `json:"id"`
	At          time.Time       `json:"at"`
	AccountID   string          `json:"accountId"`
	Actor       changelog.Actor `json:"actor"`
	Action      string          `json:"action"`
	SubjectType string          `json:"subjectType"`
	SubjectID   string          `json:"subjectId"`
	Before      map[string]any  `json:"before,omitempty"`
	After       map[string]any  `json:"after,omitempty"`
}

// ChangePage is one page of a change log, newest first.
type ChangePage struct {
	Changes    []Change `json:"changes"`
	NextCursor string   `json:"nextCursor,omitempty"`
}

// AccountChanges reads an account's change log, newest first (one Query on
// the account's partition, descending: entry ids are time ordered).
func (d *Directory) AccountChanges(ctx context.Context, caller access.Caller, accountID string, limit int32, cursor string) (ChangePage, error) {
	if !ValidID(accountID) {
		return ChangePage{}, apperr.ErrNotFound.Withf("no account %q", accountID)
	}
	if err := d.Access.Require(ctx, caller, access.ReadAudit, accountID); err != nil {
		return ChangePage{}, err
	}
	q := store.Query{Partition: caller.Tenant.AccountPartition(accountID), SKPrefix: table.ChangeLogPrefix, Newest: true}
	return d.changes(ctx, q, limit, cursor)
}

// UserChanges reads the changes whose subject is a user, across accounts,
// newest first (GSI1, table.UserChangeLog).
func (d *Directory) UserChanges(ctx context.Context, caller access.Caller, userID string, limit int32, cursor string) (ChangePage, error) {
	if err := d.requireAudit(ctx, caller, userID); err != nil {
		return ChangePage{}, err
	}
	ix := caller.Tenant.UserChangeLog(userID, "")
	return d.changes(ctx, store.Query{Index: table.GSI1, Partition: ix.PK, SKPrefix: ix.SK, Newest: true}, limit, cursor)
}

func (d *Directory) changes(ctx context.Context, q store.Query, limit int32, cursor string) (ChangePage, error) {
	items, next, err := readSegments(ctx, d.Store, []store.Query{q}, limit, cursor)
	if err != nil {
		return ChangePage{}, fmt.Errorf("read change log: %w", err)
	}
	entries, err := decodeAll[changelog.Entry](items)
	if err != nil {
		return ChangePage{}, err
	}
	out := ChangePage{Changes: make([]Change, 0, len(entries)), NextCursor: next}
	for _, e := range entries {
		out.Changes = append(out.Changes, Change{ID: e.ID, At: e.At, AccountID: e.AccountID, Actor: e.Actor, Action: e.Action,
			SubjectType: e.SubjectType, SubjectID: e.SubjectID, Before: e.Before, After: e.After})
	}
	return out, nil
}

// Access is one sign-in or account switch as the API shows it.
type Access struct {
	ID        string    `json:"id"`
	Event     string    `json:"event"`
	AccountID string    `json:"accountId"`
	At        time.Time `json:"at"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"userAgent,omitempty"`
	ActorID   string    `json:"actorId,omitempty"` // the support person who acted via "switch account"
	Reason    string    `json:"reason,omitempty"`
}

// AccessPage is one page of an access history, newest first.
type AccessPage struct {
	Entries    []Access `json:"entries"`
	NextCursor string   `json:"nextCursor,omitempty"`
}

// AccessHistory reads a user's sign-ins and account switches, newest first
// (one Query on the user's partition, descending).
func (d *Directory) AccessHistory(ctx context.Context, caller access.Caller, userID string, limit int32, cursor string) (AccessPage, error) {
	if err := d.requireAudit(ctx, caller, userID); err != nil {
		return AccessPage{}, err
	}
	q := store.Query{Partition: caller.Tenant.User(userID).PK, SKPrefix: table.AccessHistoryPrefix, Newest: true}
	items, next, err := readSegments(ctx, d.Store, []store.Query{q}, limit, cursor)
	if err != nil {
		return AccessPage{}, fmt.Errorf("read access history: %w", err)
	}
	entries, err := decodeAll[identity.AccessEntry](items)
	if err != nil {
		return AccessPage{}, err
	}
	out := AccessPage{Entries: make([]Access, 0, len(entries)), NextCursor: next}
	for _, e := range entries {
		out.Entries = append(out.Entries, Access{ID: e.ID, Event: e.Event, AccountID: e.AccountID, At: e.At, IP: e.IP,
			UserAgent: e.UserAgent, ActorID: e.ActorID, Reason: e.Reason})
	}
	return out, nil
}

// requireAudit: a user reads their own history; others need audit.read over
// the user (see RequireOverUser). A deleted user's history stays readable.
func (d *Directory) requireAudit(ctx context.Context, caller access.Caller, userID string) error {
	if !ValidID(userID) {
		return apperr.ErrNotFound.Withf("no user %q", userID)
	}
	if userID == caller.UserID {
		return nil
	}
	var u identity.User
	ok, err := d.Store.Get(ctx, caller.Tenant.User(userID), &u)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.ErrNotFound.Withf("no user %s", userID)
	}
	return RequireOverUser(ctx, d.Store, d.Access, caller, access.ReadAudit, u)
}
