package api_test

import (
	"context"
	"encoding/base32"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/twofactor"
)

// A session alone enrols nothing: adding an authenticator and replacing
// the recovery codes need the current password again, checked by the
// limiter of password checks, so a stolen session cannot add a factor that
// locks the rightful user out.
func TestEnrollingASecondFactorNeedsTheCurrentPassword(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	c := client{t, httptest.NewServer(api.New(env.Deps)).URL}
	ten := env.NewTenant(t)
	u := env.AddUser(t, ten, ten.AccountID, strings.ToLower("reauth-"+env.IDs.NewID()+"@example.com"), "", "Viewer")
	status, body, _ := c.do("POST", "/auth/sign-in", "", toJSON(map[string]string{"tenant": ten.ID(), "email": u.Email, "password": u.Password}))
	tok, _ := body["token"].(string)
	if status != 201 || tok == "" {
		t.Fatalf("sign-in: %d %v", status, body)
	}
	factors := func() twofactor.Factors {
		t.Helper()
		var f twofactor.Factors
		if _, err := env.Store.Get(context.Background(), ten.TwoFactor(u.ID), &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	wantProblem := func(what string, status int, prob map[string]any, want int, code string) {
		t.Helper()
		if status != want || prob["code"] != code {
			t.Fatalf("%s: %d %v, want %d %s", what, status, prob, want, code)
		}
	}
	start := func(password string) (int, map[string]any) {
		t.Helper()
		status, body, _ := c.do("POST", "/me/two-factor", tok, toJSON(map[string]string{"method": "totp", "currentPassword": password}))
		return status, body
	}

	status, prob := start("")
	wantProblem("no current password", status, prob, 422, "validation_failed")
	status, prob = start("Not-The-Password-42")
	wantProblem("a wrong current password", status, prob, 403, "wrong_password")
	if strings.Contains(fmt.Sprint(prob), "Not-The-Password-42") {
		t.Fatalf("the answer repeats the password: %v", prob)
	}
	if f := factors(); f.PendingTOTP != "" || f.TOTP != "" {
		t.Fatalf("a wrong password started an enrolment: %+v", f)
	}

	// The right one: a key, confirmed by its first code.
	status, enr := start(u.Password)
	secret, _ := enr["secret"].(string)
	if status != 200 || secret == "" {
		t.Fatalf("start with the right password: %d %v", status, enr)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	code := twofactor.TOTPCode(key, twofactor.Step(env.Clock.Now()))
	if status, body, _ := c.do("POST", "/me/two-factor/confirm", tok, toJSON(map[string]string{"method": "totp", "code": code})); status != 200 {
		t.Fatalf("confirm: %d %v", status, body)
	}
	recovery := factors().Recovery

	regenerate := func(password string) (int, map[string]any) {
		t.Helper()
		status, body, _ := c.do("POST", "/me/two-factor/recovery-codes", tok, toJSON(map[string]string{"currentPassword": password}))
		return status, body
	}
	status, prob, _ = c.do("POST", "/me/two-factor/recovery-codes", tok, "")
	wantProblem("no body", status, prob, 400, "empty_body")
	status, prob = regenerate("")
	wantProblem("new recovery codes without the password", status, prob, 422, "validation_failed")
	status, prob = regenerate("Not-The-Password-42")
	wantProblem("new recovery codes with a wrong password", status, prob, 403, "wrong_password")
	if !slices.Equal(factors().Recovery, recovery) {
		t.Fatal("a wrong password replaced the recovery codes")
	}
	if status, body := regenerate(u.Password); status != 200 || len(body["recoveryCodes"].([]any)) != twofactor.RecoveryCodes {
		t.Fatalf("new recovery codes with the right password: %d %v", status, body)
	}
	recovery = factors().Recovery

	// Wrong guesses lock both routes as they lock sign-in: then even the
	// right password is 429 and nothing changes.
	for i := range tenancy.DefaultLimits.PerClientFailures {
		status, prob := regenerate(fmt.Sprintf("Guess-%d-Wrong-Pass", i))
		wantProblem("a guess", status, prob, 403, "wrong_password")
	}
	status, prob = regenerate(u.Password)
	wantProblem("new recovery codes while locked", status, prob, 429, "too_many_sign_in_attempts")
	status, prob = start(u.Password)
	wantProblem("an authenticator while locked", status, prob, 429, "too_many_sign_in_attempts")
	if f := factors(); !slices.Equal(f.Recovery, recovery) || f.PendingTOTP != "" {
		t.Fatalf("a locked re-authentication changed the factors: %+v", f)
	}
	status, prob, _ = c.do("POST", "/auth/sign-in", "", toJSON(map[string]string{"tenant": ten.ID(), "email": u.Email, "password": u.Password}))
	wantProblem("sign-in is locked too", status, prob, 429, "too_many_sign_in_attempts")
}
