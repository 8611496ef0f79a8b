package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apikeys"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/testkit"
)

// logLines decodes every JSON line the logger wrote.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("a log line is not one JSON object: %s", sc.Text())
		}
		lines = append(lines, m)
	}
	return lines
}

// requestLine is the one "request" line of a request id, failing when there
// is none or more than one.
func requestLine(t *testing.T, out, requestID string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range logLines(t, out) {
		if l["requestId"] == requestID {
			found = append(found, l)
		}
	}
	if len(found) != 1 || found[0]["message"] != "request" {
		t.Fatalf("want one request line for %s, got %d: %v", requestID, len(found), found)
	}
	return found[0]
}

// emfMetrics reads the EMF directive of a line: for each dimension set
// (joined by ","), the metric names it publishes.
func emfMetrics(t *testing.T, line map[string]any) map[string][]string {
	t.Helper()
	raw, _ := json.Marshal(line["_aws"])
	var aws struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	}
	if err := json.Unmarshal(raw, &aws); err != nil || aws.Timestamp == 0 || len(aws.CloudWatchMetrics) == 0 {
		t.Fatalf("no EMF directive in %v", line)
	}
	out := map[string][]string{}
	for _, d := range aws.CloudWatchMetrics {
		if d.Namespace != httpapi.MetricNamespace {
			t.Errorf("namespace %q, want %q", d.Namespace, httpapi.MetricNamespace)
		}
		for _, dims := range d.Dimensions {
			for _, dim := range dims {
				if _, ok := line[dim].(string); !ok {
					t.Errorf("dimension %s has no value in the line", dim)
				}
			}
			for _, m := range d.Metrics {
				if _, ok := line[m.Name].(float64); !ok {
					t.Errorf("metric %s has no value in the line", m.Name)
				}
				out[strings.Join(dims, ",")] = append(out[strings.Join(dims, ",")], m.Name)
			}
		}
	}
	return out
}

