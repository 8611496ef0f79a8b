package associates_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

type world struct {
	env  *testkit.Env
	ten  testkit.Tenant
	svc  *associates.Service
	adm  *administration.Service // an associate's roles and removal (the one implementation of membership changes)
	auth *auth.Service
	// admin is the Admin of the home account and of the clients: sets an
	// associate's roles and removes them, but does not associate (only
	// operators do, and users by accepting an invitation).
	admin access.Caller
	// operator is a tenant operator (a user with operator set, at home in
	// the tenant's account), not switched anywhere.
	operator access.Caller
	client1  string
	client2  string
	advisor  testkit.User // home account: the tenant's account
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	w := &world{env: env, ten: ten, svc: associates.New(env.Service()), adm: administration.New(env.Service()), auth: &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs},
		admin: access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}}
	op := addOperator(t, env, ten)
	w.operator = access.Caller{Tenant: ten.Tenant, UserID: op.ID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleViewer}, Operator: true}
	w.client1, w.client2 = env.AddAccount(t, ten, "Client One"), env.AddAccount(t, ten, "Client Two")
	for _, c := range []string{w.client1, w.client2} {
		env.AddMembership(t, ten, c, ten.AdminID, ten.AdminEmail, access.RoleAdmin)
	}
	w.advisor = env.AddUser(t, ten, ten.AccountID, "advisor@"+ten.ID()+".example", "", access.RoleAdmin)
	return w
}

// addOperator creates an active tenant operator at home in the tenant's
// account (a Viewer there).
func addOperator(t *testing.T, env *testkit.Env, ten testkit.Tenant) identity.User {
	t.Helper()
	hash, err := identity.HashPassword(testkit.Password)
	if err != nil {
		t.Fatal(err)
	}
	op := identity.NewUser(ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: "support@" + ten.ID() + ".example", Status: identity.UserActive,
		PasswordHash: hash, Operator: true, HomeAccountID: ten.AccountID, CreatedAt: env.Clock.Now()})
	if err := env.Store.Transact(context.Background(), "operator", store.Put(op), store.Put(identity.NewEmailClaim(ten.Tenant, op.Email, op.ID))); err != nil {
		t.Fatal(err)
	}
	env.AddMembership(t, ten, ten.AccountID, op.ID, op.Email, access.RoleViewer)
	return op
}

// supportReason is why the operator entered an account as support.
const supportReason = "ticket 9: the client's admin left"

// supportIn is the operator switched into accountID with a reason: how
// support does account work (roles, removals) in a customer account.
func (w *world) supportIn(accountID string) access.Caller {
	c := w.operator
	c.AccountID, c.SupportReason, c.Roles = accountID, supportReason, nil
	return c
}

// setRoles is PATCH /accounts/{a}/associates/{u}: administration.SetRoles
// for an external member.
func (w *world) setRoles(c access.Caller, accountID, userID string, ifMatch int64, roles ...string) (accounts.Membership, error) {
	cmd, err := administration.RolesRequest{Roles: roles}.Command(c, accountID, userID, ifMatch)
	if err != nil {
		return accounts.Membership{}, err
	}
	cmd.Associate = true
	return w.adm.SetRoles(context.Background(), cmd)
}

// remove is DELETE /accounts/{a}/associates/{u}.
func (w *world) remove(c access.Caller, accountID, userID string) error {
	return w.adm.RemoveAssociate(context.Background(), c, accountID, userID)
}

func (w *world) associate(t *testing.T, c access.Caller, userID string, accs ...associates.AccountRoles) ([]accounts.Membership, error) {
	t.Helper()
	cmd, err := associates.AssociateRequest{Accounts: accs}.Command(c, userID)
	if err != nil {
		return nil, err
	}
	return w.svc.Associate(context.Background(), cmd)
}

func (w *world) membership(t *testing.T, accountID, userID string) (accounts.Membership, bool) {
	t.Helper()
	var m accounts.Membership
	ok, err := w.env.Store.Get(context.Background(), w.ten.Membership(accountID, userID), &m)
	if err != nil {
		t.Fatal(err)
	}
	return m, ok
}

func (w *world) changes(t *testing.T, accountID, action string) []changelog.Entry {
	t.Helper()
	return w.env.Changes(t, w.ten.Tenant, accountID, action)
}

// signIn opens a session for the advisor and returns its token and caller.
func (w *world) signIn(t *testing.T, email string) (string, access.Caller) {
	t.Helper()
	ctx := context.Background()
	s, err := w.auth.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: email, Password: testkit.Password})
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.auth.Authorize(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	return s.Token, c
}

