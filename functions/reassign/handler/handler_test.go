package handler_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/acme/accountadmin/functions/reassign/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/testkit"
)

func request(t testing.TB, c access.Caller, routeKey string, params, query, headers map[string]string, body string) httpapi.Request {
	_, path, _ := strings.Cut(routeKey, " ")
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	h := map[string]string{"content-type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	req := httpapi.Request{RouteKey: routeKey, RawPath: path, Body: body, PathParameters: params, QueryStringParameters: query, Headers: h}
	return testkit.As(t, req, c)
}

func TestContentAndReassignmentRoutes(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	ctx := context.Background()
	h := handler.NewHTTP(env.Service())
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	leaver := env.AddUser(t, ten, ten.AccountID, "leaver@routes.example", "")
	heir := env.AddUser(t, ten, ten.AccountID, "heir@routes.example", "")
	acc := map[string]string{"accountId": ten.AccountID}

	call := func(routeKey string, params, query, headers map[string]string, body string) (httpapi.Response, map[string]any) {
		t.Helper()
		resp, err := h(ctx, request(t, admin, routeKey, params, query, headers, body))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &out)
		return resp, out
	}
	var ids []string
	for _, name := range []string{"Nightly sync", "Gearbox", "Q4 report"} {
		resp, body := call("POST /accounts/{accountId}/content", acc, nil, nil, `{"type":"automation","name":"`+name+`","ownerId":"`+leaver.ID+`"}`)
		if resp.StatusCode != 201 || resp.Headers["ETag"] != `"1"` || !strings.HasSuffix(resp.Headers["Location"], "/content/"+body["id"].(string)) {
			t.Fatalf("register: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
		}
		ids = append(ids, body["id"].(string))
	}
	if resp, body := call("POST /accounts/{accountId}/content", acc, nil, nil, `{"type":"automation","name":"x","ownerId":"`+leaver.ID+`","size":1}`); resp.StatusCode != 422 || body["code"] != "validation_failed" {
		t.Fatalf("unknown field: %d %s", resp.StatusCode, resp.Body)
	}
	if resp, body := call("GET /accounts/{accountId}/content", acc, map[string]string{"ownerId": leaver.ID, "limit": "2"}, nil, ""); resp.StatusCode != 200 ||
		len(body["items"].([]any)) != 2 || body["cursor"] == nil {
		t.Fatalf("list by owner: %d %s", resp.StatusCode, resp.Body)
	}
	if resp, _ := call("GET /accounts/{accountId}/content", acc, map[string]string{"limit": "0"}, nil, ""); resp.StatusCode != 422 {
		t.Fatalf("bad limit: %d", resp.StatusCode)
	}
	one := map[string]string{"accountId": ten.AccountID, "contentId": ids[2]}
	if resp, body := call("GET /accounts/{accountId}/content/{contentId}", one, nil, nil, ""); resp.StatusCode != 200 || body["name"] != "Q4 report" || resp.Headers["ETag"] != `"1"` {
		t.Fatalf("get: %d %s", resp.StatusCode, resp.Body)
	}
	if resp, _ := call("DELETE /accounts/{accountId}/content/{contentId}", one, nil, map[string]string{"if-match": `"9"`}, ""); resp.StatusCode != 412 {
		t.Fatalf("stale delete: %d", resp.StatusCode)
	}
	if resp, _ := call("DELETE /accounts/{accountId}/content/{contentId}", one, nil, map[string]string{"if-match": `"1"`}, ""); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}

	resp, body := call("POST /users/{userId}/reassign-content", map[string]string{"userId": leaver.ID}, nil,
		map[string]string{"idempotency-key": "re-1"}, `{"targetUserId":"`+heir.ID+`"}`)
	if resp.StatusCode != 202 || body["status"] != "done" || body["done"] != float64(2) || resp.Headers["Location"] != "/reassignments/"+body["id"].(string) {
		t.Fatalf("reassign: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	jobID := body["id"].(string)
	if again, _ := call("POST /users/{userId}/reassign-content", map[string]string{"userId": leaver.ID}, nil,
		map[string]string{"idempotency-key": "re-1"}, `{"targetUserId":"`+heir.ID+`"}`); again.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("replay: %v", again.Headers)
	}
	if resp, _ := call("POST /users/{userId}/reassign-content", map[string]string{"userId": leaver.ID}, nil, nil, `{"targetUserId":"`+leaver.ID+`"}`); resp.StatusCode != 422 {
		t.Fatalf("to oneself: %d", resp.StatusCode)
	}
	if resp, body := call("GET /reassignments/{jobId}", map[string]string{"jobId": jobID}, nil, nil, ""); resp.StatusCode != 200 || body["total"] != float64(2) {
		t.Fatalf("progress: %d %s", resp.StatusCode, resp.Body)
	}
	if resp, _ := call("GET /reassignments/{jobId}", map[string]string{"jobId": "01NOPE"}, nil, nil, ""); resp.StatusCode != 404 {
		t.Fatalf("unknown job: %d", resp.StatusCode)
	}
}

// The one Lambda also runs the resume job.
func TestLambdaEntryRunsTheResumeJob(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	fn := handler.New(env.Service())
	ev := `{"version":"0","id":"e1","detail-type":"Resume Reassignments","source":"aws.events","time":"2026-11-23T09:00:00Z","detail":{}}`
	if out, err := fn(context.Background(), json.RawMessage(ev)); err != nil || out != nil {
		t.Fatalf("scheduled event: %v %v", out, err)
	}
	if !strings.Contains(env.Logs.String(), `"resumed reassignments"`) {
		t.Fatalf("job log: %s", env.Logs.String())
	}
}
