package handler_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/testkit"
)

// form posts values form-encoded, as a browser without script does.
func (c client) form(path string, values url.Values) (int, http.Header, []byte) {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+path, strings.NewReader(values.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// invite invites addr into the tenant's account without email and returns
// the invitation id and the link's token.
func invite(t *testing.T, admin client, accountID, addr string) (string, string) {
	t.Helper()
	status, _, raw := admin.do("POST", "/accounts/"+accountID+"/invitations", map[string]any{"emails": []string{addr}, "sendEmail": false})
	if status != http.StatusCreated {
		t.Fatalf("invite: %d %s", status, raw)
	}
	r := decode[invitations.InviteResult](t, raw).Results[0]
	u, err := url.Parse(r.AcceptURL)
	if err != nil {
		t.Fatal(err)
	}
	return r.InvitationID, u.Query().Get("token")
}

// snapshot is every item of the table, as text: refused requests must leave
// it exactly as it was (no counter, no lock, no version bump anywhere).
func snapshot(t *testing.T, env *testkit.Env) []string {
	t.Helper()
	var out []string
	p := dynamodb.NewScanPaginator(env.DB, &dynamodb.ScanInput{TableName: env.TableName()})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var v map[string]any
			if err := attributevalue.UnmarshalMap(it, &v); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(v) // map keys sorted: one text per item
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
	}
	sort.Strings(out)
	return out
}

// diff lists the items only in a and only in b.
func diff(a, b []string) (onlyA, onlyB []string) {
	in := func(s []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range s {
			m[x] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	for _, x := range a {
		if !mb[x] {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if !ma[x] {
			onlyB = append(onlyB, x)
		}
	}
	return onlyA, onlyB
}

type problem struct {
	Status       int
	Code, Detail string
}

// An invitation to an address that has an account is accepted in its
// owner's own session, never with a password posted to the public accept:
// every refused attempt is 422 sign_in_to_accept or 403 and writes nothing
// anywhere, and the invitee's session then accepts.
func TestExistingUserAcceptsInTheirOwnSessionOverHTTP(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	env.OwnTable(t, "acc") // the test compares the whole table before and after
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	anon := client{t: t, base: srv.URL}
	admin := anon.signIn(ten.ID(), ten.AdminEmail, ten.AdminPassword)
	u := env.AddUser(t, ten, env.AddAccount(t, ten, "Home Co"), unique("existing"), "")
	id, token := invite(t, admin, ten.AccountID, u.Email)
	linkPath := "/invitations/accept?token=" + url.QueryEscape(token)
	invitee := anon.signIn(ten.ID(), u.Email, u.Password) // POST /auth/sign-in: the throttled way in

	// The JSON view says whether the address has an account only to the
	// invitee's own session, not to whoever holds the link.
	status, _, raw := anon.do("GET", linkPath, nil, "Accept", "application/json")
	view := decode[map[string]any](t, raw)
	if _, shown := view["existingUser"]; status != http.StatusOK || shown || view["email"] != u.Email || view["signedIn"] != false {
		t.Fatalf("anonymous view: %d %s", status, raw)
	}
	status, _, raw = invitee.do("GET", linkPath, nil, "Accept", "application/json")
	view = decode[map[string]any](t, raw)
	if status != http.StatusOK || view["existingUser"] != true || view["signedIn"] != true {
		t.Fatalf("the invitee's view: %d %s", status, raw)
	}
	// The page offers the sign-in form, not a password for the accept.
	status, _, page := anon.do("GET", linkPath, nil, "Accept", "text/html")
	if status != http.StatusOK || !strings.Contains(string(page), `data-sign-in="1"`) || strings.Contains(string(page), `name="password"`) {
		t.Fatalf("page: %d %s", status, page)
	}

	before := snapshot(t, env)
	refused := []struct {
		name   string
		as     client
		body   map[string]string
		status int
		code   string
		detail string
	}{
		{"its right password", anon, map[string]string{"token": token, "password": u.Password}, 422, "sign_in_to_accept", "sign in as " + u.Email + " and accept"},
		{"the new-user form", anon, map[string]string{"token": token, "firstName": "D", "lastName": "Up", "password": "Quartz-Meadow-58-Fern"}, 422, "sign_in_to_accept", "sign in as " + u.Email},
		{"no session", anon, map[string]string{"token": token}, 422, "sign_in_to_accept", "sign in as " + u.Email},
		{"a password with the session", invitee, map[string]string{"token": token, "password": u.Password}, 422, "sign_in_to_accept", "sign in as " + u.Email},
		{"another user's session", admin, map[string]string{"token": token}, 403, "invitation_for_another_user",
			"this invitation is for " + u.Email + "; sign out and sign in as " + u.Email},
	}
	// Wrong passwords, more than any lockout would allow: none is checked.
	for range 7 {
		refused = append(refused, refused[0])
		refused[len(refused)-1].name, refused[len(refused)-1].body = "a wrong password", map[string]string{"token": token, "password": "Wrong-Guess-99-x"}
	}
	for _, c := range refused {
		status, h, raw := c.as.do("POST", "/invitations/accept", c.body, "Accept", "application/json")
		p := decode[problem](t, raw)
		if status != c.status || p.Code != c.code || !strings.Contains(p.Detail, c.detail) || h.Get("Content-Type") != "application/problem+json" ||
			h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %v %s", c.name, status, h, raw)
		}
	}
	if gone, added := diff(before, snapshot(t, env)); len(gone)+len(added) > 0 {
		t.Fatalf("refused accepts wrote to the table:\nitems before %q\nitems after %q", gone, added)
	}
	// The invitee's sign-in is not locked by the guesses either.
	invitee2 := anon.signIn(ten.ID(), u.Email, u.Password)

	status, h, raw := invitee2.do("POST", "/invitations/accept", map[string]string{"token": token})
	acc := decode[invitations.Accepted](t, raw)
	if status != http.StatusCreated || h.Get("Cache-Control") != "no-store" || acc.NewUser || acc.UserID != u.ID || acc.Token == "" {
		t.Fatalf("accept in the invitee's session: %d %s", status, raw)
	}
	status, _, list := admin.do("GET", "/accounts/"+ten.AccountID+"/invitations?status=accepted", nil)
	if status != http.StatusOK || !strings.Contains(string(list), id) {
		t.Fatalf("accepted list: %d %s", status, list)
	}
}

var (
	inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	inlineStyle  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
)

func sha256Source(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// checkPageHeaders: nosniff, and a policy that runs no inline code but the
// script and style the page actually holds, by their hash.
func checkPageHeaders(t *testing.T, what string, h http.Header, page []byte) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if h.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") ||
		csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("%s: headers %v", what, h)
	}
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for _, m := range inlineScript.FindAllStringSubmatch(string(page), -1) {
		if !strings.Contains(directives["script-src"], sha256Source(m[1])) {
			t.Fatalf("%s: the served script is not admitted by %q", what, csp)
		}
	}
	for _, m := range inlineStyle.FindAllStringSubmatch(string(page), -1) {
		if !strings.Contains(directives["style-src"], sha256Source(m[1])) {
			t.Fatalf("%s: the served style is not admitted by %q", what, csp)
		}
	}
}

// The page over HTTP: its headers, and its form without script: a
// form-encoded accept is answered with a page, an error page for a bad form
// (nothing changes), the welcome page for a good one.
func TestAcceptPageHardeningAndTheFormWithoutScript(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	anon := client{t: t, base: srv.URL}
	admin := anon.signIn(ten.ID(), ten.AdminEmail, ten.AdminPassword)
	addr := unique("noscript")
	id, token := invite(t, admin, ten.AccountID, addr)
	linkPath := "/invitations/accept?token=" + url.QueryEscape(token)

	status, h, page := anon.do("GET", linkPath, nil, "Accept", "text/html")
	if status != http.StatusOK || len(inlineScript.FindAllString(string(page), -1)) != 1 {
		t.Fatalf("page: %d %s", status, page)
	}
	checkPageHeaders(t, "page", h, page)
	if !strings.Contains(string(page), `<form id="accept" method="post" action="accept"`) || !strings.Contains(string(page), `name="firstName"`) ||
		!strings.Contains(string(page), `name="password"`) {
		t.Fatalf("the form does not post without script:\n%s", page)
	}
	status, h, _ = anon.do("GET", linkPath, nil, "Accept", "application/json")
	if status != http.StatusOK || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("JSON view: %d %v", status, h)
	}
	status, h, page = anon.do("GET", "/invitations/accept?token=nonsense", nil)
	if status != http.StatusNotFound {
		t.Fatalf("unknown link: %d", status)
	}
	checkPageHeaders(t, "unknown link", h, page)

	for name, c := range map[string]struct {
		form   url.Values
		status int
		want   string
	}{
		"no last name":  {url.Values{"token": {token}, "firstName": {"Nia"}, "password": {"Quartz-Meadow-58-Fern"}}, 422, "your last name is required"},
		"weak password": {url.Values{"token": {token}, "firstName": {"Nia"}, "lastName": {"N"}, "password": {"short"}}, 422, "<li>"},
		"unknown field": {url.Values{"token": {token}, "firstName": {"Nia"}, "lastName": {"N"}, "password": {"Quartz-Meadow-58-Fern"}, "admin": {"1"}}, 422,
			"this field is not part of the form"},
		"repeated field": {url.Values{"token": {token, token}, "firstName": {"Nia"}, "lastName": {"N"}, "password": {"Quartz-Meadow-58-Fern"}}, 422,
			"sent more than once"},
		"no token":    {url.Values{"firstName": {"Nia"}}, 422, "the token from the invitation link is required"},
		"wrong token": {url.Values{"token": {token[:len(token)-4] + "AAAA"}, "firstName": {"Nia"}, "lastName": {"N"}, "password": {"Quartz-Meadow-58-Fern"}}, 404, "not valid"},
	} {
		status, h, page := anon.form("/invitations/accept", c.form)
		if status != c.status || !strings.Contains(string(page), c.want) || !strings.Contains(string(page), "<!doctype html>") {
			t.Errorf("%s: %d %s", name, status, page)
			continue
		}
		checkPageHeaders(t, name, h, page)
	}
	var inv invitations.Invitation
	if ok, err := env.Store.Get(context.Background(), ten.Invitation(id), &inv); err != nil || !ok || inv.Status != invitations.StatusPending || inv.Version != 1 {
		t.Fatalf("a bad form changed the invitation: %+v %v", inv, err)
	}

	status, h, page = anon.form("/invitations/accept", url.Values{"token": {token}, "firstName": {"Nia"}, "lastName": {"Noscript"}, "password": {"Quartz-Meadow-58-Fern"}})
	if status != http.StatusCreated || !strings.Contains(string(page), "You accepted the invitation") || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("form accept: %d %s", status, page)
	}
	checkPageHeaders(t, "welcome", h, page)
	anon.signIn(ten.ID(), addr, "Quartz-Meadow-58-Fern")

	// An existing user without script is told to sign in, as a page.
	u := env.AddUser(t, ten, env.AddAccount(t, ten, "Elsewhere"), unique("existing"), "")
	_, token = invite(t, admin, ten.AccountID, u.Email)
	status, h, page = anon.form("/invitations/accept", url.Values{"token": {token}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(page), "<title>Sign in to accept this invitation</title>") ||
		!strings.Contains(string(page), "sign in as "+u.Email+" and accept") {
		t.Fatalf("existing user's form: %d %s", status, page)
	}
	checkPageHeaders(t, "sign in page", h, page)
}
