package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/testkit"
)

// raw calls the local API and returns the status, the content type and the
// body as it came.
func (c client) raw(method, path, token, contentType, body string) (int, string, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func clockNow(t *testing.T, body map[string]any, key string) time.Time {
	t.Helper()
	s, _ := body[key].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s in %v: %v", key, body, err)
	}
	return at
}

// A newcomer tries expiry through the local HTTP API, as `make dev` serves
// it: invite without an email, advance the clock 8 days, run the expiry job,
// and the link (page and accept) says the invitation expired, and when.
func TestTheLocalClockLetsAnInvitationExpire(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	env.OwnTable(t, "clock") // the expiry job reads every tenant's due invitations
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	c := client{t, srv.URL}

	status, body, _ := c.do("GET", "/_local/clock", "", "")
	if status != 200 || !clockNow(t, body, "now").Equal(testkit.Start) {
		t.Fatalf("GET /_local/clock: %d %v", status, body)
	}
	status, body, _ = c.do("POST", "/auth/sign-in", "", `{"tenant":"`+ten.ID()+`","email":"`+ten.AdminEmail+`","password":"`+ten.AdminPassword+`"}`)
	if status != 201 {
		t.Fatalf("sign-in: %d %v", status, body)
	}
	token, _ := body["token"].(string)
	status, body, _ = c.do("POST", "/accounts/"+ten.AccountID+"/invitations", token, `{"emails":["newcomer@clock.example"],"sendEmail":false}`)
	results, _ := body["results"].([]any)
	if status != 201 || len(results) != 1 {
		t.Fatalf("invite: %d %v", status, body)
	}
	result, _ := results[0].(map[string]any)
	link, _ := result["acceptUrl"].(string)
	id, _ := result["invitationId"].(string)
	expiresAt := clockNow(t, result, "expiresAt")
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("accept link %q: %v", link, err)
	}
	pagePath := "/invitations/accept?" + u.RawQuery
	if status, _, page := c.raw("GET", pagePath, "", "", ""); status != 200 || strings.Contains(page, "expired") {
		t.Fatalf("the page before the clock moved: %d\n%s", status, page)
	}

	// Eight days later.
	status, body, _ = c.do("POST", "/_local/clock", "", `{"advance":"192h"}`)
	if status != 200 || !clockNow(t, body, "now").Equal(testkit.Start.Add(192*time.Hour)) || !clockNow(t, body, "previous").Equal(testkit.Start) {
		t.Fatalf("advance 8 days: %d %v", status, body)
	}
	if status, body, _ = c.do("GET", "/_local/clock", "", ""); !clockNow(t, body, "now").Equal(testkit.Start.Add(192 * time.Hour)) {
		t.Fatalf("GET after advancing: %d %v", status, body)
	}
	if status, _, out := c.raw("POST", "/_local/run/expire-invitations", "", "", ""); status != 200 {
		t.Fatalf("run the expiry job: %d %s", status, out)
	}
	// The job ran on the moved clock: it marked the invitation expired.
	var inv invitations.Invitation
	if found, err := env.Store.Get(t.Context(), ten.Invitation(id), &inv); !found || err != nil || inv.Status != invitations.StatusExpired ||
		inv.ExpiredAt != testkit.Start.Add(192*time.Hour).Unix() {
		t.Fatalf("after the job: %+v %v", inv, err)
	}

	// The page says so, with the date.
	status, ct, page := c.raw("GET", pagePath, "", "", "")
	if status != 410 || !strings.HasPrefix(ct, "text/html") || !strings.Contains(page, "This invitation has expired") ||
		!strings.Contains(page, "expired on") || !strings.Contains(page, expiresAt.Format("2006")) {
		t.Fatalf("the page after expiry: %d %s\n%s", status, ct, page)
	}
	// And so does the accept, changing nothing.
	accept, _ := json.Marshal(map[string]string{"token": u.Query().Get("token"), "firstName": "New", "lastName": "Comer", "password": "Plum-Orchard-93-Lantern"})
	status, body, _ = c.do("POST", "/invitations/accept", "", string(accept))
	detail, _ := body["detail"].(string)
	if status != 410 || body["code"] != "invitation_expired" || !strings.Contains(detail, "expired on") || !clockNow(t, body, "expiredAt").Equal(expiresAt) {
		t.Fatalf("accept after expiry: %d %v", status, body)
	}
	if found, _ := env.Store.Get(t.Context(), ten.EmailClaim("newcomer@clock.example"), &struct{}{}); found {
		t.Fatal("the expired invitation made a user")
	}
}

// The clock moves only forward, by a duration or to an instant, and bad
// input is 422 with nothing moved.
func TestTheLocalClockRefusesBadMoves(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	c := client{t, srv.URL}

	for _, bad := range []struct{ body, field, code string }{
		{`{"advance":"-1h"}`, "advance", "clock_backwards"},
		{`{"advance":"soon"}`, "advance", "invalid_duration"},
		{`{"set":"2026-11-01T00:00:00Z"}`, "set", "clock_backwards"},
		{`{"set":"next tuesday"}`, "set", "invalid_instant"},
		{`{}`, "advance", "one_of"},
		{`{"advance":"1h","set":"2027-01-01T00:00:00Z"}`, "advance", "one_of"},
		{`{"advance":"1h","by":"me"}`, "by", "unknown_field"},
	} {
		status, body, _ := c.do("POST", "/_local/clock", "", bad.body)
		fields, _ := body["errors"].([]any)
		f, _ := func() (map[string]any, bool) {
			if len(fields) == 0 {
				return nil, false
			}
			m, ok := fields[0].(map[string]any)
			return m, ok
		}()
		if status != 422 || f["field"] != bad.field || f["code"] != bad.code {
			t.Errorf("%s: %d %v", bad.body, status, body)
		}
	}
	if !env.Clock.Now().Equal(testkit.Start) {
		t.Fatalf("a refused move moved the clock to %s", env.Clock.Now())
	}
	status, body, _ := c.do("POST", "/_local/clock", "", `{"set":"2026-12-10T09:00:00+01:00"}`)
	if want := time.Date(2026, 12, 10, 8, 0, 0, 0, time.UTC); status != 200 || !clockNow(t, body, "now").Equal(want) || !env.Clock.Now().Equal(want) {
		t.Fatalf("set: %d %v", status, body)
	}
	if status, body, _ = c.do("POST", "/_local/clock", "", `{"advance":"2d"}`); status != 200 ||
		!env.Clock.Now().Equal(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("advance 2d: %d %v", status, body)
	}
}

// The clock (like /_local/run) is the local stack's alone: no route of the
// table the CDK app deploys is under /_local.
func TestNoDeployedRouteIsLocal(t *testing.T) {
	for _, r := range routes.Table {
		if strings.HasPrefix(r.Path, "/_local") {
			t.Errorf("route %s %s would be deployed", r.Method, r.Path)
		}
	}
	if !strings.HasPrefix(api.ClockPath, "/_local/") {
		t.Fatalf("the clock's path %q is not a local one", api.ClockPath)
	}
}
