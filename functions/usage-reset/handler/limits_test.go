package handler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	accountshandler "github.com/acme/accountadmin/functions/accounts/handler"
	edithandler "github.com/acme/accountadmin/functions/edit/handler"
	"github.com/acme/accountadmin/functions/usage-reset/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/usage"
)

// api is the three functions that show and enforce limits, over one tenant.
type api struct {
	t                   *testing.T
	env                 *testkit.Env
	ten                 testkit.Tenant
	edit, read, usageFn httpapi.LambdaHandler
	op                  access.Caller
}

func newAPI(t *testing.T) *api {
	env := testkit.New(t)
	ten := env.NewTenant(t)
	return &api{t: t, env: env, ten: ten, edit: edithandler.New(env.Service()), read: accountshandler.New(env.Service()), usageFn: handler.NewHTTP(env.Service()),
		op: access.Caller{Tenant: ten.Tenant, UserID: env.AddOperator(t, ten).ID, SessionID: "s", AccountID: ten.AccountID, Operator: true}}
}

// call sends one request; routeKey names the route ("PUT /plans/{planId}"),
// params its path parameters.
func (a *api) call(h httpapi.LambdaHandler, c access.Caller, routeKey string, params map[string]string, body string, headers map[string]string) (int, string) {
	a.t.Helper()
	method, path, _ := strings.Cut(routeKey, " ")
	for k, v := range params {
		path = strings.Replace(path, "{"+k+"}", v, 1)
	}
	hd := map[string]string{"content-type": "application/json"}
	for k, v := range headers {
		hd[k] = v
	}
	req := httpapi.Request{RouteKey: routeKey, RawPath: path, Body: body, Headers: hd, PathParameters: params}
	req.RequestContext.RequestID = "req-limits"
	req.RequestContext.HTTP.Method = method
	req = testkit.As(a.t, req, c)
	resp, err := h(context.Background(), req)
	if err != nil {
		a.t.Fatalf("%s: %v", routeKey, err)
	}
	return resp.StatusCode, resp.Body
}

