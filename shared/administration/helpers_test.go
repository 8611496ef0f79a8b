package administration_test

import (
	"context"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

type world struct {
	env *testkit.Env
	ten testkit.Tenant
	adm *administration.Service
	dir *directory.Directory
}

func newWorld(t testing.TB) *world {
	t.Helper()
	env := testkit.New(t)
	return worldOn(t, env)
}

func worldOn(t testing.TB, env *testkit.Env) *world {
	return &world{env: env, ten: env.NewTenant(t), adm: administration.New(env.Service()), dir: directory.New(env.Service())}
}

var ctx = context.Background()

func callerOf(ten testkit.Tenant, userID, accountID string, roles ...string) access.Caller {
	return access.Caller{Tenant: ten.Tenant, UserID: userID, SessionID: "session-" + userID, AccountID: accountID, Roles: roles}
}

func (w *world) admin() access.Caller {
	return callerOf(w.ten, w.ten.AdminID, w.ten.AccountID, access.RoleAdmin)
}

// operator adds a tenant operator (support staff) and returns them as a caller.
func (w *world) operator(t testing.TB) access.Caller {
	t.Helper()
	now := w.env.Clock.Now()
	u := identity.NewUser(w.ten.Tenant, identity.User{ID: w.env.IDs.NewID(), Email: "support-" + w.env.IDs.NewID()[20:] + "@ops.example",
		FirstName: "Sam", LastName: "Support", Status: identity.UserActive, Operator: true, CreatedAt: now, UpdatedAt: now})
	if err := w.env.Store.Transact(ctx, "add operator", store.Put(u),
		store.Put(identity.NewEmailClaim(w.ten.Tenant, u.Email, u.ID)).If(store.NotExists())); err != nil {
		t.Fatal(err)
	}
	c := callerOf(w.ten, u.ID, w.ten.AccountID)
	c.Operator = true
	return c
}

// supportIn is operator op with their session switched into accountID with
// a reason: how support staff do account work in a customer account.
func supportIn(op access.Caller, accountID string) access.Caller {
	op.AccountID, op.SupportReason = accountID, "ticket 4711"
	return op
}

// customRole defines a custom role of the tenant (operators do) with perms.
func (w *world) customRole(t testing.TB, name string, perms ...access.Action) {
	t.Helper()
	if _, err := w.adm.PutRole(ctx, administration.PutRole{Caller: w.operator(t), Name: name, Permissions: perms}); err != nil {
		t.Fatalf("define role %s: %v", name, err)
	}
}

// member adds a user to accountID with roles and returns them as a caller
// whose active account is accountID.
func (w *world) member(t testing.TB, accountID, emailAddr string, roles ...string) (testkit.User, access.Caller) {
	t.Helper()
	u := w.env.AddUser(t, w.ten, accountID, emailAddr, "", roles...)
	if len(roles) == 0 {
		roles = []string{access.RoleViewer}
	}
	return u, callerOf(w.ten, u.ID, accountID, roles...)
}

func (w *world) account(t testing.TB, id string) accounts.Account {
	t.Helper()
	var a accounts.Account
	if ok, err := w.env.Store.Get(ctx, w.ten.Account(id), &a); err != nil || !ok {
		t.Fatalf("account %s: %v %v", id, ok, err)
	}
	return a
}

func (w *world) user(t testing.TB, id string) identity.User {
	t.Helper()
	var u identity.User
	if ok, err := w.env.Store.Get(ctx, w.ten.User(id), &u); err != nil || !ok {
		t.Fatalf("user %s: %v %v", id, ok, err)
	}
	return u
}

func (w *world) membership(t testing.TB, accountID, userID string) (accounts.Membership, bool) {
	t.Helper()
	var m accounts.Membership
	ok, err := w.env.Store.Get(ctx, w.ten.Membership(accountID, userID), &m)
	if err != nil {
		t.Fatal(err)
	}
	return m, ok
}

func (w *world) exists(t testing.TB, k table.Key) bool {
	t.Helper()
	var v map[string]any
	ok, err := w.env.Store.Get(ctx, k, &v)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// changes returns an account's change-log entries with action, oldest first.
func (w *world) changes(t testing.TB, accountID, action string) []changelog.Entry {
	t.Helper()
	return w.env.Changes(t, w.ten.Tenant, accountID, action)
}

// wantKind fails unless err is a domain error of kind (nil for success).
func wantKind(t testing.TB, what string, err error, kind apperr.Kind, code ...string) {
	t.Helper()
	if kind == -1 {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return
	}
	e, ok := apperr.As(err)
	if !ok || e.Kind != kind || (len(code) > 0 && e.Code != code[0]) {
		t.Fatalf("%s: want kind %d %v, got %v", what, kind, code, err)
	}
}

const ok = apperr.Kind(-1)
