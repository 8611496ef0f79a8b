package administration_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/tenancy"
)

func TestCustomRolesAreDefinedByOperatorsAndGrantTheirPermissions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	u, member := w.member(t, w.ten.AccountID, "member@example.org", access.RoleViewer)

	set := func(roles ...string) error {
		_, err := w.adm.SetRoles(ctx, administration.SetRoles{Caller: w.admin(), AccountID: w.ten.AccountID, UserID: u.ID, Roles: roles})
		return err
	}
	wantKind(t, "unknown role", set("Editor", access.RoleViewer), apperr.KindUnprocessable, "validation_failed")

	cmd, err := administration.RoleRequest{Permissions: []access.Action{access.EditUsers, access.ReadUsers, access.EditUsers}}.Command(op, "Editor", 0)
	wantKind(t, "role command", err, ok)
	_, err = w.adm.PutRole(ctx, administration.PutRole{Caller: w.admin(), Name: cmd.Name, Permissions: cmd.Permissions})
	wantKind(t, "an account admin defines a tenant role", err, apperr.KindForbidden)
	role, err := w.adm.PutRole(ctx, cmd)
	wantKind(t, "operator defines Editor", err, ok)
	if !slices.Equal(role.Permissions, []access.Action{access.EditUsers, access.ReadUsers}) || role.Version != 1 {
		t.Fatalf("role %+v", role)
	}
	_, err = administration.RoleRequest{Permissions: []access.Action{"everything"}}.Command(op, "Admin", 0)
	wantKind(t, "bad role", err, apperr.KindUnprocessable)

	wantKind(t, "grant Editor", set("Editor", access.RoleViewer), ok)
	m, _ := w.membership(t, w.ten.AccountID, u.ID)
	if !slices.Equal(m.Roles, []string{"Editor", access.RoleViewer}) || m.Version != 2 {
		t.Fatalf("membership %+v", m)
	}
	if log := w.changes(t, w.ten.AccountID, "membership.roles_changed"); len(log) != 1 {
		t.Fatalf("change log %+v", log)
	}
	// The custom role grants users.edit (checked with the roles stored on the membership).
	member.Roles = m.Roles
	checker := access.Checker{Store: w.env.Store}
	wantKind(t, "Editor edits users", checker.Require(ctx, member, access.EditUsers, w.ten.AccountID), ok)
	wantKind(t, "Editor does not close accounts", checker.Require(ctx, member, access.CloseAccount, w.ten.AccountID), apperr.KindForbidden)
	// A Viewer may not change roles.
	_, err = w.adm.SetRoles(ctx, administration.SetRoles{Caller: callerOf(w.ten, u.ID, w.ten.AccountID, access.RoleViewer), AccountID: w.ten.AccountID,
		UserID: u.ID, Roles: []string{access.RoleAdmin}})
	wantKind(t, "viewer promotes self", err, apperr.KindForbidden)
}

func TestTenantDefaultRoleAndSettings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	_, err := w.adm.PutRole(ctx, administration.PutRole{Caller: op, Name: "Member", Permissions: []access.Action{access.ReadUsers}})
	wantKind(t, "define", err, ok)
	update := func(c access.Caller, r administration.SettingsRequest, ifMatch int64) (tenancy.Settings, error) {
		cmd, err := r.Command(c, ifMatch)
		if err != nil {
			return tenancy.Settings{}, err
		}
		return w.adm.UpdateSettings(ctx, cmd)
	}
	_, err = update(w.admin(), administration.SettingsRequest{DefaultRole: ptr("Member")}, 0)
	wantKind(t, "an account admin", err, apperr.KindForbidden)
	_, err = update(op, administration.SettingsRequest{DefaultRole: ptr("Ghost")}, 0)
	wantKind(t, "undefined role", err, apperr.KindUnprocessable)
	_, err = update(op, administration.SettingsRequest{PasswordPolicy: &identity.PasswordPolicy{MinLength: 7}}, 0)
	wantKind(t, "too short a minimum", err, apperr.KindUnprocessable)
	_, err = update(op, administration.SettingsRequest{PasswordPolicy: &identity.PasswordPolicy{MinLength: 65}}, 0)
	wantKind(t, "a minimum above 64", err, apperr.KindUnprocessable)

	s, err := update(op, administration.SettingsRequest{DefaultRole: ptr("Member"), PasswordPolicy: &identity.PasswordPolicy{MinLength: 14}}, 1)
	wantKind(t, "operator", err, ok)
	stored, _ := tenancy.Load(ctx, w.env.Store, w.ten.Tenant)
	if s.Version != 2 || stored.DefaultRole != "Member" || stored.PasswordPolicy.MinLength != 14 || stored.PasswordPolicy.RequireClasses {
		t.Fatalf("settings %+v", stored)
	}
	_, err = update(op, administration.SettingsRequest{DefaultLicence: ptr("office")}, 1)
	wantKind(t, "stale", err, apperr.KindPreconditionFailed)
	wantKind(t, "delete the default role", w.adm.DeleteRole(ctx, op, "Member"), apperr.KindConflict, "default_role")
	_, err = update(op, administration.SettingsRequest{DefaultRole: ptr(access.RoleViewer)}, 0)
	wantKind(t, "back to Viewer", err, ok)
	wantKind(t, "delete", w.adm.DeleteRole(ctx, op, "Member"), ok)
	wantKind(t, "delete again", w.adm.DeleteRole(ctx, op, "Member"), apperr.KindNotFound)
	if len(w.changes(t, w.ten.AccountID, "tenant.settings_changed")) != 2 || len(w.changes(t, w.ten.AccountID, "role.deleted")) != 1 {
		t.Fatal("settings changes are not logged")
	}
}

