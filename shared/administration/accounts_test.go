package administration_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/tenancy"
)

// Creating accounts is billing: the built-in Admin does not hold it; a
// custom role that operators gave accounts.create does, and its holder
// becomes the new account's Admin.
func TestAFounderCreatesAnAccountAndBecomesItsAdmin(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cmd, err := administration.CreateAccountRequest{Name: "  Northwind  "}.Command(w.admin())
	wantKind(t, "command", err, ok)
	_, err = w.adm.CreateAccount(ctx, cmd)
	wantKind(t, "an Admin creates", err, apperr.KindForbidden)
	w.customRole(t, "Founder", access.CreateAccounts)
	founder := w.admin()
	founder.Roles = []string{access.RoleAdmin, "Founder"}
	w.env.AddMembership(t, w.ten, w.ten.AccountID, w.ten.AdminID, w.ten.AdminEmail, founder.Roles...)
	cmd.Caller = founder
	a, err := w.adm.CreateAccount(ctx, cmd)
	wantKind(t, "create", err, ok)
	if a.Name != "Northwind" || a.Status != "active" || a.Version != 1 {
		t.Fatalf("created %+v", a)
	}
	m, found := w.membership(t, a.ID, w.ten.AdminID)
	if !found || !slices.Equal(m.Roles, []string{access.RoleAdmin}) || m.Licence != tenancy.DefaultLicence || !m.External {
		t.Fatalf("creator's membership: %+v %v", m, found)
	}
	if got := w.changes(t, a.ID, "account.created"); len(got) != 1 || got[0].Actor.ID != w.ten.AdminID {
		t.Fatalf("change log: %+v", got)
	}
	// It is in the directory at once, by name and by creation.
	op := w.operator(t)
	for _, sort := range []string{directory.SortName, directory.SortCreated} {
		page, err := w.dir.Accounts(ctx, directory.AccountQuery{Caller: op, Sort: sort, Limit: 10})
		wantKind(t, "list", err, ok)
		if !slices.ContainsFunc(page.Accounts, func(r directory.AccountRow) bool { return r.ID == a.ID }) {
			t.Errorf("sorted by %s, the new account is missing: %+v", sort, page.Accounts)
		}
	}
}

func TestWhoMayCreateAccounts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	other := w.env.AddAccount(t, w.ten, "Other")
	viewer, viewerCaller := w.member(t, w.ten.AccountID, "viewer@example.org", access.RoleViewer)
	_, otherAdmin := w.member(t, other, "admin@other.example", access.RoleAdmin)
	op := w.operator(t)

	_, err := w.adm.CreateAccount(ctx, administration.CreateAccount{Caller: viewerCaller, Name: "X", AdminUserID: viewer.ID})
	wantKind(t, "viewer creates", err, apperr.KindForbidden)
	_, err = w.adm.CreateAccount(ctx, administration.CreateAccount{Caller: otherAdmin, Name: "X", AdminUserID: viewer.ID})
	wantKind(t, "admin names someone else", err, apperr.KindForbidden)
	_, err = w.adm.CreateAccount(ctx, administration.CreateAccount{Caller: otherAdmin, Name: "X", AdminUserID: otherAdmin.UserID})
	wantKind(t, "admin creates for themselves", err, apperr.KindForbidden)

	a, err := w.adm.CreateAccount(ctx, administration.CreateAccount{Caller: op, Name: "For the viewer", AdminUserID: viewer.ID})
	wantKind(t, "operator creates for a user", err, ok)
	if m, found := w.membership(t, a.ID, viewer.ID); !found || !slices.Contains(m.Roles, access.RoleAdmin) {
		t.Fatalf("the named user is not its Admin: %+v", m)
	}
	if _, found := w.membership(t, a.ID, op.UserID); found {
		t.Fatal("the operator became a member")
	}
	if got := w.changes(t, a.ID, "account.created"); len(got) != 1 || got[0].Actor.Kind != "operator" || got[0].Actor.Reason != "" {
		t.Fatalf("an operator's tenant administration is logged as operator: %+v", got)
	}

	_, err = administration.CreateAccountRequest{Name: " "}.Command(w.admin())
	wantKind(t, "blank name", err, apperr.KindUnprocessable)
}

