package api_test

import (
	"context"
	"encoding/base32"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/sms"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/twofactor"
	"github.com/acme/accountadmin/shared/twofactor/kmsseal"
)

// twoFactor is the second-factor service as the auth function builds it.
func (w *securityWorld) twoFactor(t *testing.T) *twofactor.Service {
	t.Helper()
	tf := &twofactor.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs, Sealer: kmsseal.FromEnv(w.env.AWS)}
	if s := sms.FromEnv(w.env.AWS); s != nil {
		tf.SMS = s
	}
	if tf.Sealer == nil {
		t.Fatal("no KMS key: run with the local stack")
	}
	return tf
}

func (w *securityWorld) userItem(t *testing.T, id string) identity.User {
	t.Helper()
	var u identity.User
	if ok, err := w.env.Store.Get(context.Background(), w.a.User(id), &u); err != nil || !ok {
		t.Fatalf("read user %s: %v", id, err)
	}
	return u
}

// startTOTP shows m a new authenticator key; it returns the key.
func (w *securityWorld) startTOTP(t *testing.T, m testkit.User) []byte {
	t.Helper()
	enr, err := w.twoFactor(t).StartTOTP(context.Background(), w.a.Tenant, w.userItem(t, m.ID))
	if err != nil {
		t.Fatal(err)
	}
	w.remember(enr.Secret)
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// enrolTOTP gives m an authenticator, confirmed at the current step.
func (w *securityWorld) enrolTOTP(t *testing.T, m testkit.User) []byte {
	t.Helper()
	key := w.startTOTP(t, m)
	done, err := w.twoFactor(t).ConfirmTOTP(context.Background(), w.a.Tenant, w.userItem(t, m.ID),
		changelog.Actor{Kind: changelog.ActorUser, ID: m.ID}, w.a.AccountID, twofactor.TOTPCode(key, twofactor.Step(w.env.Clock.Now())))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range done.RecoveryCodes {
		w.remember(c)
	}
	return key
}

// verifiedPhone gives m a mobile number proven for SMS codes.
func (w *securityWorld) verifiedPhone(t *testing.T, m testkit.User) string {
	t.Helper()
	phone := fmt.Sprintf("+4477009%05d", rand.IntN(100000))
	set := func(k table.Key, attr string) *store.Write {
		return store.Update(k, expression.Set(expression.Name(attr), expression.Value(phone)))
	}
	if err := w.env.Store.Transact(context.Background(), "verify a phone", set(w.a.User(m.ID), "phone"), set(w.a.TwoFactor(m.ID), "smsPhone")); err != nil {
		t.Fatal(err)
	}
	return phone
}

// challenge signs m in with their password: the second step's challenge.
func (w *securityWorld) challenge(t *testing.T, m testkit.User) string {
	t.Helper()
	signed, err := w.auth.SignIn(context.Background(), authSignIn(w.a, m.Email))
	if err != nil || signed.SecondStep == nil {
		t.Fatalf("sign in %s: %v %+v", m.Email, err, signed)
	}
	w.remember(signed.SecondStep.Challenge)
	return signed.SecondStep.Challenge
}

// enrolled gives a member second factors without keys (enough to reset).
func (w *securityWorld) enrolled(t *testing.T, m testkit.User) {
	t.Helper()
	k := w.a.TwoFactor(m.ID)
	if err := w.env.Store.Do(context.Background(), "enrol", store.Put(twofactor.Factors{PK: k.PK, SK: k.SK, Type: "TWOFACTOR", UserID: m.ID,
		TOTP: "v1.not.opened", Recovery: []string{"a-hash"}})); err != nil {
		t.Fatal(err)
	}
}

var recoveryCodesField = regexp.MustCompile(`"recoveryCodes"\s*:\s*\[([^\]]*)\]`)

// rememberSecondFactor records the second-factor secrets a response hands
// out: authenticator keys (also inside otpauth URIs), challenges, recovery codes.
func (w *securityWorld) rememberSecondFactor(body []byte) {
	for _, m := range regexp.MustCompile(`"(?:secret|challenge|otpauthUri)"\s*:\s*"([^"]+)"`).FindAllSubmatch(body, -1) {
		s := string(m[1])
		if u, err := url.Parse(s); err == nil && u.Scheme == "otpauth" {
			s = u.Query().Get("secret")
		}
		w.remember(s)
	}
	for _, m := range recoveryCodesField.FindAllSubmatch(body, -1) {
		for _, c := range strings.Split(string(m[1]), ",") {
			w.remember(strings.Trim(strings.TrimSpace(c), `"`))
		}
	}
}

func authSignIn(ten testkit.Tenant, email string) auth.SignIn {
	return auth.SignIn{Tenant: ten.Tenant, Email: email, Password: testkit.Password, IP: "198.51.100.20"}
}
