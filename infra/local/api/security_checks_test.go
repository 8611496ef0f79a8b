package api_test

// The checks that follow the matrix: what a refusal must not reveal, and
// where a secret must never be found.

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/testkit"
)

// checkAssociateHome: a member of A1 associated into A2 may be read by A2's
// admin, who may change their role in A2 or remove their access there, but
// not edit, suspend, sign out, set the password of or delete the person:
// that belongs to their home account's admins.
func (w *securityWorld) checkAssociateHome(t *testing.T) {
	x := w.member(t, w.a.AccountID, "")
	cmd, err := associates.AssociateRequest{Accounts: []associates.AccountRoles{{AccountID: w.a2, Roles: []string{access.RoleViewer}}}}.Command(w.operatorCaller(), x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := associates.New(w.env.Service()).Associate(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	before := w.tenantItems(t, w.a)
	for _, c := range []struct {
		p    probe
		want int
	}{
		{probe{method: "GET", path: "/users/" + x.ID}, 200},
		{probe{method: "PATCH", path: "/users/" + x.ID, body: `{"firstName":"Mallory"}`}, 403},
		{probe{method: "PUT", path: "/users/" + x.ID + "/password", body: jsonBody(map[string]string{"adminPassword": testkit.Password, "password": strongPassword})}, 403},
		{probe{method: "POST", path: "/users/" + x.ID + "/suspend"}, 403},
		{probe{method: "POST", path: "/users/" + x.ID + "/sign-out"}, 403},
		{probe{method: "DELETE", path: "/users/" + x.ID}, 403},
		{probe{method: "PUT", path: "/accounts/" + w.a.AccountID + "/users/" + x.ID + "/roles", body: `{"roles":["Admin"]}`}, 403},
	} {
		if status, body, _ := w.do(t, w.otherAdminTok, c.p); status != c.want {
			t.Errorf("%s %s as A2's admin over A1's associate: %d, want %d: %.300s", c.p.method, c.p.path, status, c.want, body)
		}
	}
	if changed := diff(before, w.tenantItems(t, w.a)); len(changed) > 0 {
		t.Errorf("refused requests changed tenant A: %v", changed)
	}
	for _, c := range []struct {
		p    probe
		want int
	}{
		{probe{method: "PATCH", path: "/accounts/" + w.a2 + "/associates/" + x.ID, body: `{"roles":["Admin"]}`, headers: map[string]string{"If-Match": `"1"`}}, 200},
		{probe{method: "DELETE", path: "/accounts/" + w.a2 + "/associates/" + x.ID}, 204},
	} {
		if status, body, _ := w.do(t, w.otherAdminTok, c.p); status != c.want {
			t.Errorf("%s %s as A2's admin: %d, want %d: %.300s", c.p.method, c.p.path, status, c.want, body)
		}
	}
}

var requestIDField = regexp.MustCompile(`"requestId":"[^"]*"`)

// checkSignInSameAnswer: an unknown email and a known email with a wrong
// password get the same status and the same bytes, the request id aside;
// so do the two once both are locked out by repeated failures.
func (w *securityWorld) checkSignInSameAnswer(t *testing.T) {
	known := w.member(t, w.a.AccountID, "")
	unknown := w.email(w.a, "nobody")
	answer := func(email string) (int, string) {
		status, body, hdr := w.do(t, "", probe{method: "POST", path: "/auth/sign-in",
			body: jsonBody(map[string]string{"tenant": w.a.ID(), "email": email, "password": wrongPassword})})
		return status, hdr.Get("Content-Type") + " " + requestIDField.ReplaceAllString(string(body), `"requestId":"-"`)
	}
	for attempt := 1; attempt <= 6; attempt++ { // the 6th is past the lockout (auth.MaxFailures)
		ks, kb := answer(known.Email)
		us, ub := answer(unknown)
		ss, sb := answer(w.suspendedEmail) // suspended: still no different
		if ks != us || kb != ub || ss != us || sb != ub {
			t.Errorf("attempt %d: known email %d %s\nunknown email %d %s\nsuspended user %d %s", attempt, ks, kb, us, ub, ss, sb)
		}
		if attempt == 1 && ks != 401 {
			t.Errorf("wrong password: %d %s", ks, kb)
		}
		if attempt == 6 && ks != 429 {
			t.Errorf("after %d failures: %d %s", attempt-1, ks, kb)
		}
	}
}

// checkInviteSameAnswer: inviting the address of an existing user of the
// tenant (a member of another account) answers the inviter exactly as
// inviting a new address does, ids, addresses and instants aside. Inviting
// someone who is a member of the account already says so ("already_member"):
// the inviter, an Admin of the account, can list its members anyway.
func (w *securityWorld) checkInviteSameAnswer(t *testing.T) {
	existing := w.env.AddUser(t, w.a, w.a2, w.email(w.a, "existing"), "", access.RoleViewer)
	fresh := w.email(w.a, "fresh")
	answer := func(email string) (int, string) {
		status, body, _ := w.do(t, w.adminTok, probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/invitations",
			body: jsonBody(map[string]any{"emails": []string{email}, "roles": []string{"Viewer"}, "message": "Welcome", "sendEmail": false})})
		w.rememberFrom(body)
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("invite %s: %d %s", email, status, body)
		}
		return status, normalise(v, email)
	}
	es, eb := answer(existing.Email)
	fs, fb := answer(fresh)
	if es != fs || eb != fb {
		t.Errorf("inviting an existing user's address:\n%d %s\ninviting a new address:\n%d %s", es, eb, fs, fb)
	}
	if fs != 201 || !strings.Contains(fb, `"created"`) {
		t.Errorf("invite a new address: %d %s", fs, fb)
	}
	if ms, mb := answer(w.viewerEmail); ms != 200 && ms != 201 || !strings.Contains(mb, "already_member") {
		t.Errorf("inviting a member again should say already_member: %d %s", ms, mb)
	}
}

