package handler_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/functions/edit/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/testkit"
)

// sample reads events/edit/<name>.json as caller, with replacements.
func sample(t *testing.T, name string, c access.Caller, more ...string) httpapi.Request {
	t.Helper()
	raw, err := os.ReadFile("../../../events/edit/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	pairs := append([]string{"${TENANT}", c.Tenant.ID(), "${USER_ID}", c.UserID, "${SESSION_ID}", c.SessionID,
		"${ACCOUNT_ID}", c.AccountID, "${TOKEN}", "unused", "${PASSWORD}", testkit.Password}, more...)
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(strings.NewReplacer(pairs...).Replace(string(raw))), &req); err != nil {
		t.Fatal(err)
	}
	return testkit.As(t, req, c)
}

type world struct {
	env   *testkit.Env
	ten   testkit.Tenant
	h     httpapi.LambdaHandler
	admin access.Caller
}

func newWorld(t *testing.T) *world {
	env := testkit.New(t)
	ten := env.NewTenant(t)
	return &world{env: env, ten: ten, h: handler.New(env.Service()),
		admin: access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s-admin", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}}
}

func (w *world) do(t *testing.T, req httpapi.Request) httpapi.Response {
	t.Helper()
	resp, err := w.h(context.Background(), req)
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	return resp
}

func problemCode(t *testing.T, resp httpapi.Response) string {
	t.Helper()
	if resp.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("not a problem: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	var p struct {
		Code   string `json:"code"`
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &p)
	return p.Code
}

func TestCreateAccountIsIdempotent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if resp := w.do(t, sample(t, "create-account", w.admin)); resp.StatusCode != 403 {
		t.Fatalf("an Admin creates an account: %d %s (creating accounts is billing: operators)", resp.StatusCode, resp.Body)
	}
	op := access.Caller{Tenant: w.ten.Tenant, UserID: w.env.AddOperator(t, w.ten).ID, AccountID: w.ten.AccountID, Operator: true}
	first := w.do(t, sample(t, "create-account", op))
	if first.StatusCode != 201 || first.Headers["ETag"] != `"1"` || !strings.HasPrefix(first.Headers["Location"], "/accounts/") {
		t.Fatalf("create: %d %v %s", first.StatusCode, first.Headers, first.Body)
	}
	again := w.do(t, sample(t, "create-account", op))
	if again.StatusCode != 201 || again.Body != first.Body || again.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("retry: %d %v %s", again.StatusCode, again.Headers, again.Body)
	}
	viewer := w.env.AddUser(t, w.ten, w.ten.AccountID, "viewer@example.org", "")
	asViewer := access.Caller{Tenant: w.ten.Tenant, UserID: viewer.ID, SessionID: "s-viewer", AccountID: w.ten.AccountID, Roles: []string{access.RoleViewer}}
	if resp := w.do(t, sample(t, "create-account", asViewer)); resp.StatusCode != 403 {
		t.Fatalf("viewer: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestRenameThroughTheHandlerHonoursIfMatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	req := sample(t, "rename-account", w.admin)
	req.Headers["if-match"] = `"1"`
	resp := w.do(t, req)
	if resp.StatusCode != 200 || resp.Headers["ETag"] != `"2"` {
		t.Fatalf("rename: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	if resp := w.do(t, req); resp.StatusCode != 412 || problemCode(t, resp) != "version_conflict" {
		t.Fatalf("stale: %d %s", resp.StatusCode, resp.Body)
	}
	req.Headers["if-match"] = "W/\"2\""
	if resp := w.do(t, req); resp.StatusCode != 400 {
		t.Fatalf("weak tag: %d %s", resp.StatusCode, resp.Body)
	}
	req = sample(t, "rename-account", w.admin)
	req.Body = `{"name": "X", "owner": "me"}`
	if resp := w.do(t, req); resp.StatusCode != 422 {
		t.Fatalf("unknown field: %d %s", resp.StatusCode, resp.Body)
	}
	req.Body = `{"name": `
	if resp := w.do(t, req); resp.StatusCode != 400 {
		t.Fatalf("malformed: %d %s", resp.StatusCode, resp.Body)
	}
	// Another tenant's admin: 404, and nothing changes.
	other := w.env.NewTenant(t)
	foreign := access.Caller{Tenant: other.Tenant, UserID: other.AdminID, SessionID: "s-f", AccountID: other.AccountID, Roles: []string{access.RoleAdmin}}
	req = sample(t, "rename-account", foreign)
	req.PathParameters["accountId"] = w.ten.AccountID
	if resp := w.do(t, req); resp.StatusCode != 404 {
		t.Fatalf("foreign: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestProfileAndPasswordThroughTheHandler(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	req := sample(t, "edit-profile", w.admin)
	req.Body = `{"phone": "0044 7700 900123", "timeZone": "Atlantis/Capital"}`
	resp := w.do(t, req)
	if resp.StatusCode != 422 || !strings.Contains(resp.Body, `"field":"phone"`) || !strings.Contains(resp.Body, `"field":"timeZone"`) {
		t.Fatalf("invalid profile: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := w.do(t, sample(t, "edit-profile", w.admin)); resp.StatusCode != 200 || resp.Headers["ETag"] != `"2"` {
		t.Fatalf("profile: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	member := w.env.AddUser(t, w.ten, w.ten.AccountID, "member@example.org", "")
	me := access.Caller{Tenant: w.ten.Tenant, UserID: member.ID, SessionID: "s-m", AccountID: w.ten.AccountID, Roles: []string{access.RoleViewer}}
	resp = w.do(t, sample(t, "change-password", me, "${MEMBER_ID}", member.ID))
	var signed struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &signed)
	if resp.StatusCode != 200 || resp.Headers["Cache-Control"] != "no-store" || !strings.HasPrefix(signed.Token, w.ten.ID()+".") {
		t.Fatalf("change password: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	// A viewer may not suspend anyone.
	if resp := w.do(t, sample(t, "suspend", me, "${MEMBER_ID}", w.ten.AdminID)); resp.StatusCode != 403 {
		t.Fatalf("viewer suspends: %d %s", resp.StatusCode, resp.Body)
	}
}