// A handled 500 (DynamoDB failing after the SDK's retries) and a panic each
// answer problem+json 500 with the request id, with a nil Go error (a
// non-nil one would make API Gateway drop that body for its own bare 500),
// and each is counted where the alarms look: the request's one log line is
// at ERROR and carries the EMF metrics Faults (and Panics for the panic,
// DynamoDBFailures for DynamoDB) per function. A success and a refusal are
// counted as requests but not as faults, at INFO or WARN by kind. Every line
// has one requestId (the gateway's) and the Lambda id apart, the caller by
// ids, never their email or name.
func TestServeCountsFailuresInItsMetricLine(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	private, public := routeKeys(t)
	function, _ := routes.Lookup(private)
	sessions := &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	signed, err := sessions.SignIn(context.Background(), auth.SignIn{Tenant: ten.Tenant, Email: ten.AdminEmail, Password: testkit.Password})
	if err != nil {
		t.Fatal(err)
	}

	// A DynamoDB that fails every GetItem, at the SDK's HTTP edge.
	faults := awsclient.NewFaultInjector()
	faults.Add(awsclient.Fault{Operation: "GetItem", Times: -1, Status: 500, Body: awsclient.DynamoInternal})
	broken := awsclient.DynamoDB(env.AWS, func(o *dynamodb.Options) { o.HTTPClient = faults })

	var logs strings.Builder
	log := httpapi.NewLogger(&logs)
	var mode string
	serve := httpapi.Server{Log: log, Sessions: sessions}.Serve(opsOf(private,
		func(ctx context.Context, _ httpapi.In) (httpapi.Response, error) {
			switch mode {
			case "dynamodb fails":
				_, err := broken.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(env.Config.Table),
					Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "x"}, "SK": &types.AttributeValueMemberS{Value: "x"}}})
				return httpapi.Response{}, err
			case "panic":
				panic("boom")
			}
			return httpapi.JSON(http.StatusOK, map[string]string{"ok": "yes"}), nil
		},
		func(ctx context.Context, _ httpapi.In) (httpapi.Response, error) {
			return httpapi.NoContent(), nil
		}))
	call := func(m, key, requestID string, headers map[string]string) httpapi.Response {
		t.Helper()
		mode = m
		req := httpapi.Request{RouteKey: key, Headers: headers, RawPath: "/x"}
		req.RequestContext.RequestID = requestID
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-" + requestID})
		resp, err := serve(ctx, req)
		if err != nil {
			t.Fatalf("%s: Serve returned an error (%v): the client would get API Gateway's bare 500", m, err)
		}
		return resp
	}
	bearer := map[string]string{"authorization": testkit.Bearer(signed.Token)}

	type want struct {
		status                            int
		level                             string
		faults, panics, dynamo            float64
		caller                            bool
		problemCode, statusClass, logCode string
	}
	for _, c := range []struct {
		mode, key, id string
		headers       map[string]string
		want          want
	}{
		{"dynamodb fails", private, "gw-dynamo", bearer, want{500, "ERROR", 1, 0, 1, true, "internal", "5xx", "internal"}},
		{"panic", private, "gw-panic", bearer, want{500, "ERROR", 1, 1, 0, true, "internal", "5xx", "internal"}},
		{"ok", private, "gw-ok", bearer, want{200, "INFO", 0, 0, 0, true, "", "2xx", ""}},
		{"ok", public, "gw-public", nil, want{204, "INFO", 0, 0, 0, false, "", "2xx", ""}},
		{"no session", private, "gw-401", nil, want{401, "WARN", 0, 0, 0, false, "unauthenticated", "4xx", "unauthenticated"}},
		{"no route", "GET /nowhere", "gw-404", nil, want{404, "INFO", 0, 0, 0, false, "not_found", "4xx", "not_found"}},
	} {
		resp := call(c.mode, c.key, c.id, c.headers)
		if resp.StatusCode != c.want.status {
			t.Errorf("%s: status %d, want %d", c.mode, resp.StatusCode, c.want.status)
		}
		if c.want.problemCode != "" {
			var p struct{ Code, Detail, RequestID string }
			code, _ := problem(t, resp)
			_ = json.Unmarshal([]byte(resp.Body), &p)
			if code != c.want.problemCode || p.RequestID != c.id {
				t.Errorf("%s: problem %s for %q, want %s quoting %s", c.mode, code, p.RequestID, c.want.problemCode, c.id)
			}
			if c.want.status == 500 && (p.Detail != "internal error" || strings.Contains(resp.Body, "boom") || strings.Contains(resp.Body, "injected")) {
				t.Errorf("%s: a 500 says more than internal error: %s", c.mode, resp.Body)
			}
		}
		line := requestLine(t, logs.String(), c.id)
		if strings.Count(logs.String(), `"requestId":"`+c.id+`"`) != 1 || line["lambdaRequestId"] != "lambda-"+c.id {
			t.Errorf("%s: want one requestId %s and lambdaRequestId lambda-%s: %v", c.mode, c.id, c.id, line)
		}
		if line["level"] != c.want.level || line["status"] != float64(c.want.status) || line["route"] != c.key {
			t.Errorf("%s: level %v status %v route %v, want %s %d %s", c.mode, line["level"], line["status"], line["route"], c.want.level, c.want.status, c.key)
		}
		if d, ok := line["durationMs"].(float64); !ok || d < 0 {
			t.Errorf("%s: no durationMs: %v", c.mode, line)
		}
		if line["Requests"] != float64(1) || line["Faults"] != c.want.faults || line["Panics"] != c.want.panics ||
			line["DynamoDBFailures"] != c.want.dynamo || line["StatusClass"] != c.want.statusClass {
			t.Errorf("%s: Requests %v Faults %v Panics %v DynamoDBFailures %v StatusClass %v, want 1 %v %v %v %s", c.mode,
				line["Requests"], line["Faults"], line["Panics"], line["DynamoDBFailures"], line["StatusClass"],
				c.want.faults, c.want.panics, c.want.dynamo, c.want.statusClass)
		}
		if c.want.logCode != "" && line["code"] != c.want.logCode {
			t.Errorf("%s: code %v, want %s", c.mode, line["code"], c.want.logCode)
		}
		if c.key != "GET /nowhere" {
			if _, ok := line["Latency"].(float64); !ok || line["Function"] != function.Function {
				t.Errorf("%s: Latency %v Function %v, want a latency for %s", c.mode, line["Latency"], line["Function"], function.Function)
			}
			m := emfMetrics(t, line)
			if !strings.Contains(strings.Join(m["Function"], " "), "Faults") || !strings.Contains(strings.Join(m["Function"], " "), "Panics") ||
				!strings.Contains(strings.Join(m["Function"], " "), "Latency") || len(m["Function,Route,StatusClass"]) == 0 {
				t.Errorf("%s: EMF directive %v, want Faults, Panics, Latency per Function and Requests per route", c.mode, m)
			}
		}
		if c.want.caller {
			if line["tenant"] != ten.ID() || line["accountId"] != ten.AccountID || line["callerKind"] != "user" || line["callerId"] != ten.AdminID {
				t.Errorf("%s: caller fields %v %v %v %v, want the admin by ids", c.mode, line["tenant"], line["accountId"], line["callerKind"], line["callerId"])
			}
		}
		if c.mode == "panic" {
			if s, _ := line["stack"].(string); !strings.Contains(s, "observe_test.go") || line["panic"] == nil {
				t.Errorf("panic: the line has no panic and stack: %v", line)
			}
		}
	}
	for _, secret := range []string{ten.AdminEmail, "Ada", signed.Token, testkit.Password} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
}

// A request made with an API key is logged as the key's: callerKind
// api_key and the key's id, never its secret.
func TestTheRequestLineNamesAnAPIKeyCaller(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	var route string
	for _, r := range routes.Table {
		if r.Auth && !r.NoKey {
			route = r.Key()
			break
		}
	}
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "test", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	keys := &apikeys.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	cmd, err := apikeys.CreateRequest{Name: "crm-sync", Role: access.RoleViewer}.Command(admin, ten.AccountID, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, err := keys.Create(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}

	var logs strings.Builder
	ok := func(ctx context.Context, _ httpapi.In) (httpapi.Response, error) {
		return httpapi.JSON(http.StatusOK, map[string]string{"ok": "yes"}), nil
	}
	server := httpapi.Server{Log: httpapi.NewLogger(&logs), Sessions: &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs},
		Idempotency: httpapi.Idempotency{Store: env.Store, Clock: env.Clock}}
	serve := server.Serve(opsOf(route, ok, ok))
	req := httpapi.Request{RouteKey: route, Headers: map[string]string{"authorization": testkit.Bearer(key.Secret)}, RawPath: "/x"}
	req.RequestContext.RequestID = "gw-key"
	resp, err := serve(context.Background(), req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s with a key: %d %v %s", route, resp.StatusCode, err, resp.Body)
	}
	line := requestLine(t, logs.String(), "gw-key")
	if line["callerKind"] != "api_key" || line["callerId"] != key.ID || line["tenant"] != ten.ID() || line["accountId"] != ten.AccountID {
		t.Fatalf("caller fields %v %v %v %v, want the key %s by ids", line["callerKind"], line["callerId"], line["tenant"], line["accountId"], key.ID)
	}
	if strings.Contains(logs.String(), key.Secret) {
		t.Fatal("the logs contain the key's secret")
	}
}
