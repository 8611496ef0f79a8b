package handler_test

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/twofactor"
	"github.com/acme/accountadmin/shared/twofactor/kmsseal"
)

// An existing user with an authenticator accepts an invitation through
// both steps: the password alone gives a challenge, no session to accept
// with; the code gives the session that accepts.
func TestExistingUserWithTwoFactorAcceptsThroughBothSteps(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	anon := client{t: t, base: srv.URL}
	admin := anon.signIn(ten.ID(), ten.AdminEmail, ten.AdminPassword)
	u := env.AddUser(t, ten, env.AddAccount(t, ten, "Home Co"), unique("existing"), "")
	ctx := context.Background()
	tf := &twofactor.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs, Sealer: kmsseal.FromEnv(env.AWS)}
	var user identity.User
	if _, err := env.Store.Get(ctx, ten.User(u.ID), &user); err != nil {
		t.Fatal(err)
	}
	enr, err := tf.StartTOTP(ctx, ten.Tenant, user)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
	step := twofactor.Step(env.Clock.Now())
	if _, err := tf.ConfirmTOTP(ctx, ten.Tenant, user, changelog.Actor{Kind: changelog.ActorUser, ID: u.ID}, "", twofactor.TOTPCode(key, step)); err != nil {
		t.Fatal(err)
	}
	_, token := invite(t, admin, ten.AccountID, u.Email)

	status, _, body := anon.do("POST", "/auth/sign-in", map[string]string{"tenant": ten.ID(), "email": u.Email, "password": u.Password})
	var second struct {
		Token     string
		Challenge string
		Methods   []string
	}
	_ = json.Unmarshal(body, &second)
	if status != http.StatusOK || second.Token != "" || second.Challenge == "" {
		t.Fatalf("the password alone: %d %s", status, body)
	}
	// The challenge is no session: the accept takes its bearer for nobody,
	// and asks the existing user to sign in.
	withChallenge := client{t: t, base: srv.URL, token: second.Challenge}
	if status, _, body := withChallenge.do("POST", "/invitations/accept", map[string]string{"token": token}); status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(body), `"code":"sign_in_to_accept"`) {
		t.Fatalf("accept with the challenge as a session: %d %s", status, body)
	}
	status, _, body = anon.do("POST", "/auth/sign-in/verify", map[string]string{"challenge": second.Challenge, "code": twofactor.TOTPCode(key, step+1)})
	var signed struct{ Token string }
	_ = json.Unmarshal(body, &signed)
	if status != http.StatusCreated || signed.Token == "" {
		t.Fatalf("verify: %d %s", status, body)
	}
	invitee := client{t: t, base: srv.URL, token: signed.Token}
	if status, _, body := invitee.do("POST", "/invitations/accept", map[string]string{"token": token}); status != http.StatusCreated {
		t.Fatalf("accept after both steps: %d %s", status, body)
	}
}
