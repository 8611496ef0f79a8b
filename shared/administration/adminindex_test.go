package administration_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

// admins is the account's admin index (GSI3): the users whose membership
// carries it, sorted.
func (w *world) admins(t testing.TB, accountID string) []string {
	t.Helper()
	items, err := w.env.Store.QueryAll(ctx, store.Query{Index: table.GSI3, Partition: w.ten.AccountAdmins(accountID, "").PK}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, strings.TrimPrefix(store.KeyOf(it).SK, table.MembershipPrefix))
	}
	slices.Sort(ids)
	return ids
}

func (w *world) wantAdmins(t testing.TB, step, accountID string, userIDs ...string) {
	t.Helper()
	slices.Sort(userIDs)
	if got := w.admins(t, accountID); !slices.Equal(got, userIDs) {
		t.Fatalf("%s: admin index %v, want %v", step, got, userIDs)
	}
}

// Every write that creates, changes or deletes a membership keeps the admin
// index in step with the rule (Admin role and a licence): bootstrap and
// test seeds, account creation, roles, licences, associates, invitation
// accept, removal and deletion.
func TestEveryMembershipWriteKeepsTheAdminIndex(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	w.wantAdmins(t, "bootstrap", w.ten.AccountID, w.ten.AdminID)

	acct := w.env.AddAccount(t, w.ten, "Indexed")
	w.seats(t, op, acct, tenancy.DefaultLicence, 10)
	op = supportIn(op, acct) // the rest is account work: support switches in
	a, _ := w.member(t, acct, "a@indexed.example", access.RoleAdmin)
	b, _ := w.member(t, acct, "b@indexed.example")
	w.env.AddUser(t, w.ten, acct, "unlicensed@indexed.example", "-", access.RoleAdmin)
	w.wantAdmins(t, "seeded members", acct, a.ID)

	setRoles := func(userID string, roles ...string) {
		t.Helper()
		_, err := w.adm.SetRoles(ctx, administration.SetRoles{Caller: op, AccountID: acct, UserID: userID, Roles: roles})
		wantKind(t, "set roles", err, ok)
	}
	assign := func(userID, licence string) {
		t.Helper()
		_, err := w.adm.AssignLicence(ctx, administration.AssignLicence{Caller: op, AccountID: acct, UserID: userID, Licence: licence})
		wantKind(t, "assign licence", err, ok)
	}
	setRoles(b.ID, access.RoleAdmin, access.RoleViewer)
	w.wantAdmins(t, "promoted", acct, a.ID, b.ID)
	assign(b.ID, "")
	w.wantAdmins(t, "licence removed", acct, a.ID)
	assign(b.ID, tenancy.DefaultLicence)
	w.wantAdmins(t, "licence given back", acct, a.ID, b.ID)
	setRoles(a.ID, access.RoleViewer)
	w.wantAdmins(t, "demoted", acct, b.ID)

	// An associate (external member) made Admin, demoted, promoted, removed.
	consultant := w.env.AddUser(t, w.ten, w.ten.AccountID, "consultant@indexed.example", "")
	assoc := associates.New(w.env.Service())
	in := op
	cmd, err := associates.AssociateRequest{Accounts: []associates.AccountRoles{{AccountID: acct, Roles: []string{access.RoleAdmin}}}}.Command(op, consultant.ID)
	wantKind(t, "associate command", err, ok)
	_, err = assoc.Associate(ctx, cmd)
	wantKind(t, "associate", err, ok)
	w.wantAdmins(t, "associated as Admin", acct, b.ID, consultant.ID)
	for _, roles := range [][]string{{access.RoleViewer}, {access.RoleAdmin}} {
		rc, err := administration.RolesRequest{Roles: roles}.Command(in, acct, consultant.ID, 0)
		wantKind(t, "roles command", err, ok)
		rc.Associate = true
		_, err = w.adm.SetRoles(ctx, rc)
		wantKind(t, "associate roles", err, ok)
	}
	w.wantAdmins(t, "associate demoted and promoted again", acct, b.ID, consultant.ID)
	wantKind(t, "remove associate", w.adm.RemoveAssociate(ctx, in, acct, consultant.ID), ok)
	w.wantAdmins(t, "associate removed", acct, b.ID)

	// A new user accepting an invitation as Admin.
	inv := invitations.New(w.env.Service())
	no := false
	res, err := inv.Invite(ctx, mustInvite(t, invitations.InviteRequest{Emails: []string{"newadmin@indexed.example"}, Roles: []string{access.RoleAdmin}, SendEmail: &no}, op, acct))
	wantKind(t, "invite", err, ok)
	accepted := w.accept(t, res.Results[0].AcceptURL)
	w.wantAdmins(t, "invitation accepted as Admin", acct, b.ID, accepted)

	// Removal and deletion take the index entry with the membership.
	wantKind(t, "remove membership", w.adm.RemoveMembership(ctx, op, acct, b.ID), ok)
	w.wantAdmins(t, "member removed", acct, accepted)
	setRoles(a.ID, access.RoleAdmin)
	wantKind(t, "delete user", w.adm.DeleteUser(ctx, op, accepted), ok)
	w.wantAdmins(t, "user deleted", acct, a.ID)

	// A new account's first Admin.
	created, err := w.adm.CreateAccount(ctx, administration.CreateAccount{Caller: op, Name: "Fresh", AdminUserID: a.ID})
	wantKind(t, "create account", err, ok)
	w.wantAdmins(t, "account created", created.ID, a.ID)
}

