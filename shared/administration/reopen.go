package administration

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
)

// MaxReopenReasonRunes bounds the reason of a reopen.
const MaxReopenReasonRunes = 500

// ReopenAccountRequest is the (optional) body of POST
// /accounts/{accountId}/reopen.
type ReopenAccountRequest struct {
	Reason string `json:"reason,omitempty"`
}

// ReopenAccount is a validated reopen.
type ReopenAccount struct {
	Caller    access.Caller
	AccountID string
	Reason    string
}

// Command validates the request: the reason is optional, on one line.
func (r ReopenAccountRequest) Command(c access.Caller, accountID string) (ReopenAccount, error) {
	var f apperr.Fields
	reason := strings.TrimSpace(r.Reason)
	f.Check(utf8.RuneCountInString(reason) <= MaxReopenReasonRunes && strings.IndexFunc(reason, unicode.IsControl) < 0,
		"reason", "invalid", fmt.Sprintf("the reason is at most %d characters, on one line", MaxReopenReasonRunes))
	return ReopenAccount{Caller: c, AccountID: accountID, Reason: reason}, f.Err()
}

// Errors of a reopen.
var (
	// ErrNotClosed refuses to reopen an account that is not closed.
	ErrNotClosed = apperr.New(apperr.KindConflict, "account_not_closed", "this account is not closed: there is nothing to reopen")
	// ErrWiping refuses to reopen an account whose data is being (or was
	// partly) wiped: what is gone cannot come back.
	ErrWiping = apperr.New(apperr.KindConflict, "account_wiped",
		"this account's data is being wiped: it cannot be reopened; repeat the close with wipe to finish the wipe")
)

// ReopenAccount makes a closed account whose data was kept active again, so
// that its users sign in to it again. It is tenant administration (tenant
// operators, switched or not: access.ReopenAccount). The account's item
// goes back to active (closedAt removed, reopenedAt set), its entry in the
// register of closed accounts is deleted, and the account.reopened entry is
// written into the account's change log and the tenant's, all in one
// transaction conditioned on the account still being closed and no wipe
// having started (wipingAttr: a close with wipe, or any transaction of a
// wipe, sets it). Children unlinked when it closed stay unlinked.
func (s *Service) ReopenAccount(ctx context.Context, cmd ReopenAccount) (accounts.Account, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if !ids.Valid(cmd.AccountID) {
		return accounts.Account{}, apperr.ErrNotFound.Withf("no account %q", cmd.AccountID)
	}
	if err := s.Access.Require(ctx, c, access.ReopenAccount, cmd.AccountID); err != nil {
		return accounts.Account{}, err
	}
	var read struct {
		accounts.Account
		Wiping bool `dynamodbav:"wiping"`
	}
	ok, err := s.Store.Get(ctx, t.Account(cmd.AccountID), &read)
	switch {
	case err != nil:
		return accounts.Account{}, err
	case !ok:
		return accounts.Account{}, apperr.ErrNotFound.Withf("no account %s", cmd.AccountID)
	case read.Status != accounts.StatusClosed:
		return accounts.Account{}, ErrNotClosed
	case read.Wiping:
		return accounts.Account{}, ErrWiping
	}
	a := read.Account
	now := s.now()
	closedAt := now
	if a.ClosedAt != nil {
		closedAt = *a.ClosedAt
	}
	notWiping := expression.AttributeNotExists(expression.Name(wipingAttr))
	before := map[string]any{"status": accounts.StatusClosed, "closedAt": closedAt}
	after := map[string]any{"status": accounts.StatusActive}
	if cmd.Reason != "" {
		after["reason"] = cmd.Reason
	}
	tenantBefore := map[string]any{"status": accounts.StatusClosed, "closedAt": closedAt, "name": a.Name}
	if err := s.transact(ctx, "reopen account "+a.ID, []*store.Write{
		accounts.Reopen(t, a, now, notWiping).OrFail(ErrChanged),
		store.Delete(accounts.NewClosedEntry(t, a, closedAt).Key()),
		changelog.New(t, s.IDs.NewID(), now, a.ID, changelog.ActorOf(c), "account.reopened", "account", a.ID, before, after).Write(),
		changelog.NewTenantEntry(t, s.IDs.NewID(), now, a.ID, changelog.ActorOf(c), "account.reopened", tenantBefore, after).Write(),
	}); err != nil {
		return accounts.Account{}, err
	}
	a.Status, a.ClosedAt, a.UpdatedAt, a.Version = accounts.StatusActive, nil, now, a.Version+1
	return a, nil
}
