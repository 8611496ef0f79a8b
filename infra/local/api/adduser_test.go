package api_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/testkit"
)

var emailedCode = regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`)

// Through the local HTTP API: an Admin adds a user with a password; the
// user's first sign-in asks for the code emailed to the address (read back
// from SES local), the same sign-in with the code opens a session, and the
// next sign-in is plain.
func TestAnAddedUserSignsInAfterProvingTheAddress(t *testing.T) {
	t.Parallel()
	w := newSecurityWorld(t)
	addr := w.email(w.a, "new-hire")
	const password = "Copper-Lantern-58-Ridge"
	w.remember(password)
	status, body, _ := w.do(t, w.adminTok, probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/users",
		body: jsonBody(map[string]any{"email": addr, "firstName": "Noor", "lastName": "Hire", "roles": []string{"Viewer"},
			"adminPassword": testkit.Password, "password": password})})
	if status != 201 {
		t.Fatalf("add user: %d %s", status, body)
	}
	signIn := func(code string) (int, map[string]any) {
		req := map[string]string{"tenant": w.a.ID(), "email": addr, "password": password}
		if code != "" {
			req["emailCode"] = code
		}
		status, raw, _ := w.do(t, "", probe{method: "POST", path: "/auth/sign-in", body: jsonBody(req)})
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return status, out
	}
	if status, out := signIn(""); status != 403 || out["code"] != "email_code_required" {
		t.Fatalf("first sign-in: %d %v, want 403 email_code_required", status, out)
	}
	msgs, err := email.LocalInbox{Endpoint: os.Getenv(awsclient.EnvSESEndpoint)}.To(context.Background(), addr)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("no email to %s: %v", addr, err)
	}
	m := emailedCode.FindStringSubmatch(msgs[len(msgs)-1].Body.Text)
	if m == nil {
		t.Fatalf("no code in %q", msgs[len(msgs)-1].Body.Text)
	}
	w.remember(m[1])
	if status, out := signIn("000000"); status != 401 || out["code"] != "wrong_email_code" {
		t.Fatalf("a wrong code: %d %v", status, out)
	}
	if status, out := signIn(m[1]); status != 201 || !strings.HasPrefix(out["token"].(string), w.a.ID()+".") {
		t.Fatalf("sign-in with the code: %d %v", status, out)
	}
	if status, out := signIn(""); status != 201 {
		t.Fatalf("a later sign-in: %d %v", status, out)
	}
}