func TestTheLastActiveAdminCannotBeDemoted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	acct := w.env.AddAccount(t, w.ten, "Solo")
	a, asA := w.member(t, acct, "a@solo.example", access.RoleAdmin)
	demote := func(c access.Caller, userID string) error {
		_, err := w.adm.SetRoles(ctx, administration.SetRoles{Caller: c, AccountID: acct, UserID: userID, Roles: []string{access.RoleViewer}})
		return err
	}
	wantKind(t, "sole admin demotes self", demote(asA, a.ID), apperr.KindForbidden, "own_roles")
	support := supportIn(w.operator(t), acct)
	wantKind(t, "support demotes the sole admin", demote(support, a.ID), apperr.KindConflict, "last_admin")

	// An Admin without a licence cannot sign in: they do not keep the account administrable.
	w.env.AddUser(t, w.ten, acct, "b@solo.example", "-", access.RoleAdmin)
	wantKind(t, "with an unlicensed admin beside", demote(support, a.ID), apperr.KindConflict, "last_admin")

	_, asC := w.member(t, acct, "c@solo.example", access.RoleAdmin)
	wantKind(t, "with another active admin", demote(asC, a.ID), ok)
	if m, _ := w.membership(t, acct, a.ID); slices.Contains(m.Roles, access.RoleAdmin) {
		t.Fatal("not demoted")
	}
}

// Two admins demoting each other at the same moment: exactly one succeeds,
// and the account keeps one active Admin. Repeated, as races are.
func TestTwoAdminsDemotingEachOtherAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for round := range raceRounds {
		acct := w.env.AddAccount(t, w.ten, "Duel")
		a, asA := w.quickMember(t, acct, fmt.Sprintf("a%d@duel.example", round), access.RoleAdmin)
		b, asB := w.quickMember(t, acct, fmt.Sprintf("b%d@duel.example", round), access.RoleAdmin)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, pair := range [][2]any{{asA, b.ID}, {asB, a.ID}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = w.adm.SetRoles(ctx, administration.SetRoles{Caller: pair[0].(access.Caller), AccountID: acct,
					UserID: pair[1].(string), Roles: []string{access.RoleViewer}})
			}()
		}
		close(start)
		wg.Wait()
		succeeded := 0
		for _, err := range errs {
			if err == nil {
				succeeded++
			} else if !errors.Is(err, administration.ErrLastAdmin) && !errors.Is(err, access.ErrGrantorChanged) && !errors.Is(err, apperr.ErrForbidden) {
				// The loser is the last admin, or was demoted before its
				// own grant committed (or before it read its rights).
				t.Fatalf("round %d: the loser failed with %v", round, err)
			}
		}
		admins := 0
		for _, id := range []string{a.ID, b.ID} {
			if m, _ := w.membership(t, acct, id); slices.Contains(m.Roles, access.RoleAdmin) {
				admins++
			}
		}
		if succeeded != 1 || admins != 1 {
			t.Fatalf("round %d: %d succeeded, %d admins left (%v)", round, succeeded, admins, errs)
		}
	}
}
