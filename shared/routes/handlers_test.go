package routes_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	accepth "github.com/acme/accountadmin/functions/accept/handler"
	accountsh "github.com/acme/accountadmin/functions/accounts/handler"
	authh "github.com/acme/accountadmin/functions/auth/handler"
	deleteh "github.com/acme/accountadmin/functions/delete/handler"
	edith "github.com/acme/accountadmin/functions/edit/handler"
	inviteh "github.com/acme/accountadmin/functions/invite/handler"
	linkh "github.com/acme/accountadmin/functions/link/handler"
	reassignh "github.com/acme/accountadmin/functions/reassign/handler"
	usageh "github.com/acme/accountadmin/functions/usage-reset/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/testkit"
)

// The route table is the truth about each route: these tests build every
// function's HTTP handler as its main.go does and ask it, so that a row
// without a handler, a handler on another function's row, or a handler
// that bounds its body differently from its row fails here.

// httpFunctions builds the HTTP handler of every function that serves
// routes, as its main.go does. A function added to the table needs a line
// here (TestEveryFunctionServesExactlyItsRows says so).
func httpFunctions(d app.Deps) map[string]httpapi.LambdaHandler {
	return map[string]httpapi.LambdaHandler{
		"auth":        authh.New(d.Service()),
		"invite":      inviteh.New(d.Service()),
		"accept":      accepth.New(d.Service()),
		"usage-reset": usageh.NewHTTP(d.Service()),
		"link":        linkh.New(d.Service()),
		"reassign":    reassignh.NewHTTP(d.Service()),
		"accounts":    accountsh.New(d.Service()),
		"edit":        edith.New(d.Service()),
		"delete":      deleteh.New(d.Service()),
	}
}

// notRouted is a route key that no table row has: the answer to it is what
// a function says for a key it does not register.
const notRouted = "GET /routes-test/not-routed"

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// request is a request for key as API Gateway delivers it, with every path
// parameter filled (ids of nothing), and the caller when c is not nil.
func request(t testing.TB, key string, c *access.Caller, body string) httpapi.Request {
	method, path, _ := strings.Cut(key, " ")
	params := map[string]string{}
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		params[m[1]] = "no-such-" + strings.ToLower(m[1])
	}
	req := httpapi.Request{
		RouteKey:       key,
		RawPath:        pathParam.ReplaceAllString(path, "no-such-$1"),
		Headers:        map[string]string{"content-type": "application/json"},
		PathParameters: params,
		Body:           body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:  key,
			RequestID: "routes-test",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "192.0.2.1"},
		},
	}
	if c != nil {
		req = testkit.As(t, req, *c)
	}
	return req
}

type problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// registers asks h whether it serves key: a key it does not register is
// answered exactly as notRouted is, with key in place of notRouted.
func registers(t *testing.T, h httpapi.LambdaHandler, key string) bool {
	t.Helper()
	ctx := context.Background()
	ref, _ := h(ctx, request(t, notRouted, nil, ""))
	var refBody problem
	if err := json.Unmarshal([]byte(ref.Body), &refBody); err != nil || ref.StatusCode != http.StatusNotFound ||
		!strings.Contains(refBody.Detail, notRouted) {
		t.Fatalf("%s answers %d %s: want a 404 naming the key", notRouted, ref.StatusCode, ref.Body)
	}
	resp, _ := h(ctx, request(t, key, nil, ""))
	var got problem
	_ = json.Unmarshal([]byte(resp.Body), &got)
	unrouted := resp.StatusCode == ref.StatusCode && got.Code == refBody.Code &&
		got.Detail == strings.ReplaceAll(refBody.Detail, notRouted, key)
	return !unrouted
}

func TestEveryFunctionServesExactlyItsRows(t *testing.T) {
	// GIVEN every function's handler and the route table
	env := testkit.New(t)
	handlers := httpFunctions(env.Deps)
	want := map[string][]string{}
	for _, r := range routes.Table {
		want[r.Function] = append(want[r.Function], r.Key())
	}
	// THEN every function of the table has a handler
	for fn := range want {
		if handlers[fn] == nil {
			t.Errorf("the route table routes to %s, which has no HTTP handler (add it to httpFunctions)", fn)
		}
	}
	for fn, h := range handlers {
		// AND each handler registers exactly its function's rows: no row
		// without a handler, and no other function's route
		var got []string
		for _, r := range routes.Table {
			if registers(t, h, r.Key()) {
				got = append(got, r.Key())
			}
		}
		sort.Strings(got)
		w := slices.Clone(want[fn])
		sort.Strings(w)
		for _, key := range w {
			if !slices.Contains(got, key) {
				t.Errorf("%s: the table routes %s to it, but its handler does not register it", fn, key)
			}
		}
		for _, key := range got {
			if !slices.Contains(w, key) {
				t.Errorf("%s: its handler registers %s, which the table routes elsewhere", fn, key)
			}
		}
	}
}

