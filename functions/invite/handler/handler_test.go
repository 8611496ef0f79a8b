package handler_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path, body string, headers ...string) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (c client) signIn(tenant, email, password string) client {
	c.t.Helper()
	b, _ := json.Marshal(map[string]string{"tenant": tenant, "email": email, "password": password})
	status, _, body := c.do("POST", "/auth/sign-in", string(b))
	if status != http.StatusCreated {
		c.t.Fatalf("sign in %s: %d %s", email, status, body)
	}
	var s struct{ Token string }
	_ = json.Unmarshal([]byte(body), &s)
	c.token = s.Token
	return c
}

func unique(label string) string {
	return strings.ToLower(label + "-" + strings.NewReplacer("_", "x", "-", "x").Replace(ids.NewSecret()[:10]) + "@http.example")
}

func inviteBody(emails ...string) string {
	b, _ := json.Marshal(map[string]any{"emails": emails})
	return string(b)
}

type fixture struct {
	env   *testkit.Env
	ten   testkit.Tenant
	srv   *httptest.Server
	anon  client
	admin client
}

func setup(t *testing.T) fixture {
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	t.Cleanup(srv.Close)
	anon := client{t: t, base: srv.URL}
	return fixture{env: env, ten: ten, srv: srv, anon: anon, admin: anon.signIn(ten.ID(), ten.AdminEmail, ten.AdminPassword)}
}

func TestOnlyAdminsInviteThroughTheAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	second := f.env.AddAccount(t, f.ten, "Second")
	viewer := f.env.AddUser(t, f.ten, f.ten.AccountID, unique("viewer"), "", access.RoleViewer)
	otherAdmin := f.env.AddUser(t, f.ten, second, unique("otheradmin"), "", access.RoleAdmin)
	other := f.env.NewTenant(t)

	asViewer := f.anon.signIn(f.ten.ID(), viewer.Email, viewer.Password)
	asOtherAdmin := f.anon.signIn(f.ten.ID(), otherAdmin.Email, otherAdmin.Password)
	asOtherTenant := f.anon.signIn(other.ID(), other.AdminEmail, other.AdminPassword)
	target := unique("target")
	for name, tc := range map[string]struct {
		c      client
		path   string
		body   string
		status int
		code   string
	}{
		"viewer":                 {asViewer, "/accounts/" + f.ten.AccountID + "/invitations", inviteBody(target), 403, "forbidden"},
		"admin of another":       {asOtherAdmin, "/accounts/" + f.ten.AccountID + "/invitations", inviteBody(target), 403, "forbidden"},
		"admin of one target":    {asOtherAdmin, "/accounts/" + second + "/invitations", `{"emails":["` + target + `"],"accountIds":["` + f.ten.AccountID + `"]}`, 403, "forbidden"},
		"other tenant":           {asOtherTenant, "/accounts/" + f.ten.AccountID + "/invitations", inviteBody(target), 404, "not_found"},
		"no session":             {f.anon, "/accounts/" + f.ten.AccountID + "/invitations", inviteBody(target), 401, ""},
		"unknown field":          {f.admin, "/accounts/" + f.ten.AccountID + "/invitations", `{"emails":["` + target + `"],"admin":true}`, 422, "validation_failed"},
		"no emails":              {f.admin, "/accounts/" + f.ten.AccountID + "/invitations", `{"emails":[]}`, 422, "validation_failed"},
		"unknown role":           {f.admin, "/accounts/" + f.ten.AccountID + "/invitations", `{"emails":["` + target + `"],"roles":["Wizard"]}`, 422, "validation_failed"},
		"malformed json":         {f.admin, "/accounts/" + f.ten.AccountID + "/invitations", `{"emails":`, 400, "malformed_json"},
		"account of nobody":      {f.admin, "/accounts/NOSUCHACCOUNT/invitations", inviteBody(target), 404, "not_found"},
		"list as another tenant": {asOtherTenant, "/accounts/" + f.ten.AccountID + "/invitations", "", 404, "not_found"},
		"list with a bad status": {f.admin, "/accounts/" + f.ten.AccountID + "/invitations?status=lost", "", 422, "validation_failed"},
		"list with a bad limit":  {f.admin, "/accounts/" + f.ten.AccountID + "/invitations?limit=1000", "", 422, "validation_failed"},
		"list with a bad cursor": {f.admin, "/accounts/" + f.ten.AccountID + "/invitations?cursor=forged", "", 400, "bad_cursor"},
		"resend of nothing":      {f.admin, "/invitations/NOSUCHINVITATION/resend", "", 404, "invitation_not_found"},
		"revoke of nothing":      {f.admin, "/invitations/NOSUCHINVITATION", "", 404, "invitation_not_found"},
	} {
		method := "POST"
		if strings.HasPrefix(name, "list") {
			method = "GET"
		}
		if strings.HasPrefix(name, "revoke") {
			method = "DELETE"
		}
		status, _, body := tc.c.do(method, tc.path, tc.body)
		if status != tc.status || (tc.code != "" && !strings.Contains(body, `"code":"`+tc.code+`"`)) {
			t.Errorf("%s: %d %s, want %d %s", name, status, body, tc.status, tc.code)
		}
	}
	// Nothing was created by any of them.
	status, _, body := f.admin.do("GET", "/accounts/"+f.ten.AccountID+"/invitations", "")
	if status != 200 || body != `{"invitations":[]}` {
		t.Fatalf("list after refusals: %d %s", status, body)
	}
	status, _, body = f.admin.do("GET", "/accounts/"+second+"/invitations", "")
	if status != 403 {
		t.Fatalf("the tenant admin is not a member of the second account: %d %s", status, body)
	}
	// A viewer may list (the user list will show pending invitations) but not resend or revoke.
	status, _, raw := f.admin.do("POST", "/accounts/"+f.ten.AccountID+"/invitations", inviteBody(target))
	if status != 201 {
		t.Fatalf("invite: %d %s", status, raw)
	}
	var res invitations.InviteResult
	_ = json.Unmarshal([]byte(raw), &res)
	id := res.Results[0].InvitationID
	if status, _, body := asViewer.do("GET", "/accounts/"+f.ten.AccountID+"/invitations?status=pending&limit=5", ""); status != 200 || !strings.Contains(body, id) {
		t.Fatalf("viewer list: %d %s", status, body)
	}
	if status, _, _ := asViewer.do("POST", "/invitations/"+id+"/resend", ""); status != 403 {
		t.Fatalf("viewer resend: %d", status)
	}
	if status, _, _ := asViewer.do("DELETE", "/invitations/"+id, ""); status != 403 {
		t.Fatalf("viewer revoke: %d", status)
	}
	if status, _, _ := asOtherTenant.do("DELETE", "/invitations/"+id, ""); status != 404 {
		t.Fatalf("other tenant revoke: %d", status)
	}
}

func TestResendAndRevokeThroughTheAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	target := unique("handover")
	// sendEmail false: the link is in the response, which is never stored
	// for replays; a retry answers already_invited.
	body := `{"emails":["` + target + `"],"sendEmail":false}`
	status, h, raw := f.admin.do("POST", "/accounts/"+f.ten.AccountID+"/invitations", body, "Idempotency-Key", "handover-1")
	if status != 201 || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("invite: %d %s", status, raw)
	}
	var res invitations.InviteResult
	_ = json.Unmarshal([]byte(raw), &res)
	r := res.Results[0]
	if r.Delivery != "not_requested" || !strings.Contains(r.AcceptURL, "/invitations/accept?token=") {
		t.Fatalf("result: %+v", r)
	}
	status, h, again := f.admin.do("POST", "/accounts/"+f.ten.AccountID+"/invitations", body, "Idempotency-Key", "handover-1")
	if status != 200 || h.Get("Idempotent-Replayed") != "" || !strings.Contains(again, `"result":"already_invited"`) || strings.Contains(again, "acceptUrl") {
		t.Fatalf("retry: %d %v %s", status, h, again)
	}
	oldLink, _ := url.Parse(r.AcceptURL)

	// Resend: a new link (returned, as no email is asked for), an ETag.
	status, h, resent := f.admin.do("POST", "/invitations/"+r.InvitationID+"/resend", `{"sendEmail":false}`, "If-Match", `"1"`)
	if status != 200 || h.Get("ETag") != `"2"` || !strings.Contains(resent, "acceptUrl") {
		t.Fatalf("resend: %d %v %s", status, h, resent)
	}
	if status, _, page := f.anon.do("GET", oldLink.RequestURI(), ""); status != 410 || !strings.Contains(page, "replaced") {
		t.Fatalf("old link: %d %s", status, page)
	}
	if status, _, body := f.admin.do("DELETE", "/invitations/"+r.InvitationID, "", "If-Match", `"1"`); status != 412 {
		t.Fatalf("stale revoke: %d %s", status, body)
	}
	var rs invitations.Resent
	_ = json.Unmarshal([]byte(resent), &rs)
	newLink, _ := url.Parse(rs.AcceptURL)
	if status, _, _ := f.anon.do("GET", newLink.RequestURI(), ""); status != 200 {
		t.Fatalf("new link: %d", status)
	}
	if status, _, body := f.admin.do("DELETE", "/invitations/"+r.InvitationID, "", "If-Match", `"2"`); status != 204 {
		t.Fatalf("revoke: %d %s", status, body)
	}
	if status, _, page := f.anon.do("GET", newLink.RequestURI(), ""); status != 410 || !strings.Contains(page, "withdrawn") {
		t.Fatalf("revoked link: %d %s", status, page)
	}
	if status, _, body := f.admin.do("GET", "/accounts/"+f.ten.AccountID+"/invitations?status=revoked", ""); status != 200 || !strings.Contains(body, r.InvitationID) {
		t.Fatalf("revoked list: %d %s", status, body)
	}
	if status, _, body := f.admin.do("POST", "/invitations/"+r.InvitationID+"/resend", ""); status != 409 || !strings.Contains(body, "invitation_not_pending") {
		t.Fatalf("resend of a revoked invitation: %d %s", status, body)
	}
	if status, _, _ := f.admin.do("DELETE", "/invitations/"+r.InvitationID, ""); status != 204 {
		t.Fatalf("second revoke: %d", status)
	}
}

func TestRateLimitThroughTheAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	emails := make([]string, invitations.MaxEmails)
	for i := 0; i < invitations.DefaultLimits.PerInviterPerHour/invitations.MaxEmails; i++ {
		for j := range emails {
			emails[j] = unique("bulk")
		}
		b, _ := json.Marshal(map[string]any{"emails": emails, "roles": []string{access.RoleViewer}, "sendEmail": false})
		if status, _, body := f.admin.do("POST", "/accounts/"+f.ten.AccountID+"/invitations", string(b)); status != 201 {
			t.Fatalf("bulk %d: %d %s", i, status, body)
		}
	}
	status, h, body := f.admin.do("POST", "/accounts/"+f.ten.AccountID+"/invitations", inviteBody(unique("one-more")))
	if status != 429 || h.Get("Retry-After") == "" || !strings.Contains(body, `"retryAfterSeconds"`) {
		t.Fatalf("over the limit: %d %v %s", status, h, body)
	}
}

// A member may invite only with roles within their own rights: a recruiter
// (a custom role holding users.invite alone) cannot offer Admin, nor renew
// an Admin's offer of Admin, and may offer Viewer.
func TestInvitersGrantOnlyTheirOwnRightsThroughTheAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	k := f.ten.Role("Recruiter")
	role := access.CustomRole{PK: k.PK, SK: k.SK, Type: "ROLE", Name: "Recruiter", Permissions: []access.Action{access.InviteUsers}, Version: 1}
	if err := f.env.Store.Do(context.Background(), "put test role", store.Put(role)); err != nil {
		t.Fatal(err)
	}
	recruiter := f.env.AddUser(t, f.ten, f.ten.AccountID, unique("recruiter"), "", "Recruiter")
	asRecruiter := f.anon.signIn(f.ten.ID(), recruiter.Email, recruiter.Password)
	path := "/accounts/" + f.ten.AccountID + "/invitations"

	status, _, body := asRecruiter.do("POST", path, `{"emails":["`+unique("admin-offer")+`"],"roles":["Admin"]}`)
	if status != 403 || !strings.Contains(body, `"code":"grant_exceeds_rights"`) {
		t.Fatalf("recruiter offering Admin: %d %s", status, body)
	}
	if status, _, body := f.admin.do("GET", path, ""); status != 200 || body != `{"invitations":[]}` {
		t.Fatalf("the refusal wrote an invitation: %d %s", status, body)
	}
	if status, _, body := asRecruiter.do("POST", path, `{"emails":["`+unique("viewer-offer")+`"],"roles":["Viewer"]}`); status != 201 {
		t.Fatalf("recruiter offering Viewer: %d %s", status, body)
	}
	status, _, raw := f.admin.do("POST", path, `{"emails":["`+unique("admins-offer")+`"],"roles":["Admin"],"sendEmail":false}`)
	if status != 201 {
		t.Fatalf("admin offering Admin: %d %s", status, raw)
	}
	var res invitations.InviteResult
	_ = json.Unmarshal([]byte(raw), &res)
	status, _, body = asRecruiter.do("POST", "/invitations/"+res.Results[0].InvitationID+"/resend", `{"sendEmail":false}`)
	if status != 403 || !strings.Contains(body, `"code":"grant_exceeds_rights"`) {
		t.Fatalf("recruiter resending an offer of Admin: %d %s", status, body)
	}
}
