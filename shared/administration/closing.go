package administration

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// CloseAccountRequest is the body of POST /accounts/{accountId}/close.
type CloseAccountRequest struct {
	// ConfirmName must repeat the account's name (case and surrounding
	// spaces aside), so an account is never closed by accident.
	ConfirmName string `json:"confirmName"`
	// Wipe deletes everything the account owns; without it the data stays
	// and the account is only marked closed.
	Wipe bool `json:"wipe"`
}

// CloseAccount is a validated close request.
type CloseAccount struct {
	Caller      access.Caller
	AccountID   string
	ConfirmName string
	Wipe        bool
}

// Command validates the request.
func (r CloseAccountRequest) Command(c access.Caller, accountID string) (CloseAccount, error) {
	var f apperr.Fields
	name := ValidName(&f, "confirmName", r.ConfirmName, directory.MaxNameLength)
	return CloseAccount{Caller: c, AccountID: accountID, ConfirmName: name, Wipe: r.Wipe}, f.Err()
}

// Closed reports what a close did.
type Closed struct {
	AccountID string `json:"accountId"`
	Status    string `json:"status"` // closed, or wiped once nothing is left
	Wiped     bool   `json:"wiped"`
	// Deleted counts the items this call deleted; Complete says whether the
	// account's partition is now empty (a large account is wiped over
	// several calls: repeat the request until it is complete).
	Deleted  int  `json:"deleted"`
	Complete bool `json:"complete"`
}

// ErrConfirmMismatch refuses a close whose confirmation is not the name.
var ErrConfirmMismatch = apperr.Validation(apperr.FieldError{Field: "confirmName", Code: "confirm_mismatch",
	Detail: "type the account's name exactly to confirm"})

// defaultWipeBudget bounds the items one call deletes, so a request stays
// well inside its timeout; the caller repeats the request to continue.
const defaultWipeBudget = 2000

// CloseAccount closes an account. The account goes to status closed in one
// transaction with its entry in the register of closed accounts and the
// change-log entry: from then on nobody can sign in to it and the
// authorizer refuses every session in it on its next request. With Wipe,
// everything the account owns is then deleted — a Query of its partition,
// page by page (memberships, invitation entries and the invitations that
// were only for it, licences, usage, change log, the account item last) —
// and the partition is queried again to prove it empty.
//
// Closing needs account.close in the account (Admins); wiping an account
// that is closed already (or resuming a wipe) is for tenant operators.
func (s *Service) CloseAccount(ctx context.Context, cmd CloseAccount) (Closed, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if !directory.ValidID(cmd.AccountID) {
		return Closed{}, apperr.ErrNotFound.Withf("no account %q", cmd.AccountID)
	}
	a, err := directory.LoadAccount(ctx, s.Store, t, cmd.AccountID)
	if err != nil {
		if apperr.KindOf(err) == apperr.KindNotFound && cmd.Wipe && c.Operator {
			return s.finishWipe(ctx, c, cmd.AccountID, 0)
		}
		return Closed{}, err
	}
	if a.Status == accounts.StatusClosed {
		if !c.Operator {
			return Closed{}, apperr.New(apperr.KindConflict, "account_closed", "this account is closed; only tenant operators may wipe it")
		}
	} else if err := s.Access.Require(ctx, c, access.CloseAccount, a.ID); err != nil {
		return Closed{}, err
	}
	if !strings.EqualFold(strings.TrimSpace(a.Name), cmd.ConfirmName) {
		return Closed{}, ErrConfirmMismatch
	}
	if a.Status != accounts.StatusClosed {
		if err := s.markClosed(ctx, c, a); err != nil {
			return Closed{}, err
		}
	}
	// A closed parent's children are unlinked and kept, each unlink in
	// both change logs (repeated on a retry or a resumed wipe: idempotent).
	if a.ChildCount > 0 {
		children := links.Service{Store: s.Store, Clock: s.Clock, IDs: s.IDs, Access: s.Access}
		if _, err := children.DetachChildren(ctx, t, a.ID, actorOf(c), "parent account closed"); err != nil {
			return Closed{}, fmt.Errorf("unlink children of closed account %s: %w", a.ID, err)
		}
	}
	if !cmd.Wipe {
		return Closed{AccountID: a.ID, Status: accounts.StatusClosed, Complete: true}, nil
	}
	return s.wipe(ctx, c, a)
}

