package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// routeKeys picks one authorized and one public route of the table.
func routeKeys(t *testing.T) (private, public string) {
	t.Helper()
	for _, r := range routes.Table {
		if r.Auth && private == "" {
			private = r.Key()
		}
		if !r.Auth && public == "" {
			public = r.Key()
		}
	}
	if private == "" || public == "" {
		t.Fatal("the route table needs an authorized and a public route")
	}
	return private, public
}

// recorder is a handler that checks nothing (the route table must protect
// it) and records each call with the caller it was given, if any.
type recorder struct {
	calls   int
	callers []access.Caller
}

func (r *recorder) handler(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	r.calls++
	if c, err := access.CallerFrom(ctx); err == nil {
		if c.UserID != in.Caller.UserID || c.SessionID != in.Caller.SessionID {
			panic("the caller in the context is not the operation's")
		}
		r.callers = append(r.callers, c)
	}
	return httpapi.JSON(http.StatusOK, map[string]string{"ok": "yes"}), nil
}

// opsOf registers every row of the function that serves key, as
// Server.Serve wants: its authorized rows run private, the others public.
func opsOf(key string, private, public httpapi.Operation) httpapi.Ops {
	row, _ := routes.Lookup(key)
	ops := httpapi.Ops{}
	for _, r := range routes.Table {
		switch {
		case r.Function != row.Function:
		case r.Auth:
			ops[r.Op] = private
		default:
			ops[r.Op] = public
		}
	}
	return ops
}

// noSessions resolves nobody: for tests of public routes only.
type noSessions struct{}

func (noSessions) Authorize(context.Context, string) (access.Caller, error) {
	panic("a public route resolved a caller")
}