func TestRenameHonoursIfMatchAndLogsInTheSameTransaction(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.env.AddAccount(t, w.ten, "Old Name")
	_, admin := w.member(t, id, "boss@example.org", access.RoleAdmin)

	renamed, err := w.adm.RenameAccount(ctx, administration.RenameAccount{Caller: admin, AccountID: id, Name: "New Name", IfMatch: 1})
	wantKind(t, "rename", err, ok)
	if renamed.Version != 2 || w.account(t, id).Name != "New Name" {
		t.Fatalf("renamed: %+v", w.account(t, id))
	}
	log := w.changes(t, id, "account.renamed")
	if len(log) != 1 || log[0].Before["name"] != "Old Name" || log[0].After["name"] != "New Name" {
		t.Fatalf("change log: %+v", log)
	}
	// A stale ETag changes nothing.
	_, err = w.adm.RenameAccount(ctx, administration.RenameAccount{Caller: admin, AccountID: id, Name: "Stale", IfMatch: 1})
	wantKind(t, "stale If-Match", err, apperr.KindPreconditionFailed)
	if w.account(t, id).Name != "New Name" || len(w.changes(t, id, "account.renamed")) != 1 {
		t.Fatal("a stale rename changed something")
	}
	// The directory finds it under its new name only.
	op := w.operator(t)
	for prefix, want := range map[string]int{"new": 1, "old": 0} {
		page, err := w.dir.Accounts(ctx, directory.AccountQuery{Caller: op, Sort: directory.SortName, Name: prefix, Limit: 10})
		wantKind(t, "search", err, ok)
		if len(page.Accounts) != want {
			t.Errorf("search %q: %+v", prefix, page.Accounts)
		}
	}
}

func TestConcurrentRenamesWithOneETag(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.env.AddAccount(t, w.ten, "Contested")
	op := w.operator(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.adm.RenameAccount(ctx, administration.RenameAccount{Caller: supportIn(op, id), AccountID: id, Name: "Winner " + string(rune('A'+i)), IfMatch: 1})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if apperr.KindOf(err) != apperr.KindPreconditionFailed {
			t.Errorf("loser: %v", err)
		}
	}
	if won != 1 || len(w.changes(t, id, "account.renamed")) != 1 || w.account(t, id).Version != 2 {
		t.Fatalf("%d renames won, version %d", won, w.account(t, id).Version)
	}
}

func TestAccountPermissionMatrix(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.env.AddAccount(t, w.ten, "Target")
	other := w.env.AddAccount(t, w.ten, "Elsewhere")
	_, admin := w.member(t, id, "admin@target.example", access.RoleAdmin)
	_, viewer := w.member(t, id, "viewer@target.example", access.RoleViewer)
	_, otherAdmin := w.member(t, other, "admin@elsewhere.example", access.RoleAdmin)
	foreign := newWorld(t) // another tenant
	foreignAdmin := foreign.admin()
	op := w.operator(t)

	cases := []struct {
		who        string
		caller     access.Caller
		on         *world
		read, edit apperr.Kind
	}{
		{"admin", admin, w, ok, ok},
		{"viewer", viewer, w, ok, apperr.KindForbidden},
		{"admin of another account", otherAdmin, w, apperr.KindForbidden, apperr.KindForbidden},
		{"admin in another tenant", foreignAdmin, foreign, apperr.KindNotFound, apperr.KindNotFound},
		{"operator not switched", op, w, ok, apperr.KindForbidden},
		{"operator switched elsewhere", supportIn(op, other), w, ok, apperr.KindForbidden},
		{"operator switched in", supportIn(op, id), w, ok, ok},
	}
	for _, tc := range cases {
		_, err := tc.on.dir.Account(ctx, tc.caller, id)
		wantKind(t, tc.who+" reads", err, tc.read)
		_, err = tc.on.adm.RenameAccount(ctx, administration.RenameAccount{Caller: tc.caller, AccountID: id, Name: "By " + tc.who})
		wantKind(t, tc.who+" renames", err, tc.edit)
		_, err = tc.on.dir.AccountChanges(ctx, tc.caller, id, 10, "")
		wantKind(t, tc.who+" reads the change log", err, tc.read)
	}
	// A closed account cannot be renamed (its members' sessions are refused
	// on their next request from then on; operators are told why).
	_, err := w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: admin, AccountID: id, ConfirmName: "By operator switched in"})
	wantKind(t, "an Admin closes", err, apperr.KindForbidden, "operators_only")
	_, err = w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: id, ConfirmName: "By operator switched in"})
	wantKind(t, "close", err, ok)
	_, err = w.adm.RenameAccount(ctx, administration.RenameAccount{Caller: w.operator(t), AccountID: id, Name: "Too late"})
	wantKind(t, "rename closed", err, apperr.KindConflict, "account_closed")
}
