package handler_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/functions/accounts/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/testkit"
)

// sample reads events/accounts/<name>.json as the caller, with the
// placeholders filled in and the query replaced when query is not nil.
func sample(t *testing.T, name string, c access.Caller, query map[string]string) httpapi.Request {
	t.Helper()
	raw, err := os.ReadFile("../../../events/accounts/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("${TENANT}", c.Tenant.ID(), "${USER_ID}", c.UserID, "${SESSION_ID}", c.SessionID,
		"${ACCOUNT_ID}", c.AccountID, "${TOKEN}", "unused").Replace(string(raw))
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(text), &req); err != nil {
		t.Fatal(err)
	}
	req = testkit.As(t, req, c)
	if query != nil {
		req.QueryStringParameters = query
	}
	return req
}

func TestExportIsSafeCSVPagedByCursor(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	h := handler.New(env.Service())
	names := []string{"=HYPERLINK(\"http://evil.example\",\"click\")", "+1 Plus", "-Minus", "@At", "Comma, Inc", "Quote \"Q\" Ltd", "Line\nBreak"}
	accountIDs := []string{ten.AccountID}
	for _, n := range names {
		a := env.AddAccount(t, ten, n)
		env.AddMembership(t, ten, a, ten.AdminID, ten.AdminEmail, access.RoleAdmin)
		accountIDs = append(accountIDs, a)
	}
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s1", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}

	var rows [][]string
	query := map[string]string{"sort": "name", "limit": "3"}
	for page := 0; ; page++ {
		resp, err := h(context.Background(), sample(t, "export", admin, query))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("export: %d %v %s", resp.StatusCode, err, resp.Body)
		}
		if !strings.HasPrefix(resp.Headers["Content-Type"], "text/csv") || !strings.Contains(resp.Headers["Content-Disposition"], "accounts.csv") {
			t.Fatalf("headers %v", resp.Headers)
		}
		if !strings.HasSuffix(resp.Body, "\r\n") {
			t.Fatalf("records end with CRLF: %q", resp.Body)
		}
		recs, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
		if err != nil {
			t.Fatalf("page %d is not CSV: %v\n%s", page, err, resp.Body)
		}
		if recs[0][0] != "id" || recs[0][1] != "name" {
			t.Fatalf("header row: %v", recs[0])
		}
		rows = append(rows, recs[1:]...)
		next := resp.Headers["X-Next-Cursor"]
		if next == "" {
			break
		}
		if !strings.Contains(resp.Headers["Link"], "cursor="+next) || !strings.Contains(resp.Headers["Link"], `rel="next"`) {
			t.Fatalf("Link: %q", resp.Headers["Link"])
		}
		query = map[string]string{"sort": "name", "limit": "3", "cursor": next}
		if page > 10 {
			t.Fatal("no end")
		}
	}
	if len(rows) != len(accountIDs) {
		t.Fatalf("%d rows for %d accounts", len(rows), len(accountIDs))
	}
	got := map[string]bool{}
	for _, r := range rows {
		got[r[1]] = true
	}
	for _, want := range []string{"'=HYPERLINK(\"http://evil.example\",\"click\")", "'+1 Plus", "'-Minus", "'@At", "Comma, Inc", "Quote \"Q\" Ltd", "Line\nBreak"} {
		if !got[want] {
			t.Errorf("no cell %q in %v", want, got)
		}
	}
}

func TestReadingAnswersProblemsAndETags(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	other := env.AddAccount(t, ten, "Other")
	h := handler.New(env.Service())
	viewer := env.AddUser(t, ten, ten.AccountID, "viewer@example.org", "")
	outsider := env.AddUser(t, ten, other, "outsider@example.org", "", access.RoleAdmin)
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s1", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	asViewer := access.Caller{Tenant: ten.Tenant, UserID: viewer.ID, SessionID: "s2", AccountID: ten.AccountID, Roles: []string{access.RoleViewer}}
	asOutsider := access.Caller{Tenant: ten.Tenant, UserID: outsider.ID, SessionID: "s3", AccountID: other, Roles: []string{access.RoleAdmin}}
	foreignTen := env.NewTenant(t)
	foreign := access.Caller{Tenant: foreignTen.Tenant, UserID: foreignTen.AdminID, SessionID: "s4", AccountID: foreignTen.AccountID, Roles: []string{access.RoleAdmin}}

	resp, _ := h(context.Background(), sample(t, "get", admin, nil))
	if resp.StatusCode != 200 || resp.Headers["ETag"] != `"1"` {
		t.Fatalf("get: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	// The outsider and the foreign admin ask about ten's account.
	for name, tc := range map[string]struct {
		caller access.Caller
		status int
	}{
		"viewer reads members":     {asViewer, 200},
		"admin of another account": {asOutsider, 403},
		"admin of another tenant":  {foreign, 404},
	} {
		req := sample(t, "members", tc.caller, nil)
		req.PathParameters["accountId"] = ten.AccountID
		resp, _ := h(context.Background(), req)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
		if tc.status >= 400 && resp.Headers["Content-Type"] != "application/problem+json" {
			t.Errorf("%s: %v", name, resp.Headers)
		}
	}
	for name, q := range map[string]map[string]string{
		"bad sort":   {"sort": "size"},
		"bad limit":  {"limit": "0"},
		"bad cursor": {"cursor": "eyJzIjowLCJjIjoiZm9vIn0"},
	} {
		resp, _ := h(context.Background(), sample(t, "list", admin, q))
		if resp.StatusCode != 422 && resp.StatusCode != 400 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
	}
	// Without a session: 401.
	req := sample(t, "list", admin, nil)
	delete(req.Headers, "authorization")
	if resp, _ := h(context.Background(), req); resp.StatusCode != 401 {
		t.Errorf("no caller: %d", resp.StatusCode)
	}
}
