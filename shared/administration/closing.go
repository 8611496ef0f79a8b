package administration

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// CloseAccountRequest is the body of POST /accounts/{accountId}/close.
type CloseAccountRequest struct {
	// ConfirmName must repeat the account's name exactly, case included
	// (only surrounding spaces are trimmed), so an account is never closed
	// by accident.
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
	name := ValidName(&f, "confirmName", r.ConfirmName, accounts.MaxNameLength)
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
	Detail: "type the account's name exactly, in the same case, to confirm"})

// defaultWipeBudget bounds the items one call deletes, so a request stays
// well inside its timeout; the caller repeats the request to continue.
const defaultWipeBudget = 2000

// CloseAccount closes an account. The account goes to status closed in one
// transaction with its entry in the register of closed accounts and the
// change-log entry: from then on nobody can sign in to it and every
// session in it is refused on its next request. With Wipe,
// everything the account owns is then deleted — a Query of its partition,
// page by page (memberships, invitation entries and the invitations that
// were only for it — an invitation to other accounts too leaves only this
// one, see invitationsLeaving —, licences, usage, change log, the account
// item last; a read that fails fails the call, which is safe to repeat) —
// and the partition is queried again to prove it empty. No user is left
// with the wiped account as their home: one who is a member elsewhere gets
// one of those accounts as their new home, one who is not is deleted (see
// leaveWipedHome).
//
// Closing needs account.close in the account (Admins); wiping an account
// that is closed already (or resuming a wipe) is for tenant operators.
func (s *Service) CloseAccount(ctx context.Context, cmd CloseAccount) (Closed, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if !ids.Valid(cmd.AccountID) {
		return Closed{}, apperr.ErrNotFound.Withf("no account %q", cmd.AccountID)
	}
	a, err := accounts.Load(ctx, s.Store, t, cmd.AccountID)
	if err != nil {
		if apperr.KindOf(err) == apperr.KindNotFound && cmd.Wipe && c.Operator {
			return s.resumeWipe(ctx, c, cmd.AccountID, err)
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
	if strings.TrimSpace(a.Name) != cmd.ConfirmName {
		return Closed{}, ErrConfirmMismatch
	}
	if a.Status != accounts.StatusClosed {
		if err := s.markClosed(ctx, c, a, cmd.Wipe); err != nil {
			return Closed{}, err
		}
	}
	// A closed parent's children are unlinked and kept, each unlink in
	// both change logs (repeated on a retry or a resumed wipe: idempotent).
	if a.ChildCount > 0 {
		children := links.Service{Store: s.Store, Clock: s.Clock, IDs: s.IDs, Access: s.Access}
		if _, err := children.DetachChildren(ctx, t, a.ID, changelog.ActorOf(c), "parent account closed"); err != nil {
			return Closed{}, fmt.Errorf("unlink children of closed account %s: %w", a.ID, err)
		}
	}
	if !cmd.Wipe {
		return Closed{AccountID: a.ID, Status: accounts.StatusClosed, Complete: true}, nil
	}
	return s.wipe(ctx, c, a)
}

// markClosed closes a, in one transaction with its register entry and the
// account.closed entry in both the account's and the tenant's change log.
// A close that is to wipe marks the account as being wiped (wiping), which
// a reopen refuses from then on.
func (s *Service) markClosed(ctx context.Context, c access.Caller, a accounts.Account, wipe bool) error {
	t, now := c.Tenant, s.now()
	upd := store.BumpVersion()
	if wipe {
		upd = upd.Set(expression.Name(wipingAttr), expression.Value(true))
	}
	before, after := map[string]any{"status": a.Status}, map[string]any{"status": accounts.StatusClosed, "wipe": wipe}
	entry := changelog.New(t, s.IDs.NewID(), now, a.ID, changelog.ActorOf(c), "account.closed", "account", a.ID, before, after)
	tenantBefore := map[string]any{"status": a.Status, "name": a.Name}
	return s.transact(ctx, "close account "+a.ID, []*store.Write{
		accounts.Close(t, a.ID, now, upd).OrFail(ErrChanged),
		store.Put(accounts.NewClosedEntry(t, a, now)),
		entry.Write(),
		changelog.NewTenantEntry(t, s.IDs.NewID(), now, a.ID, changelog.ActorOf(c), "account.closed", tenantBefore, after).Write(),
	})
}

// The tally of a wipe. Every transaction of a wipe that deletes items of
// the account's partition also adds, to attributes of the account item
// (deleted last), how many it deleted of each kind (wipeKind), and their
// total, under the condition that the account is still closed (so a wipe
// never continues into a reopened account) and marks it wiping (so it is
// never reopened half wiped). A wipe runs over several calls and many
// transactions; the final one, which deletes the account item, reads the
// tally (strongly consistent) and deletes the item under the condition that
// the total is still what it read, so the counts in its tenant-log entry
// are exactly what the whole wipe deleted. Items deleted by a wipe resumed
// after the account item is gone (written meanwhile) are not counted.
const (
	wipingAttr     = "wiping"
	tallyPrefix    = "wiped_"
	tallyTotalAttr = tallyPrefix + "total"
	kindUsers      = "usersDeleted" // users whose only account it was (their email claims go with them)
)

// wipeKind is the kind of an item of the account's partition, by sort key.
func wipeKind(sk string) string {
	switch {
	case strings.HasPrefix(sk, table.MembershipPrefix):
		return "members"
	case strings.HasPrefix(sk, invitationEntryPrefix):
		return "invitations"
	case strings.HasPrefix(sk, table.ContentPrefix):
		return "content"
	case strings.HasPrefix(sk, table.UsagePeriodPrefix):
		return "usagePeriods"
	case strings.HasPrefix(sk, table.ChangeLogPrefix):
		return "logEntries"
	case strings.HasPrefix(sk, table.LicencePoolPrefix):
		return "licences"
	}
	return "other"
}

// tallyWrite adds counts to the wipe's tally on accountID's item (see
// above); a reopen meanwhile makes it fail, and the items with it.
func tallyWrite(t table.Tenant, accountID string, counts map[string]int) *store.Write {
	upd := expression.Set(expression.Name(wipingAttr), expression.Value(true))
	total := 0
	for k, n := range counts {
		upd = upd.Add(expression.Name(tallyPrefix+k), expression.Value(n))
		total += n
	}
	upd = upd.Add(expression.Name(tallyTotalAttr), expression.Value(total))
	return store.Update(t.Account(accountID), upd).If(accounts.IsClosed()).OrFail(ErrChanged)
}

// readTally reads the tally of accountID's wipe: the counts by kind and
// their total.
func (s *Service) readTally(ctx context.Context, t table.Tenant, accountID string) (map[string]int64, int64, error) {
	var item map[string]any
	if _, err := s.Store.Get(ctx, t.Account(accountID), &item); err != nil {
		return nil, 0, fmt.Errorf("read the tally of the wipe of %s: %w", accountID, err)
	}
	counts := map[string]int64{}
	var total int64
	for k, v := range item {
		n, ok := v.(float64)
		if !ok || !strings.HasPrefix(k, tallyPrefix) {
			continue
		}
		if k == tallyTotalAttr {
			total = int64(n)
			continue
		}
		counts[strings.TrimPrefix(k, tallyPrefix)] = int64(n)
	}
	return counts, total, nil
}

// homeMemberCost is what a member whose home account is being wiped costs
// of a wipe call's budget: their user is moved or deleted in a transaction
// of its own, after a Query of their memberships, where any other item is
// one delete among 25.
const homeMemberCost = 20

// wipe deletes the account's items, at most wipeBudget per call (a member
// whose home it was counts homeMemberCost). Each page of the partition is
// read again from its start, so a call cut short, or a retry, resumes
// where the last one stopped: what is already deleted is not found again.
func (s *Service) wipe(ctx context.Context, c access.Caller, a accounts.Account) (Closed, error) {
	deleted, done, err := s.wipeItems(ctx, c, a, true)
	if err != nil || !done {
		return Closed{AccountID: a.ID, Status: accounts.StatusClosed, Wiped: true, Deleted: deleted}, err
	}
	return s.finishWipe(ctx, c, a.ID, deleted, a)
}

// wipeItems deletes what the account owns but its item, within the call's
// budget, and says whether it is done. With tally (the account item is
// still there), each of its transactions adds to the wipe's tally.
func (s *Service) wipeItems(ctx context.Context, c access.Caller, a accounts.Account, tally bool) (deleted int, done bool, err error) {
	t := c.Tenant
	deleted, spent, budget := 0, 0, s.WipeBudget
	if budget <= 0 {
		budget = defaultWipeBudget
	}
	accountKey := t.Account(a.ID)
	for spent < budget {
		page, err := s.Store.QueryPage(ctx, store.Query{Partition: t.AccountPartition(a.ID), Limit: int32(min(50, budget-spent+1))})
		if err != nil {
			return deleted, false, fmt.Errorf("wipe account %s: %w", a.ID, err)
		}
		var units []wipeUnit
		var members []accounts.Membership
		var invited []string
		for _, it := range page.Items {
			k := store.KeyOf(it)
			switch {
			case k == accountKey:
				continue // last, so a wipe cut short can be resumed
			case strings.HasPrefix(k.SK, table.MembershipPrefix):
				var m accounts.Membership
				if err := attributevalue.UnmarshalMap(it, &m); err != nil {
					return deleted, false, apperr.Internal("decode membership "+k.SK, err)
				}
				members = append(members, m)
				continue
			case strings.HasPrefix(k.SK, invitationEntryPrefix):
				invited = append(invited, strings.TrimPrefix(k.SK, invitationEntryPrefix))
				continue
			}
			units = append(units, wipeUnit{writes: []*store.Write{store.Delete(k)}, deletes: 1, kind: wipeKind(k.SK)})
		}
		if len(units) == 0 && len(members) == 0 && len(invited) == 0 {
			break
		}
		// A read that fails fails the call (repeating it is safe): an entry
		// is never deleted without what it says of its invitation.
		inv, err := s.invitationsLeaving(ctx, t, a.ID, invited)
		if err != nil {
			return deleted, false, fmt.Errorf("wipe account %s: %w", a.ID, err)
		}
		units = append(units, inv...)
		homes, plain, err := s.homeMembers(ctx, t, a.ID, members)
		if err != nil {
			return deleted, false, fmt.Errorf("wipe account %s: %w", a.ID, err)
		}
		for _, w := range plain {
			units = append(units, wipeUnit{writes: []*store.Write{w}, deletes: 1, kind: "members"})
		}
		tallied := ""
		if tally {
			tallied = a.ID
		}
		n, err := s.deleteAll(ctx, t, tallied, units)
		deleted += n
		if err != nil {
			return deleted, false, fmt.Errorf("wipe account %s: %w", a.ID, err)
		}
		spent += len(units)
		for _, h := range homes {
			if spent >= budget {
				break
			}
			n, err := s.leaveWipedHome(ctx, c, a, h, tally)
			if err != nil {
				return deleted, false, fmt.Errorf("wipe account %s: %w", a.ID, err)
			}
			deleted += n
			spent += homeMemberCost
		}
	}
	return deleted, spent < budget, nil
}

// homeMember is a membership of the account being wiped whose user has it
// as their home account.
type homeMember struct {
	m accounts.Membership
	u identity.User
}

// homeMembers splits an account's memberships: the plain deletes of those
// whose user's home is elsewhere (or who are deleted already), and the
// members whose home account it is.
func (s *Service) homeMembers(ctx context.Context, t table.Tenant, accountID string, ms []accounts.Membership) ([]homeMember, []*store.Write, error) {
	keys := make([]table.Key, len(ms))
	for i, m := range ms {
		keys[i] = t.User(m.UserID)
	}
	users, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("read members' users: %w", err)
	}
	var homes []homeMember
	var plain []*store.Write
	for _, m := range ms {
		var u identity.User
		found, err := decode(users, t.User(m.UserID), &u)
		if err != nil {
			return nil, nil, err
		}
		if found && u.HomeAccountID == accountID && u.Status != identity.UserDeleted {
			homes = append(homes, homeMember{m: m, u: u})
			continue
		}
		plain = append(plain, store.Delete(t.Membership(accountID, m.UserID)))
	}
	return homes, plain, nil
}

// leaveWipedHome takes a user out of their wiped home account, in one
// transaction with the delete of that membership, and reports how many of
// the wiped account's items it deleted (the membership, and the email
// claim of a deleted user):
//   - a user with memberships in other accounts keeps their user; their
//     home moves to one of those (newHome) and that membership is no longer
//     external, recorded in the new home account's change log;
//   - a user with no other membership is deleted as DeleteUser deletes
//     (a tombstone, every session revoked, the email claim released so the
//     address can be invited again), recorded in the change log of the
//     caller's active account when that is not the wiped one.
//
// Both are conditional on what was read (their home, or their user's
// version), so a retry after a failure or a cut-short call finds the user
// done (their membership here is gone with it) or does it whole. A user
// who accepts an invitation elsewhere at the same instant is not deleted
// under their new membership: accept bumps the user's version, so one of
// the two transactions fails on it (the wipe with 409 changed: repeat it).
func (s *Service) leaveWipedHome(ctx context.Context, c access.Caller, a accounts.Account, h homeMember, tally bool) (int, error) {
	t, now, u := c.Tenant, s.now(), h.u
	ms, err := s.memberships(ctx, t, u.ID)
	if err != nil {
		return 0, err
	}
	ms = slices.DeleteFunc(ms, func(m accounts.Membership) bool { return m.AccountID == a.ID })
	writes := []*store.Write{store.Delete(t.Membership(a.ID, u.ID))}
	if len(ms) == 0 {
		if tally {
			writes = append(writes, tallyWrite(t, a.ID, map[string]int{"members": 1, kindUsers: 1}))
		}
		writes = append(writes, tombstone(t, u, now)...)
		if c.AccountID != "" && c.AccountID != a.ID {
			writes = append(writes, changelog.New(t, s.IDs.NewID(), now, c.AccountID, changelog.ActorOf(c), "user.deleted", "user", u.ID,
				map[string]any{"email": u.Email, "homeAccountId": a.ID}, map[string]any{"reason": "home account wiped"}).Write())
		}
		if err := s.transact(ctx, "delete "+u.ID+" with their wiped home account "+a.ID, writes); err != nil {
			return 0, err
		}
		return 2, nil
	}
	open, err := s.openAccounts(ctx, t, ms)
	if err != nil {
		return 0, err
	}
	if tally {
		writes = append(writes, tallyWrite(t, a.ID, map[string]int{"members": 1}))
	}
	writes = append(writes, s.homeMoveWrites(c, u, a.ID, newHome(ms, open), "home account wiped")...)
	if err := s.transact(ctx, "move home of "+u.ID+" out of wiped account "+a.ID, writes); err != nil {
		return 0, err
	}
	return 1, nil
}

// openAccounts says which of the accounts of ms are open (not closed).
func (s *Service) openAccounts(ctx context.Context, t table.Tenant, ms []accounts.Membership) (map[string]bool, error) {
	keys := make([]table.Key, len(ms))
	for i, m := range ms {
		keys[i] = t.Account(m.AccountID)
	}
	items, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read the accounts of a user's memberships: %w", err)
	}
	open := map[string]bool{}
	for _, m := range ms {
		var a accounts.Account
		if it, ok := items[t.Account(m.AccountID)]; ok && attributevalue.UnmarshalMap(it, &a) == nil && a.Status != accounts.StatusClosed {
			open[m.AccountID] = true
		}
	}
	return open, nil
}

