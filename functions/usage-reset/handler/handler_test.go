package handler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/functions/usage-reset/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/usage"
)

func request(t testing.TB, c access.Caller, method, path, accountID, body string, headers map[string]string) httpapi.Request {
	routePath := strings.Replace(path, accountID, "{accountId}", 1)
	h := map[string]string{"content-type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	req := httpapi.Request{RouteKey: method + " " + routePath, RawPath: path, Body: body, Headers: h,
		PathParameters: map[string]string{"accountId": accountID}}
	req.RequestContext.RequestID = "req-1"
	return testkit.As(t, req, c)
}

func decode(t *testing.T, resp httpapi.Response) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return out
}

func TestUsageRoutes(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	ctx := context.Background()
	if err := usage.SaveAllowances(ctx, env.Store, ten.Tenant, ten.AccountID, map[string]usage.Allowance{usage.MetricTasks: {Limit: 3}}, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	h := handler.NewHTTP(env.Service())
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	path := "/accounts/" + ten.AccountID + "/usage"

	// Recorded once under an Idempotency-Key, however often it is sent.
	key := map[string]string{"idempotency-key": "rec-1"}
	for i := range 2 {
		resp, _ := h(ctx, request(t, admin, "POST", path, ten.AccountID, `{"metric":"tasks","amount":2}`, key))
		body := decode(t, resp)
		if resp.StatusCode != 200 || body["used"] != float64(2) || body["limit"] != float64(3) || body["remaining"] != float64(1) {
			t.Fatalf("record %d: %d %s", i, resp.StatusCode, resp.Body)
		}
		if i == 1 && resp.Headers["Idempotent-Replayed"] != "true" {
			t.Fatalf("replay not marked: %v", resp.Headers)
		}
	}
	// Over the limit: 429 with the limit, the count and when it renews.
	resp, _ := h(ctx, request(t, admin, "POST", path, ten.AccountID, `{"metric":"tasks","amount":2}`, nil))
	body := decode(t, resp)
	renews := testkit.Start.AddDate(0, 1, 0)
	if resp.StatusCode != 429 || body["code"] != "usage_limit_reached" || body["limit"] != float64(3) || body["used"] != float64(2) ||
		body["resetAt"] != renews.Format(time.RFC3339) || resp.Headers["Retry-After"] != fmt.Sprint(int64(renews.Sub(testkit.Start).Seconds())) {
		t.Fatalf("429: %v %s", resp.Headers, resp.Body)
	}
	// Bad input changes nothing.
	for _, bad := range []struct {
		body   string
		status int
	}{
		{`{"metric":"tasks","amount":1,"account":"x"}`, 422},
		{`{"metric":"tasks","amount":"1"}`, 422},
		{`{"metric":"tasks"}`, 422},
		{`{"metric":"nope","amount":1}`, 422},
		{`{"metric":`, 400},
		{`{"metric":"tasks","amount":1,"pad":"` + strings.Repeat("x", 2000) + `"}`, 413},
	} {
		if resp, _ := h(ctx, request(t, admin, "POST", path, ten.AccountID, bad.body, nil)); resp.StatusCode != bad.status {
			t.Errorf("%.40s: %d %s", bad.body, resp.StatusCode, resp.Body)
		}
	}
	resp, _ = h(ctx, request(t, admin, "GET", path, ten.AccountID, "", nil))
	body = decode(t, resp)
	metrics := body["metrics"].([]any)
	if resp.StatusCode != 200 || len(metrics) != 2 || metrics[0].(map[string]any)["used"] != float64(2) {
		t.Fatalf("report: %d %s", resp.StatusCode, resp.Body)
	}
	// Reset is tenant administration: a Viewer and the account's Admin are
	// refused (403) and the counters stay; an operator resets, once per
	// Idempotency-Key.
	viewer := env.AddUser(t, ten, ten.AccountID, "viewer@usage-routes.example", "")
	asViewer := access.Caller{Tenant: ten.Tenant, UserID: viewer.ID, SessionID: "s2", AccountID: ten.AccountID, Roles: []string{access.RoleViewer}}
	operator := access.Caller{Tenant: ten.Tenant, UserID: env.AddOperator(t, ten).ID, SessionID: "s3", AccountID: ten.AccountID, Operator: true}
	for _, c := range []struct {
		name   string
		caller access.Caller
	}{{"viewer", asViewer}, {"admin", admin}} {
		if resp, _ := h(ctx, request(t, c.caller, "POST", path+"/reset", ten.AccountID, "", map[string]string{"idempotency-key": "reset-" + c.name})); resp.StatusCode != 403 ||
			decode(t, resp)["code"] != "forbidden" {
			t.Fatalf("%s reset: %d %s", c.name, resp.StatusCode, resp.Body)
		}
	}
	if resp, _ := h(ctx, request(t, asViewer, "GET", path, ten.AccountID, "", nil)); resp.StatusCode != 200 ||
		decode(t, resp)["metrics"].([]any)[0].(map[string]any)["used"] != float64(2) {
		t.Fatalf("a refused reset changed the counters: %d %s", resp.StatusCode, resp.Body)
	}
	if resp, _ := h(ctx, request(t, operator, "POST", path+"/reset", ten.AccountID, `{"force":true}`, nil)); resp.StatusCode != 422 {
		t.Fatalf("reset with a body: %d %s", resp.StatusCode, resp.Body)
	}
	for i := range 2 {
		resp, _ = h(ctx, request(t, operator, "POST", path+"/reset", ten.AccountID, "", map[string]string{"idempotency-key": "reset-1"}))
		if body := decode(t, resp); resp.StatusCode != 200 || body["before"].(map[string]any)["tasks"] != float64(2) {
			t.Fatalf("reset %d: %d %s", i, resp.StatusCode, resp.Body)
		}
		if i == 1 && resp.Headers["Idempotent-Replayed"] != "true" {
			t.Fatalf("replay not marked: %v", resp.Headers)
		}
	}
	if resp, _ := h(ctx, request(t, asViewer, "GET", path, ten.AccountID, "", nil)); resp.StatusCode != 200 ||
		decode(t, resp)["metrics"].([]any)[0].(map[string]any)["used"] != float64(0) {
		t.Fatalf("viewer read after reset: %d %s", resp.StatusCode, resp.Body)
	}
	// Without a session: 401.
	req := request(t, admin, "GET", path, ten.AccountID, "", nil)
	delete(req.Headers, "authorization")
	if resp, _ := h(ctx, req); resp.StatusCode != 401 {
		t.Fatalf("no caller: %d", resp.StatusCode)
	}
}

// One Lambda serves both the routes and the schedule: New tells the events
// apart by their shape.
func TestLambdaEntryTellsEventsApart(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	env.OwnTable(t, "usagefn")
	ten := env.NewTenant(t)
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	fn := handler.New(env.Service())
	ctx := context.Background()

	raw, _ := json.Marshal(request(t, admin, "POST", "/accounts/"+ten.AccountID+"/usage", ten.AccountID, `{"metric":"webhooks","amount":5}`, nil))
	out, err := fn(ctx, raw)
	if resp, ok := out.(httpapi.Response); err != nil || !ok || resp.StatusCode != 200 {
		t.Fatalf("HTTP event: %#v %v", out, err)
	}
	env.Clock.Set(testkit.Start.AddDate(0, 1, 0).Add(time.Minute))
	ev := `{"version":"0","id":"e1","detail-type":"Usage Rollover","source":"aws.events","time":"2026-12-23T09:01:00Z","detail":{}}`
	if out, err := fn(ctx, json.RawMessage(ev)); err != nil || out != nil {
		t.Fatalf("scheduled event: %v %v", out, err)
	}
	if !strings.Contains(env.Logs.String(), `"finalised":1`) {
		t.Fatalf("job log: %s", env.Logs.String())
	}
	if _, err := fn(ctx, json.RawMessage(`{"hello":"world"}`)); err == nil {
		t.Fatal("an unknown event was accepted")
	}
}