func (a *api) must(h httpapi.LambdaHandler, c access.Caller, routeKey string, params map[string]string, body string) map[string]any {
	a.t.Helper()
	status, out := a.call(h, c, routeKey, params, body, nil)
	if status != 200 && status != 201 {
		a.t.Fatalf("%s %v %s: %d %s", routeKey, params, body, status, out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		a.t.Fatal(err)
	}
	return m
}

// supportIn is the operator switched into accountID: how support records
// usage in a customer account.
func (a *api) supportIn(accountID string) access.Caller {
	c := a.op
	c.AccountID, c.SupportReason = accountID, "ticket 15: check limits"
	return c
}

// shown is one metric's allowance as a readable string: "5", "usageBased:2"
// (the included amount), "unlimited".
func shown(v any) string {
	switch x := v.(type) {
	case float64:
		return fmt.Sprint(int64(x))
	case map[string]any:
		if x["unlimited"] == true {
			return "unlimited"
		}
		if x["usageBased"] == true {
			l, _ := x["limit"].(float64)
			return fmt.Sprintf("usageBased:%d", int64(l))
		}
	}
	return fmt.Sprintf("?%v", v)
}

// limitsShown are the effective limits GET /accounts/{id} shows.
func (a *api) limitsShown(accountID string) map[string]string {
	a.t.Helper()
	v := a.must(a.read, a.op, "GET /accounts/{accountId}", map[string]string{"accountId": accountID}, "")
	limits, _ := v["limits"].(map[string]any)
	raw, _ := limits["limits"].(map[string]any)
	out := map[string]string{}
	for m, x := range raw {
		out[m] = shown(x)
	}
	return out
}

// usageShown are the allowances GET /accounts/{id}/usage shows, in the
// same notation.
func (a *api) usageShown(accountID string) map[string]string {
	a.t.Helper()
	v := a.must(a.usageFn, a.op, "GET /accounts/{accountId}/usage", map[string]string{"accountId": accountID}, "")
	out := map[string]string{}
	for _, x := range v["metrics"].([]any) {
		m := x.(map[string]any)
		name := m["metric"].(string)
		switch {
		case m["unlimited"] == true:
			out[name] = "unlimited"
		case m["usageBased"] == true:
			out[name] = fmt.Sprintf("usageBased:%d", int64(m["limit"].(float64)))
		case m["limit"] != nil:
			out[name] = fmt.Sprint(int64(m["limit"].(float64)))
		default:
			out[name] = "none"
		}
	}
	return out
}

// record records amount of metric; it answers the status and the problem
// code (or "").
func (a *api) record(accountID, metric string, amount int64) (int, string, map[string]any) {
	a.t.Helper()
	status, body := a.call(a.usageFn, a.supportIn(accountID), "POST /accounts/{accountId}/usage", map[string]string{"accountId": accountID},
		fmt.Sprintf(`{"metric":%q,"amount":%d}`, metric, amount), nil)
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	code, _ := m["code"].(string)
	return status, code, m
}

// enforce records usage up to the edge of each limit shown: the last
// allowed record succeeds, the next is refused with 429
// usage_limit_reached; usage-based and unlimited never refuse and are
// counted; a metric shown nowhere is 422 unknown_metric.
func (a *api) enforce(accountID string, limits map[string]string) {
	a.t.Helper()
	metrics := make([]string, 0, len(limits))
	for m := range limits {
		metrics = append(metrics, m)
	}
	sort.Strings(metrics)
	for _, m := range metrics {
		switch l := limits[m]; {
		case l == "unlimited" || strings.HasPrefix(l, "usageBased:"):
			var included int64
			fmt.Sscanf(strings.TrimPrefix(l, "usageBased:"), "%d", &included)
			if included > 0 {
				if status, code, _ := a.record(accountID, m, included); status != 200 {
					a.t.Fatalf("%s (%s): the included amount refused: %d %s", m, l, status, code)
				}
			}
			status, code, body := a.record(accountID, m, usage.MaxAmount)
			if status != 200 || body["used"] != float64(included+usage.MaxAmount) {
				a.t.Fatalf("%s (%s) refused or miscounted: %d %s %v", m, l, status, code, body)
			}
			if strings.HasPrefix(l, "usageBased:") && body["overage"] != float64(usage.MaxAmount) {
				a.t.Fatalf("%s (%s): overage %v, want %d", m, l, body["overage"], usage.MaxAmount)
			}
			if status, code, _ := a.record(accountID, m, 1); status != 200 {
				a.t.Fatalf("%s (%s) refused past any limit: %d %s", m, l, status, code)
			}
		default:
			var limit int64
			if _, err := fmt.Sscanf(l, "%d", &limit); err != nil {
				a.t.Fatalf("%s: shown %q", m, l)
			}
			if limit > 1 {
				if status, code, _ := a.record(accountID, m, limit-1); status != 200 {
					a.t.Fatalf("%s: %d of %d refused: %d %s", m, limit-1, limit, status, code)
				}
			}
			if limit > 0 {
				if status, code, body := a.record(accountID, m, 1); status != 200 || body["used"] != float64(limit) || body["remaining"] != float64(0) {
					a.t.Fatalf("%s: the last allowed of %d: %d %s %v", m, limit, status, code, body)
				}
			}
			if status, code, body := a.record(accountID, m, 1); status != 429 || code != "usage_limit_reached" || body["limit"] != float64(limit) {
				a.t.Fatalf("%s: one past %d: %d %s %v", m, limit, status, code, body)
			}
		}
	}
	if status, _, body := a.record(accountID, "nowhere", 1); status != 422 || !strings.Contains(fmt.Sprint(body["errors"]), "unknown_metric") {
		a.t.Fatalf("a metric without an allowance: %d %v", status, body)
	}
}

// fieldErrors are a problem's field errors as "field=code", joined by ",".
func fieldErrors(body string) string {
	var p struct {
		Errors []struct{ Field, Code string }
	}
	_ = json.Unmarshal([]byte(body), &p)
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field+"="+e.Code)
	}
	return strings.Join(out, ",")
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The limits shown are the limits enforced, for every combination of a
// plan (or none: the default plan), overrides, and each allowance shape.
func TestLimitsShownAreLimitsEnforced(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.must(a.edit, a.op, "PUT /plans/{planId}", map[string]string{"planId": "pro"},
		`{"name":"Pro","limits":{"tasks":50,"webhooks":{"limit":20},"invoices":{"usageBased":true,"limit":4},"reports":{"unlimited":true}},"billingUnit":"invoices"}`)
	cases := []struct {
		name      string
		plan      string
		overrides string
		want      map[string]string
	}{
		{"no plan", "", ``, map[string]string{"tasks": "1000", "webhooks": "10000"}},
		{"no plan, numeric override", "", `{"tasks":5}`, map[string]string{"tasks": "5", "webhooks": "10000"}},
		{"no plan, usage-based and unlimited overrides, a custom metric", "",
			`{"tasks":{"usageBased":true,"limit":2},"webhooks":{"unlimited":true},"exports":3}`,
			map[string]string{"tasks": "usageBased:2", "webhooks": "unlimited", "exports": "3"}},
		{"the default plan named", "default", `{"webhooks":0}`, map[string]string{"tasks": "1000", "webhooks": "0"}},
		{"plan", "pro", ``, map[string]string{"tasks": "50", "webhooks": "20", "invoices": "usageBased:4", "reports": "unlimited"}},
		{"plan with overrides of every shape", "pro",
			`{"tasks":{"unlimited":true},"invoices":7,"reports":{"usageBased":true},"exports":2}`,
			map[string]string{"tasks": "unlimited", "webhooks": "20", "invoices": "7", "reports": "usageBased:0", "exports": "2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := *a
			a.t = t
			acct := a.env.AddAccount(t, a.ten, c.name)
			if c.plan != "" || c.overrides != "" {
				body := fmt.Sprintf(`{"planId":%q}`, c.plan)
				if c.overrides != "" {
					body = fmt.Sprintf(`{"planId":%q,"overrides":%s}`, c.plan, c.overrides)
				}
				a.must(a.edit, a.op, "PUT /accounts/{accountId}/plan", map[string]string{"accountId": acct}, body)
			}
			shownLimits := a.limitsShown(acct)
			if !equal(shownLimits, c.want) {
				t.Fatalf("GET /accounts shows %v, want %v", shownLimits, c.want)
			}
			if u := a.usageShown(acct); !equal(u, c.want) {
				t.Fatalf("GET usage shows %v, want %v", u, c.want)
			}
			a.enforce(acct, shownLimits)
		})
	}
}