// newHome picks the home account of a user whose home is wiped among their
// remaining memberships: an open account before a closed one, then one
// they can sign in to (with a licence) before one they cannot, then the
// one they joined first, then by account id.
func newHome(ms []accounts.Membership, open map[string]bool) accounts.Membership {
	first := func(a, b bool) int { // true before false
		switch {
		case a == b:
			return 0
		case a:
			return -1
		default:
			return 1
		}
	}
	return slices.MinFunc(ms, func(x, y accounts.Membership) int {
		if c := first(open[x.AccountID], open[y.AccountID]); c != 0 {
			return c
		}
		if c := first(x.Licence != "", y.Licence != ""); c != 0 {
			return c
		}
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.AccountID, y.AccountID)
	})
}

// resumeWipe answers an operator's wipe of an account whose item is gone:
// a wipe cut short after deleting it (items written meanwhile are left in
// the partition) is finished; with nothing of the account left, there is
// no such account (404, for another tenant's id as for an unknown one).
func (s *Service) resumeWipe(ctx context.Context, c access.Caller, accountID string, notFound error) (Closed, error) {
	left, err := s.Store.QueryPage(ctx, store.Query{Partition: c.Tenant.AccountPartition(accountID), Limit: 1})
	if err != nil {
		return Closed{}, err
	}
	if len(left.Items) == 0 {
		return Closed{}, notFound
	}
	deleted, done, err := s.wipeItems(ctx, c, accounts.Account{ID: accountID, Status: accounts.StatusClosed}, false)
	if err != nil || !done {
		return Closed{AccountID: accountID, Status: accounts.StatusClosed, Wiped: true, Deleted: deleted}, err
	}
	return s.finishWipe(ctx, c, accountID, deleted)
}

