package administration_test

import (
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/testkit"
)

// Every change refuses a Viewer and the Admin of another account (403) and
// the Admin of another tenant (404), and changes nothing.
func TestChangesPermissionMatrix(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	target, _ := w.member(t, w.ten.AccountID, "target@example.org", access.RoleAdmin)
	w.member(t, w.ten.AccountID, "second-admin@example.org", access.RoleAdmin)
	other := w.env.AddAccount(t, w.ten, "Other")
	_, viewer := w.member(t, w.ten.AccountID, "viewer@example.org", access.RoleViewer)
	_, otherAdmin := w.member(t, other, "admin@other.example", access.RoleAdmin)
	foreign := newWorld(t)
	before := w.user(t, target.ID)
	m, _ := w.membership(t, w.ten.AccountID, target.ID)

	changes := map[string]func(on *world, c access.Caller) error{
		"set roles": func(on *world, c access.Caller) error {
			_, err := on.adm.SetRoles(ctx, administration.SetRoles{Caller: c, AccountID: w.ten.AccountID, UserID: target.ID, Roles: []string{access.RoleViewer}})
			return err
		},
		"assign licence": func(on *world, c access.Caller) error {
			_, err := on.adm.AssignLicence(ctx, administration.AssignLicence{Caller: c, AccountID: w.ten.AccountID, UserID: target.ID})
			return err
		},
		"remove membership": func(on *world, c access.Caller) error {
			return on.adm.RemoveMembership(ctx, c, w.ten.AccountID, target.ID)
		},
		"suspend": func(on *world, c access.Caller) error { _, err := on.adm.Suspend(ctx, c, target.ID); return err },
		"sign out everywhere": func(on *world, c access.Caller) error {
			return on.adm.SignOutEverywhere(ctx, c, target.ID)
		},
		"delete": func(on *world, c access.Caller) error { return on.adm.DeleteUser(ctx, c, target.ID) },
		"edit profile": func(on *world, c access.Caller) error {
			_, err := on.adm.EditProfile(ctx, administration.EditProfile{Caller: c, UserID: target.ID, FirstName: ptr("Mallory")})
			return err
		},
		"set password": func(on *world, c access.Caller) error {
			_, err := on.adm.SetPassword(ctx, administration.SetPassword{Caller: c, UserID: target.ID, AdminPassword: testkit.Password, Password: "Copper-Lantern-58-Ridge"})
			return err
		},
		"close the account": func(on *world, c access.Caller) error {
			_, err := on.adm.CloseAccount(ctx, administration.CloseAccount{Caller: c, AccountID: w.ten.AccountID, ConfirmName: "Account of " + w.ten.ID()})
			return err
		},
	}
	for name, change := range changes {
		for _, tc := range []struct {
			who    string
			on     *world
			caller access.Caller
			want   apperr.Kind
		}{
			{"viewer", w, viewer, apperr.KindForbidden},
			{"admin of another account", w, otherAdmin, apperr.KindForbidden},
			{"admin of another tenant", foreign, foreign.admin(), apperr.KindNotFound},
		} {
			wantKind(t, tc.who+": "+name, change(tc.on, tc.caller), tc.want)
		}
	}
	after := w.user(t, target.ID)
	m2, found := w.membership(t, w.ten.AccountID, target.ID)
	if after.Version != before.Version || !found || m2.Version != m.Version || w.account(t, w.ten.AccountID).Status != "active" {
		t.Fatal("a refused change changed something")
	}
}

// The creator of an account is listed there as an external member.
func TestExternalMembersAreListedAsSuch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, err := w.adm.CreateAccount(ctx, administration.CreateAccount{Caller: w.operator(t), Name: "Client", AdminUserID: w.ten.AdminID})
	wantKind(t, "create", err, ok)
	w.member(t, a.ID, "home@client.example")
	ext := true
	page, err := w.dir.Members(ctx, directory.MemberQuery{Caller: w.admin(), AccountID: a.ID, External: &ext, Limit: 10})
	wantKind(t, "list", err, ok)
	if len(page.Members) != 1 || page.Members[0].UserID != w.ten.AdminID || !page.Members[0].External {
		t.Fatalf("external members: %+v", page.Members)
	}
	home := false
	page, err = w.dir.Members(ctx, directory.MemberQuery{Caller: w.admin(), AccountID: a.ID, External: &home, Limit: 10})
	wantKind(t, "list", err, ok)
	if len(page.Members) != 1 || page.Members[0].Email != "home@client.example" {
		t.Fatalf("home members: %+v", page.Members)
	}
}