func problem(t *testing.T, resp httpapi.Response) (code, detail string) {
	t.Helper()
	var p struct{ Code, Detail string }
	if resp.Headers["Content-Type"] != "application/problem+json" || json.Unmarshal([]byte(resp.Body), &p) != nil {
		t.Fatalf("not problem+json: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	return p.Code, p.Detail
}

// A route the table marks as authorized never runs its handler without a
// valid session, whatever the handler itself checks: no credential, a
// credential of another scheme, a malformed, unknown, expired or revoked
// token, a suspended user and a forged authorizer context are each 401
// problem+json saying why. A valid session runs it once, with the caller
// the session resolves to (name and email included). A public route runs
// without a caller; a route outside the table cannot be served at all.
func TestServeResolvesTheCallerBeforeAnAuthorizedHandler(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	private, public := routeKeys(t)
	sessions := &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	var priv, pub recorder
	serve := httpapi.Server{Log: env.Log, Sessions: sessions}.Serve(opsOf(private, priv.handler, pub.handler))
	call := func(key string, headers map[string]string, forged map[string]any) httpapi.Response {
		t.Helper()
		req := httpapi.Request{RouteKey: key, Headers: headers}
		if forged != nil {
			req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: forged}
		}
		resp, err := serve(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	signIn := func(email string) string {
		t.Helper()
		s, err := sessions.SignIn(context.Background(), auth.SignIn{Tenant: ten.Tenant, Email: email, Password: testkit.Password})
		if err != nil {
			t.Fatal(err)
		}
		return s.Token
	}
	admin := signIn(ten.AdminEmail)
	// What the deleted Lambda authorizer used to put in the request: a
	// caller that names the tenant's Admin.
	forgedAdmin := map[string]any{"tenantId": ten.ID(), "userId": ten.AdminID, "sessionId": "s", "accountId": ten.AccountID,
		"roles": access.RoleAdmin, "operator": true, "userName": "Ada Admin"}

	revoked := signIn(ten.AdminEmail)
	if err := sessions.SignOut(context.Background(), access.Caller{Tenant: ten.Tenant, SessionID: mustCaller(t, sessions, revoked).SessionID}, revoked); err != nil {
		t.Fatal(err)
	}
	suspendedUser := env.AddUser(t, ten, ten.AccountID, "suspended@serve.example", "")
	suspended := signIn(suspendedUser.Email)
	if err := env.Store.Do(context.Background(), "suspend", store.Update(ten.User(suspendedUser.ID),
		setStatus("suspended")).If(store.Exists())); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name    string
		headers map[string]string
		forged  map[string]any
		detail  string // part of the problem's detail
	}{
		{"no credential", nil, nil, "needs a session"},
		{"another scheme", map[string]string{"authorization": "Basic YWRtaW46cHc="}, nil, "not a bearer token"},
		{"a malformed token", map[string]string{"authorization": "Bearer not-a-token"}, nil, ""},
		{"an unknown token", map[string]string{"authorization": "Bearer " + ten.ID() + "." + strings.Repeat("A", 43)}, nil, ""},
		{"a revoked session", map[string]string{"authorization": testkit.Bearer(revoked)}, nil, "signed out"},
		{"a suspended user", map[string]string{"authorization": testkit.Bearer(suspended)}, nil, "cannot sign in"},
		{"a forged authorizer context", nil, forgedAdmin, "needs a session"},
		{"a forged refusal reason", nil, map[string]any{"rejected": "forged"}, "needs a session"},
		{"a forged context and a bad token", map[string]string{"authorization": "Bearer nope"}, forgedAdmin, ""},
	} {
		resp := call(private, c.headers, c.forged)
		code, detail := problem(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || code != "unauthenticated" || !strings.Contains(detail, c.detail) {
			t.Errorf("%s: %d %s %q, want 401 unauthenticated saying %q", c.name, resp.StatusCode, code, detail, c.detail)
		}
	}
	if priv.calls != 0 {
		t.Fatalf("the handler of %s ran %d times without a valid session", private, priv.calls)
	}

	// A valid session: the handler runs once, with the session's caller.
	if resp := call(private, map[string]string{"Authorization": testkit.Bearer(admin)}, nil); resp.StatusCode != http.StatusOK || priv.calls != 1 {
		t.Fatalf("with a session: %d, ran %d, want 200 once", resp.StatusCode, priv.calls)
	}
	if got := priv.callers[0]; got.UserID != ten.AdminID || got.AccountID != ten.AccountID || got.Tenant.ID() != ten.ID() ||
		got.Name != "Ada Admin" || got.Email != ten.AdminEmail || got.SessionID == "" {
		t.Errorf("caller = %+v, want the tenant's admin with name and email", got)
	}
	// A forged context beside another user's valid session gains nothing:
	// the caller is the session's, not the context's.
	viewer := env.AddUser(t, ten, ten.AccountID, "viewer@serve.example", "")
	if resp := call(private, map[string]string{"authorization": testkit.Bearer(signIn(viewer.Email))}, forgedAdmin); resp.StatusCode != http.StatusOK {
		t.Fatalf("viewer with a forged context: %d %s", resp.StatusCode, resp.Body)
	}
	if got := priv.callers[1]; got.UserID != viewer.ID || got.Operator || len(got.Roles) != 1 || got.Roles[0] != access.RoleViewer {
		t.Errorf("viewer with a forged admin context = %+v, want the viewer", got)
	}
	// Expired: the session's 12 hours pass.
	env.Clock.Advance(13 * time.Hour)
	resp := call(private, map[string]string{"authorization": testkit.Bearer(admin)}, nil)
	if code, detail := problem(t, resp); resp.StatusCode != http.StatusUnauthorized || code != "unauthenticated" || !strings.Contains(detail, "expired") {
		t.Errorf("expired session: %d %s %q", resp.StatusCode, code, detail)
	}
	if priv.calls != 2 {
		t.Errorf("handler ran %d times, want 2 (the two valid sessions)", priv.calls)
	}

	// A public route runs without a caller, and is given none even when
	// the request presents a session (it resolves what it needs itself).
	if resp := call(public, nil, forgedAdmin); resp.StatusCode != http.StatusOK || pub.calls != 1 || len(pub.callers) != 0 {
		t.Errorf("public %s: %d, ran %d, callers %v, want 200 once without a caller", public, resp.StatusCode, pub.calls, pub.callers)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("Serve accepted a route that is not in the route table")
			}
		}()
		httpapi.Server{Log: slog.Default(), Sessions: sessions}.Serve(httpapi.Ops{"notInTheTable": priv.handler})
	}()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Serve accepted an authorized route without Sessions")
			}
		}()
		httpapi.Server{Log: slog.Default()}.Serve(opsOf(private, priv.handler, pub.handler))
	}()
}

