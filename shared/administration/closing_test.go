package administration_test

import (
	"fmt"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/usage"
)

func (w *world) partition(t testing.TB, accountID string) int {
	t.Helper()
	items, err := w.env.Store.QueryAll(ctx, store.Query{Partition: w.ten.AccountPartition(accountID)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}

func TestClosingKeepsTheDataAndStopsSignIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	acct := w.env.AddAccount(t, w.ten, "Closing Co")
	admin, asAdmin := w.member(t, acct, "admin@closing.example", access.RoleAdmin)
	session, err := w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: admin.Email, Password: admin.Password, AccountID: acct})
	wantKind(t, "sign in", err, ok)
	_, viewer := w.member(t, acct, "viewer@closing.example")
	before := w.partition(t, acct)

	close := func(c access.Caller, confirm string, wipe bool) (administration.Closed, error) {
		cmd, err := administration.CloseAccountRequest{ConfirmName: confirm, Wipe: wipe}.Command(c, acct)
		if err != nil {
			return administration.Closed{}, err
		}
		return w.adm.CloseAccount(ctx, cmd)
	}
	op := w.operator(t) // closing is tenant administration
	_, err = close(op, "Closing", false)
	wantKind(t, "a wrong confirmation", err, apperr.KindUnprocessable)
	_, err = close(viewer, "Closing Co", false)
	wantKind(t, "a viewer", err, apperr.KindForbidden)
	_, err = close(w.admin(), "Closing Co", false)
	wantKind(t, "the admin of another account", err, apperr.KindForbidden)
	_, err = close(asAdmin, "Closing Co", false)
	wantKind(t, "the account's own Admin", err, apperr.KindForbidden, "operators_only")

	// The confirmation is the name exactly, case included: only the
	// surrounding spaces are trimmed.
	for _, wrongCase := range []string{"closing co", "CLOSING CO", " Closing co "} {
		_, err = close(op, wrongCase, false)
		wantKind(t, "the name in another case: "+wrongCase, err, apperr.KindUnprocessable, "validation_failed")
		if e, _ := apperr.As(err); len(e.Fields) != 1 || e.Fields[0].Code != "confirm_mismatch" {
			t.Fatalf("another case: %v", err)
		}
		if w.account(t, acct).Status != "active" || w.partition(t, acct) != before {
			t.Fatalf("a confirmation in another case (%q) changed the account", wrongCase)
		}
	}
	res, err := close(op, " Closing Co ", false)
	wantKind(t, "close", err, ok)
	if res.Status != "closed" || !res.Complete || w.account(t, acct).Status != "closed" {
		t.Fatalf("closed %+v", res)
	}
	wantKind(t, "the admin's session", w.authorized(session.Token), apperr.KindUnauthenticated)
	_, err = w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: admin.Email, Password: admin.Password, AccountID: acct})
	wantKind(t, "sign in to a closed account", err, apperr.KindForbidden, "account_closed")
	if got := w.partition(t, acct); got != before+1 { // the change-log entry
		t.Fatalf("%d items, had %d", got, before)
	}
	page, err := w.dir.Accounts(ctx, directory.AccountQuery{Caller: op, Sort: directory.SortStatus, Desc: true, Limit: 1})
	wantKind(t, "list", err, ok)
	if page.Accounts[0].ID != acct || page.Accounts[0].ClosedAt == nil {
		t.Fatalf("closed accounts first: %+v", page.Accounts)
	}
	_, err = close(asAdmin, "Closing Co", true)
	wantKind(t, "an admin wipes a closed account", err, apperr.KindConflict, "account_closed")
}

