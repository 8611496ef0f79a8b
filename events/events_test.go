package events_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/testkit"
)

// expected is the status each sample must produce; a sample not listed here
// fails the test, so every new sample says what it proves.
var expected = map[string]int{
	"auth/sign-in.json":  201,
	"auth/me.json":       200,
	"auth/sign-out.json": 204,
}

func samples(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			out = append(out, filepath.ToSlash(path))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every route in the route table has at least one sample event.
func TestEveryRouteHasASample(t *testing.T) {
	have := map[string]bool{}
	for _, path := range samples(t) {
		var ev struct {
			RouteKey string `json:"routeKey"`
		}
		raw, _ := os.ReadFile(path)
		_ = json.Unmarshal(raw, &ev)
		have[ev.RouteKey] = true
	}
	for _, r := range routes.Table {
		if !have[r.Key()] {
			t.Errorf("no sample event for %s", r.Key())
		}
	}
}

func TestSamplesRunThroughTheirHandlers(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	ctx := context.Background()
	srv := api.New(env.Deps)

	for _, path := range samples(t) {
		t.Run(path, func(t *testing.T) {
			// A fresh session per sample, so sign-out does not end the next one's.
			signed, err := svc.SignIn(ctx, auth.SignIn{Tenant: ten.Tenant, Email: ten.AdminEmail, Password: ten.AdminPassword})
			if err != nil {
				t.Fatal(err)
			}
			caller, err := svc.Authorize(ctx, signed.Token)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.NewReplacer(
				"${TENANT}", ten.ID(), "${EMAIL}", ten.AdminEmail, "${PASSWORD}", ten.AdminPassword,
				"${TOKEN}", signed.Token, "${SESSION_ID}", caller.SessionID, "${USER_ID}", ten.AdminID,
				"${ACCOUNT_ID}", ten.AccountID,
			).Replace(string(raw))
			function := strings.Split(path, "/")[0]

			if function == routes.Authorizer {
				var req events.APIGatewayV2CustomAuthorizerV2Request
				roundTrip(t, text, &req)
				res, err := srv.Authorizer(ctx, req)
				if err != nil || !res.IsAuthorized || res.Context["userId"] != ten.AdminID {
					t.Fatalf("authorizer: %v %+v", err, res)
				}
				return
			}
			var req events.APIGatewayV2HTTPRequest
			roundTrip(t, text, &req)
			h, ok := srv.Handlers[function]
			if !ok {
				t.Fatalf("no handler for function %s", function)
			}
			want, ok := expected[path]
			if !ok {
				t.Fatalf("sample %s has no expected status in events_test.go", path)
			}
			resp, err := h(ctx, req)
			if err != nil || resp.StatusCode != want {
				t.Fatalf("%s: status %d (want %d), err %v, body %s", req.RouteKey, resp.StatusCode, want, err, resp.Body)
			}
		})
	}
}

// roundTrip decodes a sample into v and checks that encoding it again loses
// nothing (every field of the sample survives; the SDK types may add empty
// ones): the sample is a real-shaped event, not a loose approximation.
func roundTrip(t *testing.T, text string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(text), v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal([]byte(text), &a)
	_ = json.Unmarshal(again, &b)
	if !contains(b, a) {
		t.Fatalf("re-encoding changed the event:\n%s\nvs\n%s", text, again)
	}
}

// contains reports whether every field of want is in got with the same value.
func contains(got, want any) bool {
	wm, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(got, want)
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range wm {
		if !contains(gm[k], wv) {
			return false
		}
	}
	return true
}