// normalise renders v as JSON with the values that name this invitation
// (ids, the address, links, instants) replaced by their kind.
func normalise(v any, email string) string {
	var walk func(k string, v any) any
	walk = func(k string, v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k2, v2 := range x {
				x[k2] = walk(k2, v2)
			}
			return x
		case []any:
			for i := range x {
				x[i] = walk(k, x[i])
			}
			return x
		case string:
			switch {
			case strings.EqualFold(x, email):
				return "<email>"
			case strings.HasSuffix(k, "Id") || k == "id" || k == "requestId":
				return "<id>"
			case strings.HasSuffix(k, "At") || strings.HasSuffix(k, "Url") || strings.HasSuffix(k, "URL"):
				return "<" + k + ">"
			}
		}
		return v
	}
	b, _ := json.Marshal(walk("", v))
	return string(b)
}

// emailedSecrets: an invitation sent by email and a generated password land
// in SES local; their secrets join the list the table and logs are scanned
// for. The generated password is proved real by signing in with it.
func (w *securityWorld) emailedSecrets(t *testing.T) {
	ctx := context.Background()
	inbox := email.LocalInbox{Endpoint: os.Getenv(awsclient.EnvSESEndpoint)}
	invitee := w.email(w.a, "mailed")
	status, body, _ := w.do(t, w.adminTok, probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/invitations",
		body: jsonBody(map[string]any{"emails": []string{invitee}, "roles": []string{"Viewer"}, "sendEmail": true})})
	if status != 201 {
		t.Fatalf("invite by email: %d %s", status, body)
	}
	m := w.member(t, w.a.AccountID, "")
	status, body, _ = w.do(t, w.adminTok, probe{method: "PUT", path: "/users/" + m.ID + "/password",
		body: jsonBody(map[string]any{"adminPassword": testkit.Password, "generate": true})})
	if status != 200 || !strings.Contains(string(body), `"emailed":true`) {
		t.Fatalf("generate a password: %d %s", status, body)
	}

	mails, err := inbox.To(ctx, invitee)
	if err != nil || len(mails) != 1 {
		t.Fatalf("invitation email: %v, %d emails", err, len(mails))
	}
	token := invitationToken.FindStringSubmatch(mails[0].Body.Text)
	if token == nil {
		t.Fatalf("no token in the invitation email: %s", mails[0].Body.Text)
	}
	raw, err := url.QueryUnescape(token[1])
	if err != nil {
		t.Fatal(err)
	}
	w.remember(raw)

	mails, err = inbox.To(ctx, m.Email)
	if err != nil || len(mails) != 1 {
		t.Fatalf("password email: %v, %d emails", err, len(mails))
	}
	password := generatedPassword.FindStringSubmatch(mails[0].Body.Text)
	if password == nil {
		t.Fatalf("no password in the email: %s", mails[0].Body.Text)
	}
	w.remember(password[1])
	status, body, _ = w.do(t, "", probe{method: "POST", path: "/auth/sign-in",
		body: jsonBody(map[string]string{"tenant": w.a.ID(), "email": m.Email, "password": password[1]})})
	if status != 201 {
		t.Fatalf("sign in with the generated password: %d %s", status, body)
	}
	w.rememberFrom(body)
}

var (
	invitationToken   = regexp.MustCompile(`[?&]token=([^&\s"<>]+)`)
	generatedPassword = regexp.MustCompile(`\n\n    (\S+)\n\n`)
)

var tokenField = regexp.MustCompile(`"(?:token|password|acceptUrl|secret)"\s*:\s*"([^"]+)"`)

// rememberFrom records the secrets a response hands out (session tokens,
// invitation links, API key secrets).
func (w *securityWorld) rememberFrom(body []byte) {
	for _, m := range tokenField.FindAllSubmatch(body, -1) {
		s := string(m[1])
		if u, err := url.Parse(s); err == nil && u.Query().Get("token") != "" {
			s = u.Query().Get("token")
		}
		w.remember(s)
	}
}

// checkNoSecrets scans every string of every item of the table, and every
// log line, for every raw token and password issued during the test.
func (w *securityWorld) checkNoSecrets(t *testing.T) {
	t.Helper()
	type attribute struct{ where, text string }
	var texts []attribute
	for _, item := range w.scan(t) {
		for name, v := range item {
			where := testkit.AttrString(item["PK"]) + " | " + testkit.AttrString(item["SK"]) + " | " + name
			texts = append(texts, attribute{where, testkit.AttrString(v)})
		}
	}
	logs := w.env.Logs.String()
	w.mu.Lock()
	secrets := append([]string(nil), w.secrets...)
	w.mu.Unlock()
	sort.Strings(secrets)
	if len(secrets) < 20 {
		t.Fatalf("only %d secrets were issued: the scan would prove little", len(secrets))
	}
	for _, s := range secrets {
		needle := s
		if _, secret, ok := strings.Cut(s, "."); ok && len(secret) >= 32 {
			needle = secret // a token is "tenant.secret": the tenant id is no secret
		}
		if strings.Contains(logs, needle) {
			t.Errorf("the logs contain a secret (%.6s…)", needle)
		}
		for _, a := range texts {
			if strings.Contains(a.text, needle) {
				t.Errorf("the table holds a secret (%.6s…) in %s", needle, a.where)
				break
			}
		}
	}
	t.Logf("checked %d secrets against %d attributes and %d bytes of logs", len(secrets), len(texts), len(logs))
}