// The default plan is a plan: listed before anyone wrote it (with the
// allowances enforced before it existed), edited with PUT /plans/default,
// and the edit changes what plan-less accounts show and what they may use,
// not the accounts with a plan of their own.
func TestEditingTheDefaultPlanChangesShownAndEnforced(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	list := a.must(a.read, a.op, "GET /plans", nil, "")
	plansListed := list["plans"].([]any)
	if len(plansListed) != 1 {
		t.Fatalf("plans of a new tenant: %v", plansListed)
	}
	d := plansListed[0].(map[string]any)
	if d["id"] != "default" || d["version"] != float64(0) || shown(d["limits"].(map[string]any)["tasks"]) != "1000" ||
		shown(d["limits"].(map[string]any)["webhooks"]) != "10000" {
		t.Fatalf("the default plan before it is written: %v", d)
	}
	a.must(a.edit, a.op, "PUT /plans/{planId}", map[string]string{"planId": "basic"}, `{"name":"Basic","limits":{"tasks":9}}`)
	planless, planned := a.env.AddAccount(t, a.ten, "Plan-less"), a.env.AddAccount(t, a.ten, "Basic")
	a.must(a.edit, a.op, "PUT /accounts/{accountId}/plan", map[string]string{"accountId": planned}, `{"planId":"basic"}`)

	p := a.must(a.edit, a.op, "PUT /plans/{planId}", map[string]string{"planId": "default"},
		`{"name":"Free","limits":{"tasks":3,"webhooks":{"unlimited":true},"bookings":{"usageBased":true}}}`)
	if p["version"] != float64(1) {
		t.Fatalf("the default plan written: %v", p)
	}
	want := map[string]string{"tasks": "3", "webhooks": "unlimited", "bookings": "usageBased:0"}
	if got := a.limitsShown(planless); !equal(got, want) {
		t.Fatalf("a plan-less account shows %v, want %v", got, want)
	}
	if got := a.usageShown(planless); !equal(got, want) {
		t.Fatalf("its usage shows %v, want %v", got, want)
	}
	a.enforce(planless, want)
	if got := a.limitsShown(planned); !equal(got, map[string]string{"tasks": "9"}) {
		t.Fatalf("an account with its own plan shows %v", got)
	}
	a.enforce(planned, map[string]string{"tasks": "9"})

	list = a.must(a.read, a.op, "GET /plans", nil, "")
	if n := len(list["plans"].([]any)); n != 2 {
		t.Fatalf("plans listed: %d", n)
	}
	// A write with a stale ETag changes nothing.
	status, body := a.call(a.edit, a.op, "PUT /plans/{planId}", map[string]string{"planId": "default"}, `{"name":"Lost","limits":{"tasks":1}}`,
		map[string]string{"if-match": `"7"`})
	if status != 412 {
		t.Fatalf("a write over the default plan with a stale ETag: %d %s", status, body)
	}
	if got := a.limitsShown(planless); got["tasks"] != "3" {
		t.Fatalf("after a refused write: %v", got)
	}
}