func TestWipingLeavesNothingOfTheAccount(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	acct := w.env.AddAccount(t, w.ten, "Doomed")
	keep := w.env.AddAccount(t, w.ten, "Survivor")
	_, asAdmin := w.member(t, acct, "admin@doomed.example", access.RoleAdmin)
	w.member(t, keep, "admin@survivor.example", access.RoleAdmin)
	for i := range 5 {
		w.member(t, acct, fmt.Sprintf("member%d@doomed.example", i))
	}
	w.seats(t, op, acct, "standard", 20)
	// Invitations: one only to this account, one to both.
	inv := invitations.New(w.env.Service())
	no := false
	onlyHere, err := inv.Invite(ctx, mustInvite(t, invitations.InviteRequest{Emails: []string{"new@x.example"}, SendEmail: &no}, asAdmin, acct))
	wantKind(t, "invite", err, ok)
	both := supportIn(w.operator(t), acct)
	w.env.AddMembership(t, w.ten, keep, both.UserID, "support@ops.example", access.RoleAdmin) // and an Admin of the other
	twoAccounts, err := inv.Invite(ctx, mustInvite(t, invitations.InviteRequest{Emails: []string{"two@x.example"}, AccountIDs: []string{keep}, SendEmail: &no}, both, acct))
	wantKind(t, "invite to two", err, ok)
	// Usage.
	wantKind(t, "allowances", usage.SaveAllowances(ctx, w.env.Store, w.ten.Tenant, acct, map[string]usage.Allowance{"tasks": {Limit: 100}}, w.env.Clock.Now()), ok)
	amount := int64(3)
	rec, _ := usage.RecordRequest{Metric: "tasks", Amount: &amount}.Command(supportIn(op, acct), acct)
	_, err = usage.New(w.env.Service()).Record(ctx, rec)
	wantKind(t, "record usage", err, ok)

	w.adm.WipeBudget = 7 // several calls, each resuming where the last stopped
	calls, deleted := 0, 0
	for {
		res, err := w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: acct, ConfirmName: "Doomed", Wipe: true})
		wantKind(t, "wipe", err, ok)
		calls++
		deleted += res.Deleted
		if res.Complete {
			if res.Status != "wiped" {
				t.Fatalf("result %+v", res)
			}
			break
		}
		if calls > 20 {
			t.Fatal("the wipe does not finish")
		}
	}
	if calls < 2 || deleted < 15 {
		t.Errorf("%d calls deleted %d items", calls, deleted)
	}
	if n := w.partition(t, acct); n != 0 {
		t.Fatalf("%d items left in the account's partition", n)
	}
	if w.exists(t, w.ten.Invitation(onlyHere.Results[0].InvitationID)) {
		t.Error("its own invitation is left")
	}
	if !w.exists(t, w.ten.Invitation(twoAccounts.Results[0].InvitationID)) {
		t.Error("an invitation to another account went too")
	}
	page, err := w.dir.Accounts(ctx, directory.AccountQuery{Caller: op, Sort: directory.SortStatus, Desc: true, Limit: 50})
	wantKind(t, "list", err, ok)
	for _, a := range page.Accounts {
		if a.ID == acct {
			t.Fatal("a wiped account is still listed")
		}
	}
	if w.partition(t, keep) == 0 {
		t.Fatal("the other account lost its items")
	}
	// Its members' users stay (they may be members elsewhere), without it.
	_, err = w.dir.Account(ctx, op, acct)
	wantKind(t, "read a wiped account", err, apperr.KindNotFound)
	// The wipe is recorded where the operator works.
	if len(w.changes(t, w.ten.AccountID, "account.wiped")) != 1 {
		t.Error("the wipe was not logged")
	}
	// Wiping again finds no such account, as for an id that never was one.
	_, err = w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: acct, ConfirmName: "Doomed", Wipe: true})
	wantKind(t, "wipe again", err, apperr.KindNotFound)
	_, err = w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: "01NEVERANACCOUNT", ConfirmName: "x", Wipe: true})
	wantKind(t, "wipe an unknown id", err, apperr.KindNotFound)
}

func mustInvite(t *testing.T, r invitations.InviteRequest, c access.Caller, accountID string) invitations.Invite {
	t.Helper()
	cmd, err := r.Command(c, accountID)
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}
