package administration_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
)

// Removing a user from their home account moves their home to another of
// their memberships, chosen as a wipe chooses (an open account before a
// closed one, one with a licence before one without, then the one joined
// first), in the same transaction: that membership is no longer external,
// the move is in the new home's change log, they sign in there without
// naming an account, and the removing Admin, who administers that account
// too, still reads and administers them.
func TestRemovingAUserFromTheirHomeMovesTheirHome(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	// Made before the partner account, so their ids (and their place in a
	// user's list of accounts) come first.
	closed, unlicensed := w.env.AddAccount(t, w.ten, "Closed Earlier"), w.env.AddAccount(t, w.ten, "Unlicensed Earlier")
	home, partner := w.ten.AccountID, w.env.AddAccount(t, w.ten, "Partner")
	u, _ := w.member(t, home, "consultant@example.org", access.RoleViewer)

	// Joined first, but closed, and joined second, but without a licence:
	// neither becomes the home while an open licensed membership exists.
	now := w.env.Clock.Now()
	for _, a := range []string{closed, unlicensed} {
		m := accounts.NewMembership(w.ten.Tenant, accounts.Membership{AccountID: a, UserID: u.ID, Email: u.Email, Roles: []string{access.RoleViewer},
			External: true, CreatedAt: now, UpdatedAt: now})
		if a == closed {
			m.Licence = "standard"
		}
		if err := w.env.Store.Do(ctx, "add an earlier membership", store.Put(m)); err != nil {
			t.Fatal(err)
		}
		w.env.Clock.Advance(1)
	}
	if err := w.env.Store.Do(ctx, "close an account", store.Update(w.ten.Account(closed),
		store.BumpVersion().Set(expression.Name("status"), expression.Value(accounts.StatusClosed)))); err != nil {
		t.Fatal(err)
	}
	cmd, err := associates.AssociateRequest{Accounts: []associates.AccountRoles{{AccountID: partner, Roles: []string{access.RoleViewer}}}}.Command(op, u.ID)
	wantKind(t, "associate command", err, ok)
	_, err = associates.New(w.env.Service()).Associate(ctx, cmd)
	wantKind(t, "associate the user with the partner", err, ok)
	if m, _ := w.membership(t, partner, u.ID); !m.External {
		t.Fatal("the partner membership is not external before the move")
	}
	// The remover is an Admin of the home and of the partner account.
	w.env.AddMembership(t, w.ten, partner, w.ten.AdminID, w.ten.AdminEmail, access.RoleAdmin)
	session := w.signIn(t, u.Email, u.Password)

	wantKind(t, "remove the user from their home", w.adm.RemoveMembership(ctx, w.admin(), home, u.ID), ok)

	got := w.user(t, u.ID)
	if got.Status != identity.UserActive || got.HomeAccountID != partner {
		t.Fatalf("after the removal: status %s, home %q, want %s", got.Status, got.HomeAccountID, partner)
	}
	if _, found := w.membership(t, home, u.ID); found {
		t.Fatal("the home membership is still there")
	}
	if m, found := w.membership(t, partner, u.ID); !found || m.External {
		t.Fatalf("the new home membership: %+v %v", m, found)
	}
	if e := w.changes(t, partner, "user.home_moved"); len(e) != 1 || e[0].SubjectID != u.ID || e[0].After["homeAccountId"] != partner ||
		e[0].Before["homeAccountId"] != home {
		t.Fatalf("the move in the new home's change log: %+v", e)
	}
	if e := w.changes(t, home, "membership.removed"); len(e) != 1 || e[0].SubjectID != u.ID {
		t.Fatalf("the removal in the old home's change log: %+v", e)
	}
	wantKind(t, "the session in the old home", w.authorized(session), apperr.KindUnauthenticated)
	signed, err := w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: u.Password})
	wantKind(t, "sign in without naming an account", err, ok)
	if signed.AccountID != partner {
		t.Fatalf("signed in to %s, want the new home %s", signed.AccountID, partner)
	}
	wantKind(t, "the new session", w.authorized(signed.Token), ok)

	// The remover, still working in the old home, reads the whole user and
	// administers them through the new home.
	v, err := w.dir.User(ctx, w.admin(), u.ID)
	wantKind(t, "the remover reads the user", err, ok)
	if v.HomeAccountID != partner {
		t.Fatalf("the remover reads home %q", v.HomeAccountID)
	}
	wantKind(t, "the remover administers the user", access.RequireOverUser(ctx, w.env.Store, w.adm.Access, w.admin(), access.DeleteUsers, got), ok)
}

// A user removed from their home account who is a member nowhere else is
// deleted as DeleteUser deletes, in the same transaction: a tombstone, the
// email claim released, every session revoked. Nobody deletes themselves
// by leaving their only account.
func TestRemovingAUserFromTheirOnlyAccountDeletesThem(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	u, self := w.member(t, w.ten.AccountID, "only-here@example.org", access.RoleViewer)
	session := w.signIn(t, u.Email, u.Password)
	before := w.user(t, u.ID)

	wantKind(t, "leave one's only account", w.adm.RemoveMembership(ctx, self, w.ten.AccountID, u.ID), apperr.KindConflict, "not_yourself")
	if got := w.user(t, u.ID); got.Version != before.Version {
		t.Fatal("a refused leave changed the user")
	}
	if _, found := w.membership(t, w.ten.AccountID, u.ID); !found {
		t.Fatal("a refused leave removed the membership")
	}

	wantKind(t, "remove the user from their only account", w.adm.RemoveMembership(ctx, w.admin(), w.ten.AccountID, u.ID), ok)
	got := w.user(t, u.ID)
	if got.Status != identity.UserDeleted || got.PasswordHash != "" || got.HomeAccountID != "" {
		t.Fatalf("after the removal: %+v", got)
	}
	if w.exists(t, w.ten.EmailClaim(u.Email)) {
		t.Fatal("the email is still claimed")
	}
	if _, found := w.membership(t, w.ten.AccountID, u.ID); found {
		t.Fatal("the membership is still there")
	}
	wantKind(t, "their session", w.authorized(session), apperr.KindUnauthenticated)
	_, err := w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: u.Password})
	wantKind(t, "they sign in", err, apperr.KindUnauthenticated)
	if e := w.changes(t, w.ten.AccountID, "user.deleted"); len(e) != 1 || e[0].SubjectID != u.ID {
		t.Fatalf("the deletion in the account's change log: %+v", e)
	}
}
