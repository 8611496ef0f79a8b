package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
)

// A route the table marks as authorized never runs its handler without a
// resolved caller, whatever the handler itself checks; a public route
// does; a route outside the table cannot be served at all.
func TestServeRefusesAuthorizedRoutesWithoutACaller(t *testing.T) {
	var public, private string
	for _, r := range routes.Table {
		if r.Auth && private == "" {
			private = r.Key()
		}
		if !r.Auth && public == "" {
			public = r.Key()
		}
	}
	ran := map[string]int{}
	careless := func(key string) httpapi.Handler {
		return func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
			ran[key]++ // checks nothing: the route table must protect it
			return httpapi.JSON(http.StatusOK, map[string]string{"ok": "yes"}), nil
		}
	}
	serve := httpapi.Serve(slog.New(slog.NewJSONHandler(io.Discard, nil)), httpapi.Mux{private: careless(private), public: careless(public)})
	call := func(key string, authorizer map[string]any) httpapi.Response {
		req := httpapi.Request{RouteKey: key}
		if authorizer != nil {
			req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: authorizer}
		}
		resp, err := serve(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for name, ctx := range map[string]map[string]any{
		"no authorizer context":    nil,
		"a refused token":          access.Rejected("this session expired"),
		"a context without a user": {access.CtxTenant: "acme", access.CtxSession: "s"},
	} {
		resp := call(private, ctx)
		var p struct{ Code string }
		_ = json.Unmarshal([]byte(resp.Body), &p)
		if resp.StatusCode != http.StatusUnauthorized || p.Code != "unauthenticated" {
			t.Errorf("%s on %s: %d %s, want 401 unauthenticated", name, private, resp.StatusCode, resp.Body)
		}
	}
	if ran[private] != 0 {
		t.Fatalf("the handler of %s ran %d times without a caller", private, ran[private])
	}
	caller := access.Caller{UserID: "u1", SessionID: "s1", AccountID: "a1"}.Context()
	caller[access.CtxTenant] = "acme"
	if resp := call(private, caller); resp.StatusCode != http.StatusOK || ran[private] != 1 {
		t.Errorf("with a caller: %d, ran %d, want 200 once", resp.StatusCode, ran[private])
	}
	if resp := call(public, nil); resp.StatusCode != http.StatusOK || ran[public] != 1 {
		t.Errorf("public %s without a caller: %d, ran %d, want 200 once", public, resp.StatusCode, ran[public])
	}

	defer func() {
		if recover() == nil {
			t.Error("Serve accepted a route that is not in the route table")
		}
	}()
	httpapi.Serve(slog.Default(), httpapi.Mux{"GET /not-in-the-table": careless("x")})
}
