package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/testkit"
)

type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path, token, body string) (int, map[string]any, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if scheme, _, ok := strings.Cut(token, " "); ok && scheme == "Basic" {
		req.Header.Set("Authorization", token) // not a bearer token at all
	} else if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out, resp.Header
}

// Through the local HTTP API: sign in, read /me, sign out, and every way a
// request without a valid session is refused.
func TestSignInThroughTheLocalAPI(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	c := client{t, srv.URL}

	status, body, _ := c.do("POST", "/auth/sign-in", "", `{"tenant":"`+ten.ID()+`","email":"`+strings.ToUpper(ten.AdminEmail)+`","password":"`+ten.AdminPassword+`"}`)
	if status != 201 {
		t.Fatalf("sign-in: %d %v", status, body)
	}
	token, _ := body["token"].(string)

	status, me, _ := c.do("GET", "/me", token, "")
	user, _ := me["user"].(map[string]any)
	if status != 200 || user["email"] != ten.AdminEmail || me["activeAccountId"] != ten.AccountID {
		t.Fatalf("/me: %d %v", status, me)
	}
	if strings.Contains(toJSON(me), "passwordHash") || strings.Contains(toJSON(me), "$argon2id") {
		t.Fatal("/me leaks the password hash")
	}

	// No Authorization header: the function answers 401 problem+json.
	if status, prob, hdr := c.do("GET", "/me", "", ""); status != 401 || prob["code"] != "unauthenticated" ||
		hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("no token: %d %v", status, prob)
	}
	// A token that is not a session: 401 problem+json from the handler.
	status, prob, hdr := c.do("GET", "/me", ten.ID()+".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "")
	if status != 401 || prob["code"] != "unauthenticated" || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("bad token: %d %v", status, prob)
	}
	// Another scheme: 401 problem+json too, saying why.
	status, prob, _ = c.do("GET", "/me", "Basic dXNlcjpwYXNz", "")
	if status != 401 || !strings.Contains(fmt.Sprint(prob["detail"]), "not a bearer token") {
		t.Fatalf("basic auth: %d %v", status, prob)
	}
	if status, _, _ := c.do("POST", "/auth/sign-out", token, ""); status != 204 {
		t.Fatalf("sign-out: %d", status)
	}
	status, prob, _ = c.do("GET", "/me", token, "")
	if status != 401 || !strings.Contains(prob["detail"].(string), "signed out") {
		t.Fatalf("after sign-out: %d %v", status, prob)
	}

	// Bad input is refused clearly.
	for _, bad := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"tenant":`, 400, "malformed_json"},
		{`{"tenant":"x","email":"a@b.example","password":"p","role":"Admin"}`, 422, "validation_failed"},
		{`{"tenant":"x","email":"not-an-email","password":"p"}`, 422, "validation_failed"},
		{`{"tenant":"` + ten.ID() + `","email":"` + ten.AdminEmail + `","password":"wrong-Password-1"}`, 401, "invalid_credentials"},
	} {
		status, prob, _ := c.do("POST", "/auth/sign-in", "", bad.body)
		if status != bad.status || prob["code"] != bad.code {
			t.Errorf("sign-in %s: %d %v", bad.body, status, prob)
		}
	}
	if status, _, _ := c.do("GET", "/nowhere", "", ""); status != 404 {
		t.Fatalf("unknown route: %d", status)
	}
	big := `{"tenant":"` + strings.Repeat("x", 11<<20) + `"}`
	if status, _, _ := c.do("POST", "/auth/sign-in", "", big); status != 413 {
		t.Fatalf("oversized body: %d", status)
	}

	// Every log line is JSON with the request id; none holds a secret.
	logs := env.Logs.String()
	secret := strings.SplitN(token, ".", 2)[1]
	for _, forbidden := range []string{secret, ten.AdminPassword, "wrong-Password-1", "$argon2id"} {
		if strings.Contains(logs, forbidden) {
			t.Fatalf("logs contain a secret (%q)", forbidden[:4])
		}
	}
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["route"] != nil && rec["requestId"] == "" {
			t.Fatalf("log line without request id: %s", line)
		}
		if rec["route"] != nil {
			lines++
		}
	}
	if lines < 8 {
		t.Fatalf("only %d request log lines", lines)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
