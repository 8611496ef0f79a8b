package httpapi_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/testkit"
)

// Every function's rows, each registered with an operation that checks
// nothing and counts its runs: an authorized row never runs without a
// valid credential (none, another scheme, an unknown token), and runs with
// the session's caller once there is one; a public row runs without a
// caller. What protects the operation is its row, not its code.
func TestServerNeverRunsAnAuthorizedOperationWithoutACaller(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	sessions := &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	signed, err := sessions.SignIn(context.Background(), auth.SignIn{Tenant: ten.Tenant, Email: ten.AdminEmail, Password: testkit.Password})
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	callers := map[string]access.Caller{}
	op := func(_ context.Context, in httpapi.In) (httpapi.Response, error) {
		runs[in.Row.Op]++
		callers[in.Row.Op] = in.Caller
		return httpapi.NoContent(), nil
	}
	served := map[string]httpapi.LambdaHandler{}
	for _, r := range routes.Table {
		if served[r.Function] == nil {
			served[r.Function] = httpapi.Server{Log: env.Log, Sessions: sessions,
				Idempotency: httpapi.Idempotency{Store: env.Store, Clock: env.Clock}}.Serve(opsOf(r.Key(), op, op))
		}
	}
	for _, r := range routes.Table {
		serve := served[r.Function]
		if !r.Auth {
			if resp, _ := serve(context.Background(), httpapi.Request{RouteKey: r.Key()}); resp.StatusCode != http.StatusNoContent ||
				runs[r.Op] != 1 || callers[r.Op].UserID != "" {
				t.Errorf("public %s: %d, ran %d with %+v, want once without a caller", r.Key(), resp.StatusCode, runs[r.Op], callers[r.Op])
			}
			continue
		}
		for name, headers := range map[string]map[string]string{
			"no credential":    nil,
			"another scheme":   {"authorization": "Basic YWRtaW46cHc="},
			"an unknown token": {"authorization": "Bearer " + ten.ID() + "." + strings.Repeat("A", 43)},
		} {
			resp, err := serve(context.Background(), httpapi.Request{RouteKey: r.Key(), Headers: headers})
			if code, _ := problem(t, resp); err != nil || resp.StatusCode != http.StatusUnauthorized || code != "unauthenticated" {
				t.Errorf("%s with %s: %d %s %v, want 401 unauthenticated", r.Key(), name, resp.StatusCode, code, err)
			}
		}
		if runs[r.Op] != 0 {
			t.Fatalf("the operation of %s (Auth) ran %d times without a valid credential", r.Key(), runs[r.Op])
		}
		headers := map[string]string{"authorization": testkit.Bearer(signed.Token), "content-type": "application/json"}
		resp, _ := serve(context.Background(), httpapi.Request{RouteKey: r.Key(), Headers: headers})
		if resp.StatusCode != http.StatusNoContent || runs[r.Op] != 1 || callers[r.Op].UserID != ten.AdminID {
			t.Errorf("%s with a session: %d %s, ran %d with %+v, want once with the admin", r.Key(), resp.StatusCode, resp.Body, runs[r.Op], callers[r.Op])
		}
	}
}

