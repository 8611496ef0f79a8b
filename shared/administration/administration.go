// Package administration changes accounts and the people in them: create
// and rename accounts, edit profiles and emails, roles, licences, passwords,
// suspension, sign-out, deletion, removal from one account and closing an
// account. Reading is shared/directory's.
//
// Every change is one TransactWriteItems that also writes its change-log
// entry, and every invariant is a condition inside it, never a
// read-then-write:
//   - versions: each edit requires the version it read (the caller's
//     If-Match, when given, must be that version), so two edits never
//     silently overwrite each other (412);
//   - email unique per tenant: the old email claim is deleted and the new
//     one put with attribute_not_exists, with the user, in one transaction;
//   - seats held (used + reserved) never above the seats the account has (plan, override, purchase): licences.Seats;
//   - an account never left without an active Admin (a user with status
//     active holding the Admin role and a licence there): whatever takes
//     that away from someone — demotion, licence removal, removal,
//     suspension, deletion — also ConditionChecks another active Admin of
//     the account (their membership and their user item). DynamoDB
//     serialises transactions that touch the same items, so of two admins
//     removing each other at the same moment exactly one succeeds: the
//     other's check then finds its chosen admin gone (409 last_admin).
//     This needs no counter that every writer of memberships would have to
//     keep exact: it checks the very items that make someone an admin.
package administration

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Mailer sends one email; *sesmail.Sender is one.
type Mailer interface {
	Send(ctx context.Context, m email.Message) (string, error)
}

// Service makes the administration changes.
type Service struct {
	Store    *store.Store
	Clock    clock.Clock
	IDs      ids.Generator
	Access   access.Checker
	Sessions *auth.Service // issues the new session of a user who changed their password
	Mail     Mailer        // notices (email changed, generated password); nil sends none
	Log      *slog.Logger
	// WipeBudget bounds the items one close-with-wipe call deletes (default
	// 2000), so a request stays well inside its timeout.
	WipeBudget int
}

// New builds the service from the function's dependencies.
func New(d service.Deps) *Service {
	s := &Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs, Access: access.Checker{Store: d.Store},
		Sessions: &auth.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs}, Log: d.Log}
	if d.Mail != nil && d.Sender != "" {
		s.Mail = d.Mail
	}
	return s
}

// Errors of this package.
var (
	ErrLastAdmin = apperr.New(apperr.KindConflict, "last_admin",
		"this would leave the account without an active Admin: make someone else Admin first")
	ErrNotMember = apperr.New(apperr.KindNotFound, "not_member", "this user is not a member of this account")
	ErrSelf      = apperr.New(apperr.KindConflict, "not_yourself", "you cannot do this to yourself")
	ErrTooBig    = apperr.New(apperr.KindConflict, "too_many_items",
		"this change touches more items than one transaction can hold; remove some of the user's memberships first")
	ErrChanged = apperr.New(apperr.KindConflict, "changed_meanwhile", "something this change depends on changed meanwhile; reload and retry")
)

// expect is the version a write must find: what was read, which the
// caller's If-Match (when given) must equal, else 412 at once.
func expect(ifMatch, read int64) (int64, error) {
	if ifMatch != 0 && ifMatch != read {
		return 0, apperr.ErrVersionConflict
	}
	return read, nil
}

// ValidName checks a display name (an account's, a person's): trimmed, 1 to
// max characters, no control characters.
func ValidName(f *apperr.Fields, field, value string, maxRunes int) string {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		f.Add(field, "required", field+" is required")
	case !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxRunes:
		f.Add(field, "too_long", fmt.Sprintf("%s has at most %d characters", field, maxRunes))
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		f.Add(field, "invalid", field+" may not contain control characters")
	}
	return v
}

// memberships reads all of a user's memberships (GSI1).
func (s *Service) memberships(ctx context.Context, t table.Tenant, userID string) ([]accounts.Membership, error) {
	ix := t.UserAccounts(userID, "")
	items, err := s.Store.QueryAll(ctx, store.Query{Index: table.GSI1, Partition: ix.PK, SKPrefix: ix.SK}, 1000)
	if err != nil {
		return nil, fmt.Errorf("read memberships of %s: %w", userID, err)
	}
	var ms []accounts.Membership
	if err := attributevalue.UnmarshalListOfMaps(items, &ms); err != nil {
		return nil, apperr.Internal("decode memberships", err)
	}
	return ms, nil
}

func decode(items map[table.Key]map[string]types.AttributeValue, k table.Key, out any) (bool, error) {
	it, ok := items[k]
	if !ok {
		return false, nil
	}
	if err := attributevalue.UnmarshalMap(it, out); err != nil {
		return false, apperr.Internal("decode "+k.SK, err)
	}
	return true, nil
}

// logAccount is the account whose change log records a change to user u:
// their home account, else the caller's active account.
func logAccount(homeAccountID string, c access.Caller) string {
	if homeAccountID != "" {
		return homeAccountID
	}
	return c.AccountID
}

// transact runs writes, refusing up front what cannot fit in one transaction.
func (s *Service) transact(ctx context.Context, what string, writes []*store.Write) error {
	if len(writes) > store.MaxTransactionItems {
		return ErrTooBig
	}
	return s.Store.Transact(ctx, what, writes...)
}

func (s *Service) now() time.Time { return s.Clock.Now() }
