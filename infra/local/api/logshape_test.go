package api_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	usageh "github.com/acme/accountadmin/functions/usage-reset/handler"
	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/testkit"
)

// The request line has one shape whether the request came through the local
// HTTP API (`make dev`) or as an API Gateway event to a deployed function's
// entry point, and its requestId is the one the problem body quotes.
func TestOneRequestLineShapeLocallyAndInLambda(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	logs := &testkit.LogBuffer{}
	d := env.Deps
	d.Log = httpapi.NewLogger(logs) // what the functions log with
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	token := env.Session(t, admin)
	path := "/accounts/" + env.IDs.NewID() + "/usage" // an account that does not exist: a problem answer

	// Through the local HTTP API, over HTTP.
	srv := httptest.NewServer(api.New(d))
	defer srv.Close()
	localStatus, localBody, _ := client{t, srv.URL}.do("GET", path, token, "")
	localID, _ := localBody["requestId"].(string)

	// As Lambda gets it: the HTTP API's event, to the function's entry point.
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /accounts/{accountId}/usage", RawPath: path,
		Headers:        map[string]string{"authorization": "Bearer " + token},
		PathParameters: map[string]string{"accountId": strings.Split(path, "/")[2]}}
	ev.RequestContext.RequestID = "gw-lambda-shape"
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = "GET", path
	raw, _ := json.Marshal(ev)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-shape"})
	out, err := usageh.New(d.Service())(ctx, raw)
	resp, ok := out.(httpapi.Response)
	if err != nil || !ok {
		t.Fatalf("the entry point answered %#v %v", out, err)
	}
	var lambdaBody struct{ RequestID string }
	_ = json.Unmarshal([]byte(resp.Body), &lambdaBody)

	if localStatus != resp.StatusCode || localStatus < 400 || localID == "" || lambdaBody.RequestID != "gw-lambda-shape" {
		t.Fatalf("local %d quoting %q, Lambda %d quoting %q: want one problem, each quoting its request id",
			localStatus, localID, resp.StatusCode, lambdaBody.RequestID)
	}
	local, lambda := requestLineOf(t, logs.String(), localID), requestLineOf(t, logs.String(), "gw-lambda-shape")
	if lk, gk := slices.Sorted(maps.Keys(local)), slices.Sorted(maps.Keys(lambda)); !slices.Equal(lk, gk) {
		t.Fatalf("the request lines differ in shape:\nlocal  %v\nlambda %v", lk, gk)
	}
	for _, line := range []map[string]any{local, lambda} {
		for _, k := range []string{"requestId", "lambdaRequestId", "function", "route", "status", "durationMs", "tenant", "accountId", "callerKind", "callerId"} {
			if _, ok := line[k]; !ok {
				t.Errorf("the request line has no %s: %v", k, line)
			}
		}
		if line["lambdaRequestId"] == line["requestId"] || line["function"] != "usage-reset" || line["callerId"] != ten.AdminID ||
			line["tenant"] != ten.ID() || line["callerKind"] != "user" {
			t.Errorf("request line %v", line)
		}
	}
	if lambda["lambdaRequestId"] != "lambda-shape" {
		t.Errorf("the Lambda request id is %v", lambda["lambdaRequestId"])
	}
}

// requestLineOf is the one "request" line with requestId id.
func requestLineOf(t *testing.T, out, id string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("a log line is not JSON: %s", l)
		}
		if m["requestId"] == id {
			found = append(found, m)
		}
	}
	if len(found) != 1 || found[0]["message"] != "request" {
		t.Fatalf("want one request line with requestId %s, got %v", id, found)
	}
	return found[0]
}
