package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// supportWorld is a tenant with a support person (a tenant operator homed in
// the tenant's first account, with no membership anywhere) and a customer
// account administered by the tenant's admin, behind the local HTTP API.
type supportWorld struct {
	c                client
	ten              testkit.Tenant
	supportID, email string
	customer         string
	admin            string
}

func newSupportWorld(t *testing.T) *supportWorld {
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	t.Cleanup(srv.Close)
	email, err := identity.NormalizeEmail("support@" + ten.ID() + ".example")
	if err != nil {
		t.Fatal(err)
	}
	w := &supportWorld{c: client{t, srv.URL}, ten: ten, email: email}
	hash, err := identity.HashPassword(testkit.Password)
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	u := identity.NewUser(ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: w.email, FirstName: "Sam", LastName: "Support",
		PasswordHash: hash, Status: identity.UserActive, Operator: true, HomeAccountID: ten.AccountID, CreatedAt: now, UpdatedAt: now})
	if err := env.Store.Transact(context.Background(), "add support person",
		store.Put(u).If(store.NotExists()), store.Put(identity.NewEmailClaim(ten.Tenant, w.email, u.ID)).If(store.NotExists())); err != nil {
		t.Fatal(err)
	}
	w.supportID = u.ID
	w.customer = env.AddAccount(t, ten, "Customer")
	env.AddMembership(t, ten, w.customer, ten.AdminID, ten.AdminEmail, access.RoleAdmin)
	return w
}

func (w *supportWorld) signIn(t *testing.T, email, password, accountID string) string {
	t.Helper()
	status, body, _ := w.c.do("POST", "/auth/sign-in", "", jsonBody(map[string]string{"tenant": w.ten.ID(), "email": email,
		"password": password, "accountId": accountID}))
	if status != 201 {
		t.Fatalf("sign in %s to %q: %d %v", email, accountID, status, body)
	}
	return body["token"].(string)
}

// switchTo switches the session of token to accountID with reason.
func (w *supportWorld) switchTo(t *testing.T, token, accountID, reason string) (int, map[string]any) {
	t.Helper()
	status, body, _ := w.c.do("POST", "/me/switch-account", token, jsonBody(map[string]string{"accountId": accountID, "reason": reason}))
	return status, body
}

// rename renames accountID and returns the actor its change-log entry names.
func (w *supportWorld) rename(t *testing.T, token, accountID, name string) map[string]any {
	t.Helper()
	if status, body, _ := w.c.do("PATCH", "/accounts/"+accountID, token, jsonBody(map[string]string{"name": name})); status != 200 {
		t.Fatalf("rename %s: %d %v", accountID, status, body)
	}
	e := w.latest(t, accountID, "account.renamed")
	if after, _ := e["after"].(map[string]any); after["name"] != name {
		t.Fatalf("latest rename of %s is not %q: %v", accountID, name, e)
	}
	return e["actor"].(map[string]any)
}

// latest is the newest entry with action in accountID's change log, read
// through GET /accounts/{id}/changes as the tenant's admin.
func (w *supportWorld) latest(t *testing.T, accountID, action string) map[string]any {
	t.Helper()
	status, body, _ := w.c.do("GET", "/accounts/"+accountID+"/changes?limit=100", w.admin, "")
	if status != 200 {
		t.Fatalf("change log of %s: %d %v", accountID, status, body)
	}
	changes, _ := body["changes"].([]any)
	for _, c := range changes {
		if e := c.(map[string]any); e["action"] == action {
			return e
		}
	}
	t.Fatalf("no %s in the change log of %s: %v", action, accountID, body)
	return nil
}