// raceRounds is how many times the last-admin races are run: a race that
// is lost one time in fifty must still show.
const raceRounds = 100

// quickMember adds an active, licensed member of accountID with roles, as
// the bootstrap does but without a password (they never sign in), and
// returns them as a caller whose active account is accountID.
func (w *world) quickMember(t testing.TB, accountID, email string, roles ...string) (testkit.User, access.Caller) {
	t.Helper()
	now := w.env.Clock.Now()
	u := identity.NewUser(w.ten.Tenant, identity.User{ID: w.env.IDs.NewID(), Email: email, FirstName: "Quick", LastName: "Member",
		Status: identity.UserActive, HomeAccountID: accountID, CreatedAt: now, UpdatedAt: now})
	m := accounts.NewMembership(w.ten.Tenant, accounts.Membership{AccountID: accountID, UserID: u.ID, Email: email, Roles: roles,
		Licence: tenancy.DefaultLicence, CreatedAt: now, UpdatedAt: now})
	err := w.env.Store.Transact(ctx, "add member", store.Put(u).If(store.NotExists()),
		store.Put(identity.NewEmailClaim(w.ten.Tenant, email, u.ID)).If(store.NotExists()), store.Put(m).If(store.NotExists()))
	if err != nil {
		t.Fatal(err)
	}
	return testkit.User{ID: u.ID, Email: email}, callerOf(w.ten, u.ID, accountID, roles...)
}

// accept accepts the invitation of link as a new user and returns their id.
func (w *world) accept(t testing.TB, link string) string {
	t.Helper()
	_, token, found := strings.Cut(link, "token=")
	if !found {
		t.Fatalf("no token in %q", link)
	}
	if i := strings.IndexAny(token, "&#"); i >= 0 {
		token = token[:i]
	}
	token, err := url.QueryUnescape(token)
	wantKind(t, "unescape token", err, ok)
	cmd, err := invitations.AcceptRequest{Token: token, FirstName: "New", LastName: "Comer", Password: "Plum-Orchard-93-Lantern"}.Command("", "198.51.100.7", "test")
	wantKind(t, "accept command", err, ok)
	got, err := invitations.New(w.env.Service()).Accept(ctx, cmd)
	wantKind(t, "accept", err, ok)
	if !got.NewUser {
		t.Fatalf("accepted as an existing user: %+v", got)
	}
	return got.UserID
}