func TestAssociateSwitchChangeRemove(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	ms, err := w.associate(t, w.operator, w.advisor.ID,
		associates.AccountRoles{AccountID: w.client1, Roles: []string{access.RoleAdmin}},
		associates.AccountRoles{AccountID: w.client2, Roles: []string{access.RoleViewer}})
	if err != nil || len(ms) != 2 {
		t.Fatalf("associate: %+v %v", ms, err)
	}
	m, ok := w.membership(t, w.client2, w.advisor.ID)
	if !ok || !m.External || m.Roles[0] != access.RoleViewer || m.Licence == "" {
		t.Fatalf("membership: %+v", m)
	}
	if len(w.changes(t, w.client1, "associate.added")) != 1 {
		t.Fatal("association not logged")
	}
	// Again: already a member, nothing changes anywhere (all or nothing).
	if _, err := w.associate(t, w.operator, w.advisor.ID, associates.AccountRoles{AccountID: w.client1, Roles: []string{access.RoleViewer}}); apperr.KindOf(err) != apperr.KindConflict {
		t.Fatalf("twice: %v", err)
	}

	// The advisor lists the accounts (GET /me) and switches to one.
	tok, caller := w.signIn(t, w.advisor.Email)
	me, err := w.auth.Me(ctx, caller)
	if err != nil || len(me.Memberships) != 3 {
		t.Fatalf("me: %+v %v", me, err)
	}
	cmd, err := associates.SwitchRequest{AccountID: w.client2}.Command(caller, tok, "203.0.113.7", "test")
	if err != nil {
		t.Fatal(err)
	}
	sw, err := w.svc.Switch(ctx, cmd)
	if err != nil || sw.AccountID != w.client2 || !sw.External {
		t.Fatalf("switch: %+v %v", sw, err)
	}
	after, err := w.auth.Authorize(ctx, tok)
	if err != nil || after.AccountID != w.client2 || after.Roles[0] != access.RoleViewer {
		t.Fatalf("session after switch: %+v %v", after, err)
	}
	history, err := w.env.Store.QueryAll(ctx, store.Query{Partition: w.ten.User(w.advisor.ID).PK, SKPrefix: table.AccessHistoryPrefix}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var entries []identity.AccessEntry
	_ = attributevalue.UnmarshalListOfMaps(history, &entries)
	// Both entries share the manual clock's instant, so their ids do not
	// order them: look for the switch by its event.
	switched := slices.IndexFunc(entries, func(e identity.AccessEntry) bool { return e.Event == "switch_account" })
	if len(entries) != 2 || switched < 0 || entries[switched].AccountID != w.client2 {
		t.Fatalf("access history: %+v", entries)
	}

	// The client's Admin makes the advisor an Admin there; the home
	// account is untouched.
	changed, err := w.setRoles(w.admin, w.client2, w.advisor.ID, 1, access.RoleAdmin, access.RoleViewer)
	if err != nil || changed.Version != 2 || len(changed.Roles) != 2 {
		t.Fatalf("change roles: %+v %v", changed, err)
	}
	if _, err := w.setRoles(w.admin, w.client2, w.advisor.ID, 1, access.RoleViewer); apperr.KindOf(err) != apperr.KindPreconditionFailed {
		t.Fatalf("stale If-Match: %v", err)
	}
	if e := w.changes(t, w.client2, "membership.roles_changed"); len(e) != 1 || e[0].Actor != (changelog.Actor{Kind: changelog.ActorUser, ID: w.ten.AdminID}) {
		t.Fatalf("roles change not logged: %+v", e)
	}
	if home, _ := w.membership(t, w.ten.AccountID, w.advisor.ID); home.Version != 1 || home.Roles[0] != access.RoleAdmin {
		t.Fatalf("home membership touched: %+v", home)
	}
	// The advisor's own (home) membership is not an association.
	if err := w.remove(w.admin, w.ten.AccountID, w.advisor.ID); code(err) != "not_an_associate" {
		t.Fatalf("remove a home membership: %v", err)
	}
	if _, err := w.setRoles(w.admin, w.ten.AccountID, w.advisor.ID, 0, access.RoleViewer); code(err) != "not_an_associate" {
		t.Fatalf("change a home membership's roles: %v", err)
	}

	// Removing the access signs the advisor out of that account at once.
	if err := w.remove(w.admin, w.client2, w.advisor.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.auth.Authorize(ctx, tok); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("session in the removed account: %v", err)
	}
	if _, ok := w.membership(t, w.client2, w.advisor.ID); ok {
		t.Fatal("membership still there")
	}
	if len(w.changes(t, w.client2, "membership.removed")) != 1 {
		t.Fatal("removal not logged")
	}
	// Switching into an account without a membership is refused.
	_, caller = w.signIn(t, w.advisor.Email)
	cmd.Caller = caller
	if _, err := w.svc.Switch(ctx, cmd); apperr.KindOf(err) != apperr.KindForbidden {
		t.Fatalf("switch after removal: %v", err)
	}
}

// An associate who is the account's last active Admin can be neither
// demoted nor removed; with another Admin, both work. The caller is support
// switched into the account, logged as such.
func TestLastAdminIsKept(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	solo := w.env.AddAccount(t, w.ten, "Solo")
	if _, err := w.associate(t, w.operator, w.advisor.ID, associates.AccountRoles{AccountID: solo, Roles: []string{access.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	support := w.supportIn(solo)
	if _, err := w.setRoles(support, solo, w.advisor.ID, 0, access.RoleViewer); code(err) != "last_admin" {
		t.Fatalf("demote the last admin: %v", err)
	}
	if err := w.remove(support, solo, w.advisor.ID); code(err) != "last_admin" {
		t.Fatalf("remove the last admin: %v", err)
	}
	if m, ok := w.membership(t, solo, w.advisor.ID); !ok || !m.HoldsAdmin() || m.Version != 1 {
		t.Fatalf("a refusal changed the membership: %+v %v", m, ok)
	}
	w.env.AddMembership(t, w.ten, solo, w.ten.AdminID, w.ten.AdminEmail, access.RoleAdmin)
	if _, err := w.setRoles(support, solo, w.advisor.ID, 0, access.RoleViewer); err != nil {
		t.Fatalf("demote with another admin: %v", err)
	}
	want := changelog.Actor{Kind: changelog.ActorSupport, ID: w.operator.UserID, AccountID: solo, Reason: supportReason}
	if e := w.changes(t, solo, "membership.roles_changed"); len(e) != 1 || e[0].Actor != want {
		t.Fatalf("support's change log: %+v", e)
	}
	if err := w.remove(support, solo, w.advisor.ID); err != nil {
		t.Fatalf("remove a non-admin associate: %v", err)
	}
}

// raceRounds is how many times the last-admin races run: a race lost one
// time in fifty must still show.
const raceRounds = 100

// Two associate admins of an account (its only admins) removed, or demoted,
// at the same moment, each by a different request: in every round exactly
// one succeeds, the other is refused as the last Admin, and one Admin stays.
// The callers are support switched into the account (so only the
// last-admin guard decides), through the routes' implementations:
// administration.RemoveAssociate and administration.SetRoles.
func TestTwoAdminsRemovingEachOther(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Each round makes two Admins: far more than the tenant's hourly cap,
	// which is not what this test is about.
	w.setLimits(t, tenancy.Limits{AdminsPerHour: 1 << 20})
	other := w.env.AddUser(t, w.ten, w.ten.AccountID, "other@"+w.ten.ID()+".example", "")
	pair := []string{w.advisor.ID, other.ID}
	races := map[string]func(acc, userID string) error{
		"remove": func(acc, userID string) error { return w.remove(w.supportIn(acc), acc, userID) },
		"demote": func(acc, userID string) error {
			_, err := w.setRoles(w.supportIn(acc), acc, userID, 0, access.RoleViewer)
			return err
		},
	}
	for name, race := range races {
		for round := range raceRounds {
			acc := w.env.AddAccount(t, w.ten, "Pair")
			for _, u := range pair {
				if _, err := w.associate(t, w.operator, u, associates.AccountRoles{AccountID: acc, Roles: []string{access.RoleAdmin}}); err != nil {
					t.Fatal(err)
				}
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, u := range pair {
				wg.Add(1)
				go func() { defer wg.Done(); <-start; errs[i] = race(acc, u) }()
			}
			close(start)
			wg.Wait()
			won := slices.IndexFunc(errs, func(err error) bool { return err == nil })
			lost := slices.IndexFunc(errs, func(err error) bool { return errors.Is(err, administration.ErrLastAdmin) })
			admins := 0
			for _, u := range pair {
				if m, found := w.membership(t, acc, u); found && m.HoldsAdmin() {
					admins++
				}
			}
			if won < 0 || lost < 0 || admins != 1 {
				t.Fatalf("%s, round %d: %v, %d admins left", name, round, errs, admins)
			}
		}
	}
}

// Seats: an account with a pool of the licence gives a seat per associate
// and takes it back on removal; with no free seat the association fails
// whole.
func TestAssociationsUseSeats(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	now := w.env.Clock.Now()
	pool := licences.NewPool(w.ten.Tenant, w.client1, "standard", 2, 1, now) // the admin holds one
	if err := w.env.Store.Do(ctx, "pool", store.Put(pool)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.associate(t, w.operator, w.advisor.ID, associates.AccountRoles{AccountID: w.client1, Roles: []string{access.RoleViewer}}); err != nil {
		t.Fatal(err)
	}
	third := w.env.AddUser(t, w.ten, w.ten.AccountID, "third@"+w.ten.ID()+".example", "")
	_, err := w.associate(t, w.operator, third.ID,
		associates.AccountRoles{AccountID: w.client2, Roles: []string{access.RoleViewer}},
		associates.AccountRoles{AccountID: w.client1, Roles: []string{access.RoleViewer}})
	if e, ok := apperr.As(err); !ok || e.Code != "no_free_seat" {
		t.Fatalf("no free seat: %v", err)
	}
	if _, ok := w.membership(t, w.client2, third.ID); ok {
		t.Fatal("half an association was written")
	}
	if err := w.remove(w.admin, w.client1, w.advisor.ID); err != nil {
		t.Fatal(err)
	}
	var p licences.Pool
	if _, err := w.env.Store.Get(ctx, w.ten.LicencePool(w.client1, "standard"), &p); err != nil || p.Used != 1 {
		t.Fatalf("seat not released: %+v %v", p, err)
	}
}

// An operator switches into any account of the tenant, with a reason that
// the access history and the account's change log keep.
func TestOperatorSwitchesWithAReason(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	op := identity.User{ID: w.operator.UserID, Email: "support@" + w.ten.ID() + ".example"}
	tok, caller := w.signIn(t, op.Email)
	if _, err := (associates.SwitchRequest{AccountID: w.client1}).Command(caller, tok, "", ""); apperr.KindOf(err) != apperr.KindUnprocessable {
		t.Fatalf("operator without a reason: %v", err)
	}
	cmd, _ := associates.SwitchRequest{AccountID: w.client1, Reason: "ticket 4711: cannot export"}.Command(caller, tok, "", "")
	if _, err := w.svc.Switch(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	after, err := w.auth.Authorize(ctx, tok)
	if err != nil || after.AccountID != w.client1 || !after.Operator {
		t.Fatalf("operator session: %+v %v", after, err)
	}
	log := w.changes(t, w.client1, "support.entered")
	if len(log) != 1 || log[0].Actor != (changelog.Actor{Kind: changelog.ActorSupport, ID: op.ID, AccountID: w.client1, Reason: "ticket 4711: cannot export",
		Email: op.Email}) {
		t.Fatalf("account log: %+v", log)
	}
}

// Who may associate: only tenant operators (users.associate), in every
// account of the request, never themselves. The accounts' Viewers and
// Admins, and Admins elsewhere, are refused 403 operators_only; another
// tenant does not see the accounts (404). Who may change an associate's
// roles and remove them: the account's Admin (roles.manage, users.delete),
// not a Viewer, not an operator without a switch. Refusals write nothing.
func TestAssociatePermissions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	viewer := w.env.AddUser(t, w.ten, w.client1, "viewer@"+w.ten.ID()+".example", "", access.RoleViewer)
	asViewer := access.Caller{Tenant: w.ten.Tenant, UserID: viewer.ID, SessionID: "s", AccountID: w.client1, Roles: []string{access.RoleViewer}}
	elsewhere := w.env.AddAccount(t, w.ten, "Elsewhere")
	otherAdmin := w.env.AddUser(t, w.ten, elsewhere, "admin3@"+w.ten.ID()+".example", "", access.RoleAdmin)
	asOtherAdmin := access.Caller{Tenant: w.ten.Tenant, UserID: otherAdmin.ID, SessionID: "s", AccountID: elsewhere, Roles: []string{access.RoleAdmin}}
	other := w.env.NewTenant(t)
	asOtherTenant := access.Caller{Tenant: other.Tenant, UserID: other.AdminID, SessionID: "s", AccountID: other.AccountID, Roles: []string{access.RoleAdmin}}
	only1 := w.env.AddUser(t, w.ten, w.client1, "admin1@"+w.ten.ID()+".example", "", access.RoleAdmin)
	asOnly1 := access.Caller{Tenant: w.ten.Tenant, UserID: only1.ID, SessionID: "s", AccountID: w.client1, Roles: []string{access.RoleAdmin}}
	for _, c := range []struct {
		name   string
		caller access.Caller
		code   string
	}{{"viewer", asViewer, "operators_only"}, {"admin of another account", asOtherAdmin, "operators_only"},
		{"admin of the account", asOnly1, "operators_only"}, {"admin of both accounts", w.admin, "operators_only"},
		{"other tenant's admin", asOtherTenant, "not_found"}} {
		if _, err := w.associate(t, c.caller, w.advisor.ID, associates.AccountRoles{AccountID: w.client1, Roles: []string{access.RoleViewer}}); code(err) != c.code {
			t.Errorf("%s associates: %v, want %s", c.name, err, c.code)
		}
		if _, err := w.associate(t, c.caller, w.advisor.ID,
			associates.AccountRoles{AccountID: w.client1, Roles: []string{access.RoleViewer}},
			associates.AccountRoles{AccountID: w.client2, Roles: []string{access.RoleViewer}}); code(err) != c.code {
			t.Errorf("%s associates with two accounts: %v, want %s", c.name, err, c.code)
		}
	}
	// Nobody associates themselves, an operator neither: support switches in.
	if _, err := w.associate(t, w.operator, w.operator.UserID, associates.AccountRoles{AccountID: w.client1, Roles: []string{access.RoleAdmin}}); code(err) != "own_roles" {
		t.Fatalf("operator associates themselves: %v", err)
	}
	for _, u := range []string{w.advisor.ID, w.operator.UserID} {
		for _, acc := range []string{w.client1, w.client2} {
			if _, ok := w.membership(t, acc, u); ok {
				t.Fatalf("a refused association was written: %s in %s", u, acc)
			}
		}
	}
	if _, err := w.associate(t, w.operator, w.advisor.ID, associates.AccountRoles{AccountID: w.client1, Roles: []string{"NoSuchRole"}}); apperr.KindOf(err) != apperr.KindUnprocessable {
		t.Fatalf("unknown role: %v", err)
	}
	if _, err := w.associate(t, w.operator, w.advisor.ID, associates.AccountRoles{AccountID: w.client1, Roles: []string{access.RoleViewer}}); err != nil {
		t.Fatal(err)
	}
	if e := w.changes(t, w.client1, "associate.added"); len(e) != 1 || e[0].Actor != (changelog.Actor{Kind: changelog.ActorOperator, ID: w.operator.UserID}) {
		t.Fatalf("operator's association log: %+v", e)
	}
	if _, err := w.setRoles(asViewer, w.client1, w.advisor.ID, 0, access.RoleAdmin); apperr.KindOf(err) != apperr.KindForbidden {
		t.Fatalf("viewer changes roles: %v", err)
	}
	if _, err := w.setRoles(asOtherTenant, w.client1, w.advisor.ID, 0, access.RoleAdmin); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("other tenant changes roles: %v", err)
	}
	if _, err := w.setRoles(w.operator, w.client1, w.advisor.ID, 0, access.RoleAdmin); code(err) != "switch_required" {
		t.Fatalf("operator not switched changes roles: %v", err)
	}
	if err := w.remove(asViewer, w.client1, w.advisor.ID); apperr.KindOf(err) != apperr.KindForbidden {
		t.Fatalf("viewer removes: %v", err)
	}
	if err := w.remove(asOtherTenant, w.client1, w.advisor.ID); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("other tenant removes: %v", err)
	}
	if err := w.remove(w.operator, w.client1, w.advisor.ID); code(err) != "switch_required" {
		t.Fatalf("operator not switched removes: %v", err)
	}
	if m, ok := w.membership(t, w.client1, w.advisor.ID); !ok || m.Version != 1 || m.Roles[0] != access.RoleViewer {
		t.Fatalf("a refused change or removal changed the membership: %+v %v", m, ok)
	}
	if _, err := w.setRoles(asOnly1, w.client1, w.advisor.ID, 1, access.RoleAdmin); err != nil {
		t.Fatalf("the account's admin changes roles: %v", err)
	}
	if err := w.remove(asOnly1, w.client1, w.advisor.ID); err != nil {
		t.Fatalf("the account's admin removes: %v", err)
	}
}

func code(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return err.Error()
}