// An operation that decodes, wraps and parses nothing still has its row's
// options applied: a body over BodyLimit is 413 before it runs (plain and
// base64), a body at the limit runs; If-Match arrives parsed (a malformed
// one is 400 before it runs); a repeated Idempotency-Key replays the first
// answer without running again, the same key with another request is 422,
// and an answer marked no-store is never stored, so its retry runs again.
// A row that is not Idempotent ignores Idempotency-Key.
func TestServerAppliesTheRowsOptions(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	var row, plain routes.Route // Idempotent, IfMatch and a body; and one neither Idempotent nor with a body
	for _, r := range routes.Table {
		if r.Auth && r.Idempotent && r.IfMatch && r.BodyLimit > 0 && row.Op == "" {
			row = r
		}
	}
	for _, r := range routes.Table {
		if r.Function == row.Function && r.Auth && !r.Idempotent && r.BodyLimit == 0 && plain.Op == "" {
			plain = r
		}
	}
	if row.Op == "" || plain.Op == "" {
		t.Fatal("the route table needs an authorized row with Idempotent, IfMatch and a body, and a plain row of its function")
	}
	var runs atomic.Int64
	var ifMatch int64
	op := func(_ context.Context, in httpapi.In) (httpapi.Response, error) {
		n := runs.Add(1)
		ifMatch = in.IfMatch
		resp := httpapi.JSON(http.StatusOK, map[string]int64{"run": n})
		if strings.Contains(in.Body, "secret") {
			resp.Headers["Cache-Control"] = "no-store"
		}
		return resp, nil
	}
	serve := httpapi.Server{Log: env.Log, Sessions: &auth.Service{Store: env.Store, Clock: env.Clock},
		Idempotency: httpapi.Idempotency{Store: env.Store, Clock: env.Clock}}.Serve(opsOf(row.Key(), op, op))
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, AccountID: ten.AccountID}
	token := env.Session(t, admin)
	call := func(r routes.Route, body string, headers ...string) httpapi.Response {
		t.Helper()
		req := httpapi.Request{RouteKey: r.Key(), RawPath: "/x", Body: body,
			Headers: map[string]string{"authorization": testkit.Bearer(token), "content-type": "application/json"}}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Headers[headers[i]] = headers[i+1]
		}
		if strings.HasPrefix(body, "base64:") {
			req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(strings.TrimPrefix(body, "base64:"))), true
		}
		resp, err := serve(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	ran := func(want int64, what string) {
		t.Helper()
		if got := runs.Swap(0); got != want {
			t.Errorf("%s: the operation ran %d times, want %d", what, got, want)
		}
	}
	padded := func(n int) string { return "{}" + strings.Repeat(" ", n-2) }

	// BodyLimit
	for _, over := range []string{padded(row.BodyLimit + 1), "base64:" + padded(row.BodyLimit+1)} {
		resp := call(row, over)
		if code, detail := problem(t, resp); resp.StatusCode != http.StatusRequestEntityTooLarge || code != "body_too_large" ||
			!strings.Contains(detail, strconv.Itoa(row.BodyLimit)) {
			t.Errorf("a body of %d bytes: %d %s %q, want 413 body_too_large naming the limit", row.BodyLimit+1, resp.StatusCode, code, detail)
		}
	}
	ran(0, "bodies over the limit")
	for _, at := range []string{padded(row.BodyLimit), "base64:" + padded(row.BodyLimit)} {
		if resp := call(row, at); resp.StatusCode != http.StatusOK {
			t.Errorf("a body of exactly %d bytes: %d %s", row.BodyLimit, resp.StatusCode, resp.Body)
		}
	}
	ran(2, "bodies at the limit")

	// IfMatch
	if resp := call(row, "{}", "if-match", `"7"`); resp.StatusCode != http.StatusOK || ifMatch != 7 {
		t.Errorf(`If-Match "7": %d, the operation got %d`, resp.StatusCode, ifMatch)
	}
	resp := call(row, "{}", "if-match", "7")
	if code, _ := problem(t, resp); resp.StatusCode != http.StatusBadRequest || code != "bad_if_match" {
		t.Errorf("a malformed If-Match: %d %s, want 400 bad_if_match", resp.StatusCode, code)
	}
	ran(1, "If-Match")

	// Idempotent
	first := call(row, `{"a":1}`, "idempotency-key", "k1")
	again := call(row, `{"a":1}`, "idempotency-key", "k1")
	if again.StatusCode != first.StatusCode || again.Body != first.Body || again.Headers["Idempotent-Replayed"] != "true" {
		t.Errorf("a retry: %d %s %v, want the first answer (%s) replayed", again.StatusCode, again.Body, again.Headers, first.Body)
	}
	resp = call(row, `{"a":2}`, "idempotency-key", "k1")
	if code, _ := problem(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || code != "idempotency_key_reused" {
		t.Errorf("another request under the key: %d %s, want 422 idempotency_key_reused", resp.StatusCode, code)
	}
	ran(1, "a request and its retry")
	for range 2 {
		if resp := call(row, `{"secret":1}`, "idempotency-key", "k2"); resp.StatusCode != http.StatusOK || resp.Headers["Idempotent-Replayed"] != "" {
			t.Errorf("a no-store answer's retry: %d %v, want it run again", resp.StatusCode, resp.Headers)
		}
	}
	ran(2, "a no-store answer and its retry")
	for range 2 {
		if resp := call(plain, "", "idempotency-key", "k3"); resp.StatusCode != http.StatusOK || resp.Headers["Idempotent-Replayed"] != "" {
			t.Errorf("%s (not Idempotent) with a key: %d %v", plain.Key(), resp.StatusCode, resp.Headers)
		}
	}
	ran(2, "a row that is not Idempotent")
}

// JSONBody decodes strictly within the row's limit; OptionalJSONBody also
// takes no body at all.
func TestJSONBodyDecodesWithinTheRow(t *testing.T) {
	row := routes.Route{BodyLimit: 32}
	type body struct {
		Name string `json:"name"`
	}
	var got body
	fn := func(_ context.Context, _ httpapi.In, b body) (httpapi.Response, error) {
		got = b
		return httpapi.NoContent(), nil
	}
	in := func(b string) httpapi.In { return httpapi.In{Request: httpapi.Request{Body: b}, Row: row} }
	for _, c := range []struct {
		op      httpapi.Operation
		body    string
		wantErr string // the problem code, or "" for none
		want    string
	}{
		{httpapi.JSONBody(fn), `{"name":"a"}`, "", "a"},
		{httpapi.JSONBody(fn), ``, "empty_body", ""},
		{httpapi.JSONBody(fn), `{"other":1}`, "validation_failed", ""},
		{httpapi.JSONBody(fn), `{"name":"` + strings.Repeat("x", 40) + `"}`, "body_too_large", ""},
		{httpapi.OptionalJSONBody(fn), ` `, "", ""},
		{httpapi.OptionalJSONBody(fn), `{"name":"b"}`, "", "b"},
		{httpapi.OptionalJSONBody(fn), `{"name":`, "malformed_json", ""},
	} {
		got = body{}
		_, err := c.op(context.Background(), in(c.body))
		code := ""
		if e, ok := apperr.As(err); ok {
			code = e.Code
		}
		if code != c.wantErr || got.Name != c.want {
			t.Errorf("%q: error %q, name %q; want %q, %q", c.body, code, got.Name, c.wantErr, c.want)
		}
	}
}

// Serve refuses at start what would leave a row unserved or served by the
// wrong function: an operation the table does not have, operations of two
// functions, a row of the function without its operation, an Idempotent
// row without a store, and an authorized row without Sessions.
func TestServerRefusesAnIncompleteRegistration(t *testing.T) {
	op := func(context.Context, httpapi.In) (httpapi.Response, error) { return httpapi.NoContent(), nil }
	var idempotent routes.Route
	for _, r := range routes.Table {
		if r.Idempotent {
			idempotent = r
			break
		}
	}
	all := opsOf(idempotent.Key(), op, op)
	missing := httpapi.Ops{}
	for name, o := range all {
		missing[name] = o
	}
	delete(missing, idempotent.Op)
	twoFunctions := httpapi.Ops{}
	for name, o := range all {
		twoFunctions[name] = o
	}
	for _, r := range routes.Table {
		if r.Function != idempotent.Function {
			twoFunctions[r.Op] = op
			break
		}
	}
	unknown := httpapi.Ops{"noSuchOperation": op}
	for name, o := range all {
		unknown[name] = o
	}
	store := testkit.New(t)
	for name, c := range map[string]struct {
		server httpapi.Server
		ops    httpapi.Ops
	}{
		"an unknown operation": {httpapi.Server{Sessions: noSessions{}, Idempotency: httpapi.Idempotency{Store: store.Store}}, unknown},
		"two functions":        {httpapi.Server{Sessions: noSessions{}, Idempotency: httpapi.Idempotency{Store: store.Store}}, twoFunctions},
		"a missing operation":  {httpapi.Server{Sessions: noSessions{}, Idempotency: httpapi.Idempotency{Store: store.Store}}, missing},
		"no Idempotency store": {httpapi.Server{Sessions: noSessions{}}, all},
		"no Sessions":          {httpapi.Server{Idempotency: httpapi.Idempotency{Store: store.Store}}, all},
		"no operations":        {httpapi.Server{}, httpapi.Ops{}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Serve did not refuse it", name)
				}
			}()
			c.server.Serve(c.ops)
		}()
	}
	// The complete registration is served.
	httpapi.Server{Sessions: noSessions{}, Idempotency: httpapi.Idempotency{Store: store.Store}}.Serve(all)
}