// Through the local HTTP API, sessions resolved by each function: a support person enters a customer account
// with a reason, and every change they make there names them, the account
// and the reason; the admin's own changes carry neither; switching back or
// signing out ends it.
func TestSupportChangesNameThePersonTheAccountAndTheReason(t *testing.T) {
	t.Parallel()
	w := newSupportWorld(t)
	w.admin = w.signIn(t, w.ten.AdminEmail, w.ten.AdminPassword, w.customer)
	const reason = "ticket 4711: the customer cannot rename their account"

	// Support enters customer accounts only by switching, with a reason.
	status, body, _ := w.c.do("POST", "/auth/sign-in", "", jsonBody(map[string]string{"tenant": w.ten.ID(), "email": w.email,
		"password": testkit.Password, "accountId": w.customer}))
	if status != 403 || body["code"] != "switch_with_reason" {
		t.Fatalf("support signing in straight to a customer account: %d %v", status, body)
	}
	tok := w.signIn(t, w.email, testkit.Password, "")
	for _, bad := range []string{"", "two\nlines", strings.Repeat("x", 501)} {
		if status, body := w.switchTo(t, tok, w.customer, bad); status != 422 {
			t.Fatalf("switch with reason %q: %d %v", bad, status, body)
		}
	}
	if _, me, _ := w.c.do("GET", "/me", tok, ""); me["activeAccountId"] != w.ten.AccountID {
		t.Fatalf("a refused switch moved the session: %v", me)
	}
	if status, body := w.switchTo(t, tok, w.customer, reason); status != 200 {
		t.Fatalf("switch: %d %v", status, body)
	}

	// Changes as support: a rename, a usage record and a reset.
	support := map[string]any{"kind": "support", "id": w.supportID, "accountId": w.customer, "reason": reason,
		"name": "Sam Support", "email": w.email}
	if got := w.rename(t, tok, w.customer, "Renamed by support"); toJSON(got) != toJSON(support) {
		t.Fatalf("support rename logged as %v, want %v", got, support)
	}
	if status, body, _ := w.c.do("POST", "/accounts/"+w.customer+"/usage", tok, `{"metric":"tasks","amount":2}`); status != 200 {
		t.Fatalf("record usage: %d %v", status, body)
	}
	if status, body, _ := w.c.do("POST", "/accounts/"+w.customer+"/usage/reset", tok, ""); status != 200 {
		t.Fatalf("reset usage: %d %v", status, body)
	}
	reset := w.latest(t, w.customer, "usage.reset")
	if toJSON(reset["actor"]) != toJSON(support) || toJSON(reset["before"].(map[string]any)["used"]) != `{"tasks":2}` {
		t.Fatalf("support reset logged as %v", reset)
	}
	// The account's log names who entered and why; so does the support
	// person's access history.
	if got := w.latest(t, w.customer, "support.entered")["actor"]; toJSON(got) != toJSON(support) {
		t.Fatalf("support.entered logged as %v", got)
	}
	status, hist, _ := w.c.do("GET", "/users/"+w.supportID+"/access-history", w.admin, "")
	entries, _ := hist["entries"].([]any)
	if status != 200 || len(entries) == 0 {
		t.Fatalf("access history: %d %v", status, hist)
	}
	if e := entries[0].(map[string]any); e["event"] != "switch_account" || e["accountId"] != w.customer || e["actorId"] != w.supportID || e["reason"] != reason {
		t.Fatalf("access history names %v", e)
	}

	// The customer's admin is not support: no reason, no acting account;
	// each actor is named as they were.
	if got := w.rename(t, w.admin, w.customer, "Renamed by its admin"); toJSON(got) != toJSON(map[string]any{"kind": "user", "id": w.ten.AdminID,
		"name": "Ada Admin", "email": w.ten.AdminEmail}) {
		t.Fatalf("admin rename logged as %v", got)
	}

	// Back home, the reason is gone from the session: the customer's
	// account is out of reach again, and tenant administration there is
	// logged as the operator's, without a reason or an acting account.
	operator := map[string]any{"kind": "operator", "id": w.supportID, "name": "Sam Support", "email": w.email}
	if status, body := w.switchTo(t, tok, w.ten.AccountID, "done with ticket 4711"); status != 200 {
		t.Fatalf("switch back: %d %v", status, body)
	}
	if status, body, _ := w.c.do("PATCH", "/accounts/"+w.customer, tok, `{"name":"Not switched"}`); status != 403 || body["code"] != "switch_required" {
		t.Fatalf("rename after switching back: %d %v, want 403 switch_required", status, body)
	}
	if status, body, _ := w.c.do("POST", "/accounts/"+w.customer+"/usage/reset", tok, ""); status != 200 {
		t.Fatalf("reset usage as tenant administration: %d %v", status, body)
	}
	if got := w.latest(t, w.customer, "usage.reset")["actor"]; toJSON(got) != toJSON(operator) {
		t.Fatalf("tenant administration logged as %v, want %v", got, operator)
	}

	// Signing out ends the session and its reason: the token is refused, and
	// a new session starts at home without one.
	if status, body := w.switchTo(t, tok, w.customer, "ticket 4712"); status != 200 {
		t.Fatalf("switch again: %d %v", status, body)
	}
	if status, body, _ := w.c.do("POST", "/auth/sign-out", tok, ""); status != 204 {
		t.Fatalf("sign out: %d %v", status, body)
	}
	if status, _, _ := w.c.do("PATCH", "/accounts/"+w.customer, tok, `{"name":"After sign-out"}`); status != 401 {
		t.Fatalf("signed-out token: %d", status)
	}
	tok = w.signIn(t, w.email, testkit.Password, "")
	if status, body, _ := w.c.do("PATCH", "/accounts/"+w.customer, tok, `{"name":"New session"}`); status != 403 || body["code"] != "switch_required" {
		t.Fatalf("a new session kept the switch: %d %v", status, body)
	}
}