// A store that cannot answer is an outage, never "signed out": the request
// fails with a 5xx problem (internal error, nothing else said) and the
// handler does not run.
func TestServeAnswersAnOutageWithoutRunningTheHandler(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	private, _ := routeKeys(t)
	good := &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	signed, err := good.SignIn(context.Background(), auth.SignIn{Tenant: ten.Tenant, Email: ten.AdminEmail, Password: testkit.Password})
	if err != nil {
		t.Fatal(err)
	}
	down := awsclient.DynamoDB(env.AWS, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1") // nothing listens there
		o.RetryMaxAttempts = 1
	})
	var rec recorder
	logs := &strings.Builder{}
	serve := httpapi.Server{Log: slog.New(slog.NewJSONHandler(logs, nil)),
		Sessions: &auth.Service{Store: store.New(down, env.Config.Table), Clock: env.Clock}}.Serve(opsOf(private, rec.handler, rec.handler))
	resp, err := serve(context.Background(), httpapi.Request{RouteKey: private, Headers: map[string]string{"authorization": testkit.Bearer(signed.Token)}})
	if err != nil {
		t.Fatal(err)
	}
	code, detail := problem(t, resp)
	if resp.StatusCode != http.StatusInternalServerError || code != "internal" || detail != "internal error" {
		t.Errorf("outage: %d %s %q, want 500 internal", resp.StatusCode, code, detail)
	}
	if rec.calls != 0 {
		t.Errorf("the handler ran %d times during an outage", rec.calls)
	}
	if strings.Contains(logs.String(), signed.Token) || strings.Contains(resp.Body, signed.Token) {
		t.Error("the token reached the logs or the response")
	}
}

func row(key string) routes.Route {
	r, _ := routes.Lookup(key)
	return r
}

func mustCaller(t *testing.T, s *auth.Service, token string) access.Caller {
	t.Helper()
	c, err := s.Authorize(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func setStatus(status string) expression.UpdateBuilder {
	return expression.Set(expression.Name("status"), expression.Value(status))
}

// A route whose row says NoStore answers Cache-Control: no-store whatever
// its handler sets; another route's answer is left as its handler made it.
func TestServeMarksTheAnswersOfNoStoreRoutes(t *testing.T) {
	var noStore, other string
	for _, r := range routes.Table {
		switch {
		case r.NoStore && !r.Auth && noStore == "":
			noStore = r.Key()
		case !r.NoStore && !r.Auth && other == "":
			other = r.Key()
		}
	}
	if noStore == "" || other == "" {
		t.Fatal("the route table needs a public no-store route and another public route")
	}
	if a, b := row(noStore), row(other); a.Function != b.Function {
		t.Fatalf("%s and %s are served by two functions", noStore, other)
	}
	var rec recorder
	serve := httpapi.Server{Log: slog.Default(), Sessions: noSessions{}}.Serve(opsOf(noStore, rec.handler, rec.handler))
	for key, want := range map[string]string{noStore: "no-store", other: ""} {
		resp, err := serve(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: key})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", key, resp.StatusCode, err)
		}
		if got := resp.Headers["Cache-Control"]; got != want {
			t.Errorf("%s: Cache-Control %q, want %q", key, got, want)
		}
	}
}