// A tenant whose usage defaults an older version stored sees them as its
// default plan, and they are what is enforced, until the plan is written.
func TestStoredUsageDefaultsAreTheDefaultPlanUntilWritten(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	if err := usage.SaveAllowances(context.Background(), a.env.Store, a.ten.Tenant, "", map[string]usage.Allowance{"tasks": {Limit: 7}}, a.env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"tasks": "7", "webhooks": "10000"}
	if got := a.limitsShown(a.ten.AccountID); !equal(got, want) {
		t.Fatalf("shows %v, want %v", got, want)
	}
	a.enforce(a.ten.AccountID, map[string]string{"tasks": "7"})
}

// Bad allowance shapes are 422 naming the field, and nothing is written.
func TestBadAllowancesAreRefused(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	acct := a.env.AddAccount(t, a.ten, "Target")
	a.must(a.edit, a.op, "PUT /accounts/{accountId}/plan", map[string]string{"accountId": acct}, `{"planId":"","overrides":{"tasks":5}}`)
	before := a.must(a.read, a.op, "GET /accounts/{accountId}", map[string]string{"accountId": acct}, "")
	bad := map[string]string{
		`"many"`:                               "invalid_allowance",
		`null`:                                 "invalid_allowance",
		`{}`:                                   "invalid_allowance",
		`{"lim":5}`:                            "invalid_allowance",
		`{"unlimited":true,"limit":5}`:         "conflicting_allowance",
		`{"unlimited":true,"usageBased":true}`: "conflicting_allowance",
		`-1`:                                   "out_of_range",
		`1.5`:                                  "out_of_range",
		`{"usageBased":true,"limit":-2}`:       "out_of_range",
		`1000000001`:                           "out_of_range",
		`{"limit":99999999999999999999999999999}`: "invalid_allowance",
	}
	for shape, code := range bad {
		for _, planID := range []string{"default", "fresh"} {
			status, body := a.call(a.edit, a.op, "PUT /plans/{planId}", map[string]string{"planId": planID},
				fmt.Sprintf(`{"name":"X","limits":{"tasks":%s,"webhooks":10}}`, shape), nil)
			if status != 422 || fieldErrors(body) != "limits.tasks="+code {
				t.Fatalf("plan %s tasks %s: %d %s", planID, shape, status, body)
			}
		}
		status, body := a.call(a.edit, a.op, "PUT /accounts/{accountId}/plan", map[string]string{"accountId": acct},
			fmt.Sprintf(`{"planId":"","overrides":{"tasks":%s}}`, shape), nil)
		if status != 422 || fieldErrors(body) != "overrides.tasks="+code {
			t.Fatalf("override tasks %s: %d %s", shape, status, body)
		}
	}
	status, body := a.call(a.edit, a.op, "PUT /accounts/{accountId}/plan", map[string]string{"accountId": acct},
		`{"planId":"","overrides":{"licence:office":{"unlimited":true}}}`, nil)
	if status != 422 || fieldErrors(body) != "overrides.licence:office=invalid_seats" {
		t.Fatalf("a licence override that is not a seat count: %d %s", status, body)
	}
	// Nothing was written: one default plan, unwritten; the account as it was.
	list := a.must(a.read, a.op, "GET /plans", nil, "")
	if ps := list["plans"].([]any); len(ps) != 1 || ps[0].(map[string]any)["version"] != float64(0) {
		t.Fatalf("plans after refusals: %v", ps)
	}
	after := a.must(a.read, a.op, "GET /accounts/{accountId}", map[string]string{"accountId": acct}, "")
	if after["version"] != before["version"] || shown(after["limits"].(map[string]any)["limits"].(map[string]any)["tasks"]) != "5" {
		t.Fatalf("account after refusals: %v", after)
	}
	a.enforce(acct, map[string]string{"tasks": "5"})
}