func (s *Service) markClosed(ctx context.Context, c access.Caller, a accounts.Account) error {
	t, now := c.Tenant, s.now()
	upd := store.BumpVersion().
		Set(expression.Name("status"), expression.Value(accounts.StatusClosed)).
		Set(expression.Name("closedAt"), expression.Value(now)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	entry := changelog.New(t, s.IDs.NewID(), now, a.ID, actorOf(c), "account.closed", "account", a.ID,
		map[string]any{"status": a.Status}, map[string]any{"status": accounts.StatusClosed})
	return s.transact(ctx, "close account "+a.ID, []*store.Write{
		store.Update(t.Account(a.ID), upd).If(store.Is("status", accounts.StatusActive)).OrFail(ErrChanged),
		store.Put(directory.NewClosedEntry(t, a, now)),
		entry.Write(),
	})
}

// wipe deletes the account's items, at most wipeBudget per call.
func (s *Service) wipe(ctx context.Context, c access.Caller, a accounts.Account) (Closed, error) {
	t := c.Tenant
	deleted, budget := 0, s.WipeBudget
	if budget <= 0 {
		budget = defaultWipeBudget
	}
	accountKey := t.Account(a.ID)
	for deleted < budget {
		page, err := s.Store.QueryPage(ctx, store.Query{Partition: t.AccountPartition(a.ID), Limit: int32(min(50, budget-deleted+1))})
		if err != nil {
			return Closed{}, fmt.Errorf("wipe account %s: %w", a.ID, err)
		}
		var writes []*store.Write
		for _, it := range page.Items {
			k := store.KeyOf(it)
			if k == accountKey {
				continue // last, so a wipe cut short can be resumed
			}
			writes = append(writes, store.Delete(k))
			if strings.HasPrefix(k.SK, "INVITE#") {
				if w, ok := s.invitationOnlyFor(ctx, t, a.ID, strings.TrimPrefix(k.SK, "INVITE#")); ok {
					writes = append(writes, w)
				}
			}
		}
		if len(writes) == 0 {
			break
		}
		if err := s.deleteAll(ctx, writes); err != nil {
			return Closed{}, fmt.Errorf("wipe account %s: %w", a.ID, err)
		}
		deleted += len(writes)
	}
	if deleted >= budget {
		return Closed{AccountID: a.ID, Status: accounts.StatusClosed, Wiped: true, Deleted: deleted}, nil
	}
	return s.finishWipe(ctx, c, a.ID, deleted, a)
}

// finishWipe deletes the account item and its register entry, proves the
// partition empty, and records the wipe in the caller's active account.
func (s *Service) finishWipe(ctx context.Context, c access.Caller, accountID string, deleted int, acc ...accounts.Account) (Closed, error) {
	t, now := c.Tenant, s.now()
	var writes []*store.Write
	if len(acc) == 1 {
		a := acc[0]
		closedAt := now
		if a.ClosedAt != nil {
			closedAt = *a.ClosedAt
		}
		writes = append(writes, store.Delete(t.Account(a.ID)), store.Delete(directory.NewClosedEntry(t, a, closedAt).Key()))
		if c.AccountID != "" && c.AccountID != a.ID {
			writes = append(writes, changelog.New(t, s.IDs.NewID(), now, c.AccountID, actorOf(c), "account.wiped", "account", a.ID,
				map[string]any{"name": a.Name}, nil).Write())
		}
	}
	if len(writes) > 0 {
		if err := s.transact(ctx, "wipe account "+accountID, writes); err != nil {
			return Closed{}, err
		}
		deleted += 2
	}
	left, err := s.Store.QueryPage(ctx, store.Query{Partition: t.AccountPartition(accountID), Limit: 1})
	if err != nil {
		return Closed{}, err
	}
	if len(left.Items) > 0 {
		return Closed{AccountID: accountID, Status: accounts.StatusClosed, Wiped: true, Deleted: deleted}, nil
	}
	return Closed{AccountID: accountID, Status: "wiped", Wiped: true, Deleted: deleted, Complete: true}, nil
}

// invitationOnlyFor returns the delete of an invitation whose only target
// is accountID; an invitation to several accounts stays for the others.
func (s *Service) invitationOnlyFor(ctx context.Context, t table.Tenant, accountID, invitationID string) (*store.Write, bool) {
	var inv struct {
		AccountIDs []string `dynamodbav:"accountIds"`
	}
	ok, err := s.Store.Get(ctx, t.Invitation(invitationID), &inv)
	if err != nil || !ok || len(inv.AccountIDs) != 1 || inv.AccountIDs[0] != accountID {
		return nil, false
	}
	return store.Delete(t.Invitation(invitationID)), true
}

// deleteAll deletes in transactions of at most 25 items.
func (s *Service) deleteAll(ctx context.Context, writes []*store.Write) error {
	for start := 0; start < len(writes); start += 25 {
		part := writes[start:min(start+25, len(writes))]
		if len(part) == 1 {
			if err := s.Store.Do(ctx, "wipe item", part[0]); err != nil {
				return err
			}
			continue
		}
		if err := s.Store.Transact(ctx, "wipe items", part...); err != nil {
			return err
		}
	}
	return nil
}