func TestEveryHandlerBoundsItsBodyAsItsRowSays(t *testing.T) {
	// GIVEN every function's handler, and an operator of a tenant who is
	// also an Admin of its account (so that no route refuses the caller
	// before it reads the body)
	env := testkit.New(t)
	ten := env.NewTenant(t)
	handlers := httpFunctions(env.Deps)
	env.MakeOperator(t, ten, ten.AdminID)
	operator := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "routes-test", AccountID: ten.AccountID,
		Roles: []string{access.RoleAdmin}, Operator: true}
	for _, r := range routes.Table {
		if r.BodyLimit == 0 {
			continue
		}
		h := handlers[r.Function]
		if h == nil {
			continue // reported by TestEveryFunctionServesExactlyItsRows
		}
		var c *access.Caller
		if r.Auth {
			c = &operator
		}
		encodings := []bodyEncoding{{"application/json", padded}}
		if slices.Contains(formRoutes, r.Key()) {
			encodings = append(encodings, bodyEncoding{"application/x-www-form-urlencoded", paddedForm})
		}
		for _, enc := range encodings {
			// WHEN it is sent a body one byte over its row's limit
			req := request(t, r.Key(), c, enc.body(r.BodyLimit+1))
			req.Headers["content-type"] = enc.contentType
			over, _ := h(context.Background(), req)
			// THEN it answers 413
			if over.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%s: a body (%s) of BodyLimit+1 = %d bytes answers %d %s, want 413",
					r.Key(), enc.contentType, r.BodyLimit+1, over.StatusCode, over.Body)
			}
			// AND a body of exactly the limit is read, whatever it then answers
			req.Body = enc.body(r.BodyLimit)
			at, _ := h(context.Background(), req)
			if at.StatusCode == http.StatusRequestEntityTooLarge {
				t.Errorf("%s: a body (%s) of BodyLimit = %d bytes answers 413: %s", r.Key(), enc.contentType, r.BodyLimit, at.Body)
			}
		}
	}
}

// formRoutes also take an HTML form post: the invitation page works
// without script.
var formRoutes = []string{"POST /invitations/accept"}

type bodyEncoding struct {
	contentType string
	body        func(n int) string // a well-formed body of n bytes
}

// padded is an empty JSON object padded with spaces to n bytes.
func padded(n int) string { return "{}" + strings.Repeat(" ", n-2) }

// paddedForm is a form of one token field, n bytes long.
func paddedForm(n int) string { return "token=" + strings.Repeat("x", n-len("token=")) }

func TestEveryAuthorizedRowOfEveryHandlerNeedsACaller(t *testing.T) {
	// GIVEN every function's handler, as its main.go builds it
	env := testkit.New(t)
	handlers := httpFunctions(env.Deps)
	for _, r := range routes.Table {
		h := handlers[r.Function]
		if !r.Auth || h == nil {
			continue
		}
		// WHEN an authorized row is called without a credential, or with a
		// token no session has (a body of its limit included)
		for _, auth := range []string{"", "Bearer " + "no-such-session"} {
			req := request(t, r.Key(), nil, "")
			if r.BodyLimit > 0 {
				req.Body = padded(r.BodyLimit)
			}
			if auth != "" {
				req.Headers["authorization"] = auth
			}
			resp, err := h(context.Background(), req)
			// THEN it answers 401 problem+json before its operation runs
			var p problem
			_ = json.Unmarshal([]byte(resp.Body), &p)
			if err != nil || resp.StatusCode != http.StatusUnauthorized || p.Code != "unauthenticated" {
				t.Errorf("%s with %q: %d %s %v, want 401 unauthenticated", r.Key(), auth, resp.StatusCode, resp.Body, err)
			}
		}
	}
}
