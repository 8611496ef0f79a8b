package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/testkit"
)

// Requiring a second factor is a setting people can change through the
// API: an account's Admin on the account (PATCH /accounts/{id}), operators
// for the whole tenant (PATCH /tenant/settings). From then on a password
// alone opens no session there: sign-in answers the enrolment challenge.
func TestRequiringASecondFactorThroughTheAPI(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	c := client{t, httptest.NewServer(api.New(env.Deps)).URL}
	signIn := func(ten testkit.Tenant, email, password string) (int, map[string]any) {
		t.Helper()
		status, body, _ := c.do("POST", "/auth/sign-in", "", toJSON(map[string]string{"tenant": ten.ID(), "email": email, "password": password}))
		return status, body
	}
	token := func(ten testkit.Tenant, email, password string) string {
		t.Helper()
		status, body := signIn(ten, email, password)
		tok, _ := body["token"].(string)
		if status != 201 || tok == "" {
			t.Fatalf("sign-in of %s: %d %v", email, status, body)
		}
		return tok
	}
	enrolChallenge := func(ten testkit.Tenant, email, password string) {
		t.Helper()
		status, body := signIn(ten, email, password)
		if status != 200 || body["token"] != nil || body["enrol"] != true || body["challenge"] == nil {
			t.Fatalf("sign-in of %s where a second factor is required: %d %v", email, status, body)
		}
	}

	// The account: a Viewer may not require it, its Admin may.
	ten := env.NewTenant(t)
	viewer := env.AddUser(t, ten, ten.AccountID, strings.ToLower("viewer-"+env.IDs.NewID()+"@example.com"), "", "Viewer")
	admin := token(ten, ten.AdminEmail, ten.AdminPassword)
	path := "/accounts/" + ten.AccountID
	if status, prob, _ := c.do("PATCH", path, token(ten, viewer.Email, viewer.Password), `{"twoFactorRequired":true}`); status != 403 {
		t.Fatalf("a Viewer requires a second factor: %d %v", status, prob)
	}
	if status, prob, _ := c.do("PATCH", path, admin, `{"twoFactorRequired":"yes"}`); status != 422 {
		t.Fatalf("twoFactorRequired not a boolean: %d %v", status, prob)
	}
	if _, acc, _ := c.do("GET", path, admin, ""); acc["twoFactorRequired"] != false {
		t.Fatalf("refused requests changed the account: %v", acc)
	}
	status, acc, _ := c.do("PATCH", path, admin, `{"twoFactorRequired":true}`)
	if status != 200 || acc["twoFactorRequired"] != true || acc["name"] == "" {
		t.Fatalf("an Admin requires a second factor: %d %v", status, acc)
	}
	if n := len(env.Changes(t, ten.Tenant, ten.AccountID, "account.two_factor_required")); n != 1 {
		t.Fatalf("%d change-log entries account.two_factor_required, want 1", n)
	}
	enrolChallenge(ten, viewer.Email, viewer.Password)
	enrolChallenge(ten, ten.AdminEmail, ten.AdminPassword)
	// A rename alone keeps the requirement.
	if status, acc, _ := c.do("PATCH", path, admin, `{"name":"Renamed Ltd"}`); status != 200 || acc["twoFactorRequired"] != true || acc["name"] != "Renamed Ltd" {
		t.Fatalf("rename: %d %v", status, acc)
	}

	// The tenant: only operators may require it, for every account.
	other := env.NewTenant(t)
	second := env.AddUser(t, other, other.AccountID, strings.ToLower("admin-"+env.IDs.NewID()+"@example.com"), "", "Admin")
	if status, prob, _ := c.do("PATCH", "/tenant/settings", token(other, second.Email, second.Password), `{"twoFactorRequired":true}`); status != 403 {
		t.Fatalf("an account Admin requires a second factor tenant-wide: %d %v", status, prob)
	}
	env.MakeOperator(t, other, other.AdminID)
	status, settings, _ := c.do("PATCH", "/tenant/settings", token(other, other.AdminEmail, other.AdminPassword), `{"twoFactorRequired":true}`)
	if status != 200 || settings["twoFactorRequired"] != true {
		t.Fatalf("an operator requires a second factor tenant-wide: %d %v", status, settings)
	}
	enrolChallenge(other, second.Email, second.Password)
}
