package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// client calls the local HTTP API as a browser or an app would.
type client struct {
	t     *testing.T
	base  string
	token string // a session, sent as a bearer token
}

func (c client) do(method, path string, body any, headers ...string) (int, http.Header, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
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
	return resp.StatusCode, resp.Header, b
}

func (c client) signIn(tenant, emailAddr, password string) client {
	c.t.Helper()
	status, _, body := c.do("POST", "/auth/sign-in", map[string]string{"tenant": tenant, "email": emailAddr, "password": password})
	if status != http.StatusCreated {
		c.t.Fatalf("sign in %s: %d %s", emailAddr, status, body)
	}
	var s struct{ Token string }
	_ = json.Unmarshal(body, &s)
	c.token = s.Token
	return c
}

// meResponse is the part of GET /me the tests read.
type meResponse struct {
	User        struct{ Email, FirstName string }
	Memberships []struct {
		AccountID string
		Roles     []string
		Licence   string
	}
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

var linkInText = regexp.MustCompile(`https?://\S+/invitations/accept\?token=\S+`)

// waitForEmail reads SES local's store until an email to addr arrives.
func waitForEmail(t *testing.T, addr string) email.StoredEmail {
	t.Helper()
	inbox := email.LocalInbox{Endpoint: os.Getenv(awsclient.EnvSESEndpoint)}
	for range 50 {
		got, err := inbox.To(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 {
			return got[len(got)-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no email to %s", addr)
	return email.StoredEmail{}
}

// pathOf keeps the path and query of the emailed link: the email points at
// PUBLIC_BASE_URL, the test server listens elsewhere.
func pathOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

func unique(label string) string {
	return strings.ToLower(fmt.Sprintf("%s-%s@e2e.example", label, strings.NewReplacer("_", "x", "-", "x").Replace(ids.NewSecret()[:10])))
}

// From the admin's sign-in to the invited user's /me, through the local HTTP
// API, with the email read back from SES local.
func TestInvitationEndToEnd(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	anon := client{t: t, base: srv.URL}
	admin := anon.signIn(ten.ID(), ten.AdminEmail, ten.AdminPassword)
	invitee := unique("newcomer")

	// Invite, with a personal message; a retry with the same key replays.
	body := map[string]any{"emails": []string{invitee}, "roles": []string{"Admin"}, "message": "Welcome to the <team>!"}
	status, _, raw := admin.do("POST", "/accounts/"+ten.AccountID+"/invitations", body, "Idempotency-Key", "e2e-1")
	if status != http.StatusCreated {
		t.Fatalf("invite: %d %s", status, raw)
	}
	res := decode[invitations.InviteResult](t, raw)
	if r := res.Results[0]; r.Result != "created" || r.Delivery != "sent" || r.AcceptURL != "" {
		t.Fatalf("result: %+v", r)
	}
	status, h, again := admin.do("POST", "/accounts/"+ten.AccountID+"/invitations", body, "Idempotency-Key", "e2e-1")
	if status != http.StatusCreated || h.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again, raw) {
		t.Fatalf("replay: %d %v %s", status, h, again)
	}

	// The email, from SES local.
	mail := waitForEmail(t, invitee)
	if !strings.Contains(mail.Subject, "Ada Admin") || !strings.Contains(mail.Body.HTML, "Welcome to the &lt;team&gt;!") {
		t.Fatalf("email: %+v", mail)
	}
	link := linkInText.FindString(mail.Body.Text)
	if link == "" {
		t.Fatalf("no link in %q", mail.Body.Text)
	}
	linkPath := pathOf(t, link)

	// Opening the link shows a page and changes nothing (scanners prefetch).
	for range 2 {
		status, h, page := anon.do("GET", linkPath, nil, "Accept", "text/html")
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("page: %d %v", status, h)
		}
		for _, want := range []string{"Ada Admin", invitee, "Account of " + ten.ID(), "Choose a password", "Welcome to the &lt;team&gt;!"} {
			if !strings.Contains(string(page), want) {
				t.Fatalf("the page lacks %q:\n%s", want, page)
			}
		}
	}
	status, _, offerRaw := anon.do("GET", linkPath, nil, "Accept", "application/json")
	offer := decode[invitations.Offer](t, offerRaw)
	if status != http.StatusOK || offer.Email != invitee || strings.Contains(string(offerRaw), "existingUser") || len(offer.Accounts) != 1 {
		t.Fatalf("offer: %d %s", status, offerRaw)
	}

	// Accept as a new user; the response signs in.
	token, _ := url.QueryUnescape(strings.TrimPrefix(linkPath, "/invitations/accept?token="))
	status, h, accRaw := anon.do("POST", "/invitations/accept", map[string]string{"token": token, "firstName": "Nia", "lastName": "Newcomer",
		"password": "Quartz-Meadow-58-Fern"})
	if status != http.StatusCreated || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("accept: %d %s", status, accRaw)
	}
	acc := decode[invitations.Accepted](t, accRaw)
	if acc.Token == "" || !acc.NewUser || acc.AccountID != ten.AccountID {
		t.Fatalf("accepted: %s", accRaw)
	}
	if strings.Contains(env.Logs.String(), token) || strings.Contains(env.Logs.String(), "Quartz-Meadow") {
		t.Fatal("a secret reached the logs")
	}

	// Sign in as the new user: /me shows the membership with its roles.
	me := anon.signIn(ten.ID(), invitee, "Quartz-Meadow-58-Fern")
	status, _, meRaw := me.do("GET", "/me", nil)
	meView := decode[meResponse](t, meRaw)
	if status != http.StatusOK || meView.User.Email != invitee || meView.User.FirstName != "Nia" || len(meView.Memberships) != 1 ||
		meView.Memberships[0].AccountID != ten.AccountID || strings.Join(meView.Memberships[0].Roles, ",") != "Admin" || meView.Memberships[0].Licence == "" {
		t.Fatalf("/me: %d %s", status, meRaw)
	}
	// The session the accept returned works too.
	if status, _, _ := (client{t: t, base: srv.URL, token: acc.Token}).do("GET", "/me", nil); status != http.StatusOK {
		t.Fatalf("/me with the accept's session: %d", status)
	}

	// The link is used up: a page and a problem say so.
	status, _, page := anon.do("GET", linkPath, nil, "Accept", "text/html")
	if status != http.StatusGone || !strings.Contains(string(page), "already accepted") {
		t.Fatalf("used link: %d %s", status, page)
	}
	status, h, prob := anon.do("POST", "/invitations/accept", map[string]string{"token": token, "firstName": "X", "lastName": "Y", "password": "Quartz-Meadow-58-Fern"})
	if status != http.StatusGone || h.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(prob), "invitation_already_accepted") {
		t.Fatalf("second accept: %d %s", status, prob)
	}
	// The admin sees it accepted.
	status, _, list := admin.do("GET", "/accounts/"+ten.AccountID+"/invitations?status=accepted", nil)
	if status != http.StatusOK || !strings.Contains(string(list), invitee) {
		t.Fatalf("accepted list: %d %s", status, list)
	}
}

// Fifty concurrent POSTs of one link through the API: one 201, 49 410s.
func TestConcurrentAcceptsThroughTheAPI(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	admin := client{t: t, base: srv.URL}.signIn(ten.ID(), ten.AdminEmail, ten.AdminPassword)
	invitee := unique("race")
	status, _, raw := admin.do("POST", "/accounts/"+ten.AccountID+"/invitations", map[string]any{"emails": []string{invitee}, "sendEmail": false})
	if status != http.StatusCreated {
		t.Fatalf("invite: %d %s", status, raw)
	}
	u, _ := url.Parse(decode[invitations.InviteResult](t, raw).Results[0].AcceptURL)
	token := u.Query().Get("token")
	const racers = 50
	codes := make([]int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body []byte
			codes[i], _, body = client{t: t, base: srv.URL}.do("POST", "/invitations/accept",
				map[string]string{"token": token, "firstName": "R", "lastName": fmt.Sprint(i), "password": "Quartz-Meadow-58-Fern"})
			if codes[i] != 201 && codes[i] != 410 {
				t.Logf("racer %d: %d %s", i, codes[i], body)
			}
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusGone] != racers-1 {
		t.Fatalf("status counts %v, want one 201 and %d 410", count, racers-1)
	}
	status, _, list := admin.do("GET", "/accounts/"+ten.AccountID+"/invitations?status=accepted", nil)
	if status != http.StatusOK || strings.Count(string(list), invitee) != 1 {
		t.Fatalf("accepted list: %d %s", status, list)
	}
}

// Someone signed in as another user opens the link: a clear page, and the
// invitation still works for its owner.
func TestSignedInOtherUserOpensTheLink(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	anon := client{t: t, base: srv.URL}
	admin := anon.signIn(ten.ID(), ten.AdminEmail, ten.AdminPassword)
	invitee := unique("owner")
	status, _, raw := admin.do("POST", "/accounts/"+ten.AccountID+"/invitations", map[string]any{"emails": []string{invitee}, "sendEmail": false})
	if status != http.StatusCreated {
		t.Fatalf("invite: %d %s", status, raw)
	}
	linkPath := pathOf(t, decode[invitations.InviteResult](t, raw).Results[0].AcceptURL)
	token, _ := url.QueryUnescape(strings.TrimPrefix(linkPath, "/invitations/accept?token="))

	status, _, page := admin.do("GET", linkPath, nil, "Accept", "text/html")
	if status != http.StatusForbidden || !strings.Contains(string(page), "signed in as "+ten.AdminEmail) || !strings.Contains(string(page), "has not been used") {
		t.Fatalf("page for another user: %d %s", status, page)
	}
	status, _, prob := admin.do("POST", "/invitations/accept", map[string]string{"token": token})
	if status != http.StatusForbidden || !strings.Contains(string(prob), "invitation_for_another_user") ||
		!strings.Contains(string(prob), "this invitation is for "+invitee+"; sign out and sign in as "+invitee) {
		t.Fatalf("accept as another user: %d %s", status, prob)
	}
	if status, _, _ := anon.do("POST", "/invitations/accept", map[string]string{"token": token, "firstName": "O", "lastName": "W",
		"password": "Quartz-Meadow-58-Fern"}); status != http.StatusCreated {
		t.Fatalf("the owner's accept: %d", status)
	}
}

// Unknown, malformed and expired links, before the expiry job has run.
func TestUnusableLinks(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	anon := client{t: t, base: srv.URL}
	admin := anon.signIn(ten.ID(), ten.AdminEmail, ten.AdminPassword)
	status, _, raw := admin.do("POST", "/accounts/"+ten.AccountID+"/invitations", map[string]any{"emails": []string{unique("late")}, "sendEmail": false})
	if status != http.StatusCreated {
		t.Fatalf("invite: %d %s", status, raw)
	}
	linkPath := pathOf(t, decode[invitations.InviteResult](t, raw).Results[0].AcceptURL)
	token, _ := url.QueryUnescape(strings.TrimPrefix(linkPath, "/invitations/accept?token="))

	for name, path := range map[string]string{
		"no token":     "/invitations/accept",
		"garbage":      "/invitations/accept?token=nonsense",
		"wrong secret": "/invitations/accept?token=" + url.QueryEscape(token[:len(token)-4]+"AAAA"),
		"other tenant": "/invitations/accept?token=" + url.QueryEscape("nosuchtenant"+token[strings.Index(token, "."):]),
	} {
		status, _, page := anon.do("GET", path, nil)
		if status != http.StatusNotFound || !strings.Contains(string(page), "not valid") {
			t.Errorf("%s: %d %s", name, status, page)
		}
	}
	env.Clock.Advance(invitations.ValidFor + time.Second)
	status, _, page := anon.do("GET", linkPath, nil)
	if status != http.StatusGone || !strings.Contains(string(page), "expired on Monday 30 November 2026, 09:00 UTC") ||
		!strings.Contains(string(page), ten.AdminEmail) {
		t.Fatalf("expired page: %d %s", status, page)
	}
	status, _, prob := anon.do("POST", "/invitations/accept", map[string]string{"token": token, "firstName": "L", "lastName": "A",
		"password": "Quartz-Meadow-58-Fern"}, "Accept", "application/json")
	p := decode[struct {
		Code, Detail string
		ExpiredAt    time.Time
	}](t, prob)
	if status != http.StatusGone || p.Code != "invitation_expired" || !p.ExpiredAt.Equal(testkit.Start.Add(invitations.ValidFor)) {
		t.Fatalf("expired accept: %d %s", status, prob)
	}
	// Bad bodies change nothing and say why.
	for name, tc := range map[string]struct {
		body   string
		status int
	}{
		"not json":      {`{"token":`, http.StatusBadRequest},
		"unknown field": {`{"token":"x","admin":true}`, http.StatusUnprocessableEntity},
		"no token":      {`{}`, http.StatusUnprocessableEntity},
		"too large":     {`{"token":"` + strings.Repeat("x", 5000) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/invitations/accept", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, tc.status)
		}
	}
}

// An invitation carries its inviter's authority: once the inviter is
// suspended, the page says so instead of offering the form, the accept is
// 410 and changes nothing; an Admin's resend revives it.
func TestInviterSuspendedBeforeTheAccept(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	anon := client{t: t, base: srv.URL}
	admin := anon.signIn(ten.ID(), ten.AdminEmail, ten.AdminPassword)
	inviter := env.AddUser(t, ten, ten.AccountID, unique("inviter"), "", access.RoleAdmin)
	asInviter := anon.signIn(ten.ID(), inviter.Email, inviter.Password)
	invitee := unique("orphaned")
	status, _, raw := asInviter.do("POST", "/accounts/"+ten.AccountID+"/invitations", map[string]any{"emails": []string{invitee}, "sendEmail": false})
	if status != http.StatusCreated {
		t.Fatalf("invite: %d %s", status, raw)
	}
	r := decode[invitations.InviteResult](t, raw).Results[0]
	linkPath := pathOf(t, r.AcceptURL)
	token, _ := url.QueryUnescape(strings.TrimPrefix(linkPath, "/invitations/accept?token="))
	err := env.Store.Do(context.Background(), "suspend the inviter", store.Update(ten.User(inviter.ID),
		store.BumpVersion().Set(expression.Name("status"), expression.Value("suspended"))))
	if err != nil {
		t.Fatal(err)
	}

	status, _, page := anon.do("GET", linkPath, nil)
	if status != http.StatusGone || !strings.Contains(string(page), "can no longer grant this access; ask an Admin of Account of "+ten.ID()) ||
		strings.Contains(string(page), "<form") {
		t.Fatalf("page: %d %s", status, page)
	}
	accept := map[string]string{"token": token, "firstName": "O", "lastName": "Rphan", "password": "Quartz-Meadow-58-Fern"}
	status, _, prob := anon.do("POST", "/invitations/accept", accept, "Accept", "application/json")
	if p := decode[struct{ Code string }](t, prob); status != http.StatusGone || p.Code != "inviter_cannot_grant" {
		t.Fatalf("accept: %d %s", status, prob)
	}
	status, _, list := admin.do("GET", "/accounts/"+ten.AccountID+"/invitations?status=pending", nil)
	if status != http.StatusOK || !strings.Contains(string(list), r.InvitationID) {
		t.Fatalf("the invitation is no longer pending: %d %s", status, list)
	}

	status, _, raw = admin.do("POST", "/invitations/"+r.InvitationID+"/resend", map[string]any{"sendEmail": false})
	if status != http.StatusOK {
		t.Fatalf("resend: %d %s", status, raw)
	}
	resent := decode[invitations.Resent](t, raw)
	if resent.Invitation.Inviter.ID != ten.AdminID {
		t.Fatalf("inviter after the resend: %+v", resent.Invitation.Inviter)
	}
	newPath := pathOf(t, resent.AcceptURL)
	accept["token"], _ = url.QueryUnescape(strings.TrimPrefix(newPath, "/invitations/accept?token="))
	if status, _, body := anon.do("POST", "/invitations/accept", accept); status != http.StatusCreated {
		t.Fatalf("accept after the resend: %d %s", status, body)
	}
}