// finishWipe deletes the account item and its register entry, proves the
// partition empty, and records the wipe in the caller's active account. A
// linked child leaves its parent's family in the same transaction
// (links.ChildWipedWrites: the link item, the parent's childCount, the
// parent's change log), conditioned on still being that parent's child, so
// the parent is never left counting a child it no longer has. The same
// transaction writes the account.wiped entry of the tenant's change log,
// with what the whole wipe deleted (see the tally above); the account
// item's delete is conditioned on the account being closed and on the
// tally being what was read.
func (s *Service) finishWipe(ctx context.Context, c access.Caller, accountID string, deleted int, acc ...accounts.Account) (Closed, error) {
	t, now := c.Tenant, s.now()
	var writes []*store.Write
	if len(acc) == 1 {
		a := acc[0]
		closedAt := now
		if a.ClosedAt != nil {
			closedAt = *a.ClosedAt
		}
		counts, total, err := s.readTally(ctx, t, a.ID)
		if err != nil {
			return Closed{}, err
		}
		counts["account"] = 1
		unchanged := expression.AttributeNotExists(expression.Name(tallyTotalAttr))
		if total > 0 {
			unchanged = store.Is(tallyTotalAttr, total)
		}
		cond := accounts.IsClosed().And(unchanged)
		if a.ParentID != "" {
			cond = cond.And(accounts.HasParent(a.ParentID))
		}
		del := store.Delete(t.Account(a.ID)).If(cond).OrFail(ErrChanged)
		writes = append(writes, del, store.Delete(accounts.NewClosedEntry(t, a, closedAt).Key()),
			changelog.NewTenantEntry(t, s.IDs.NewID(), now, a.ID, changelog.ActorOf(c), "account.wiped",
				map[string]any{"name": a.Name, "status": accounts.StatusClosed}, map[string]any{"deleted": counts}).Write())
		if a.ParentID != "" {
			writes = append(writes, links.ChildWipedWrites(t, s.IDs.NewID(), a.ParentID, a.ID, changelog.ActorOf(c), now, ErrChanged)...)
		}
		if c.AccountID != "" && c.AccountID != a.ID {
			writes = append(writes, changelog.New(t, s.IDs.NewID(), now, c.AccountID, changelog.ActorOf(c), "account.wiped", "account", a.ID,
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

// invitationEntryPrefix starts the sort key of an invitation's entry in
// one of its target accounts (table.Tenant.AccountInvitation).
const invitationEntryPrefix = "INVITE#"

// wipeUnit is writes that commit together or not at all (the entry of an
// invitation in the wiped account and the change of the invitation itself),
// and how many items of them are deletes.
type wipeUnit struct {
	writes  []*store.Write
	deletes int
	kind    string // of the account's item it deletes (wipeKind)
}

// invitationsLeaving returns, for each invitation with an entry in the
// wiped account, the delete of that entry together with what the wipe does
// to the invitation item, which lives outside the account's partition (so
// nothing would find it once its entry is gone):
//   - an invitation whose only target is the account is deleted with it
//     (with its due key: the expiry job never sees it again);
//   - an invitation to several accounts stays for the others, without the
//     wiped one: it leaves the invitation's accounts (and the accounts where
//     its inviter acted as support), conditioned on its place in the list,
//     so the accept, the page, resend, revoke and the expiry job deal with
//     the surviving accounts only, and a new user's home is the first of
//     them. Two wipes of two of its accounts at once: one fails on the
//     condition (409, repeat it);
//   - an entry whose invitation is gone (or no longer names the account) is
//     deleted alone.
//
// The invitations are read strongly consistent, in one batch; a failed read
// fails the call before anything is deleted.
func (s *Service) invitationsLeaving(ctx context.Context, t table.Tenant, accountID string, invitationIDs []string) ([]wipeUnit, error) {
	if len(invitationIDs) == 0 {
		return nil, nil
	}
	keys := make([]table.Key, len(invitationIDs))
	for i, id := range invitationIDs {
		keys[i] = t.Invitation(id)
	}
	items, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read the account's invitations: %w", err)
	}
	units := make([]wipeUnit, 0, len(invitationIDs))
	for _, id := range invitationIDs {
		entry := store.Delete(t.AccountInvitation(accountID, id))
		var inv invitations.Invitation
		found, err := decode(items, t.Invitation(id), &inv)
		if err != nil {
			return nil, err
		}
		at := slices.Index(inv.AccountIDs, accountID)
		switch {
		case !found || at < 0:
			units = append(units, wipeUnit{writes: []*store.Write{entry}, deletes: 1, kind: "invitations"})
		case len(inv.AccountIDs) == 1:
			units = append(units, wipeUnit{writes: []*store.Write{store.Delete(t.Invitation(id)), entry}, deletes: 2, kind: "invitations"})
		default:
			units = append(units, wipeUnit{writes: []*store.Write{
				invitations.LeaveAccount(t, id, at, accountID).OrFail(ErrChanged),
				entry,
			}, deletes: 1, kind: "invitations"})
		}
	}
	return units, nil
}

// maxWipeTransaction bounds the items of one of the wipe's transactions.
const maxWipeTransaction = 25

// deleteAll runs the units in transactions of at most maxWipeTransaction
// items, never splitting a unit, and reports how many items it deleted.
// With tallied (an account id), each transaction also adds what it deletes
// to that account's wipe tally.
func (s *Service) deleteAll(ctx context.Context, t table.Tenant, tallied string, units []wipeUnit) (int, error) {
	deleted := 0
	var batch []*store.Write
	pending := 0
	counts := map[string]int{}
	room := maxWipeTransaction
	if tallied != "" {
		room-- // the tally's update
	}
	flush := func() error {
		defer func() { batch, pending, counts = batch[:0], 0, map[string]int{} }()
		if len(batch) > 0 && tallied != "" {
			batch = append(batch, tallyWrite(t, tallied, counts))
		}
		switch len(batch) {
		case 0:
			return nil
		case 1:
			if err := s.Store.Do(ctx, "wipe item", batch[0]); err != nil {
				return err
			}
		default:
			if err := s.Store.Transact(ctx, "wipe items", batch...); err != nil {
				return err
			}
		}
		deleted += pending
		return nil
	}
	for _, u := range units {
		if len(batch)+len(u.writes) > room {
			if err := flush(); err != nil {
				return deleted, err
			}
		}
		batch = append(batch, u.writes...)
		pending += u.deletes
		counts[u.kind]++
	}
	err := flush()
	return deleted, err
}
