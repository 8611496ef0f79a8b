package auth_test

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/attempts"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/sms"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/twofactor"
	"github.com/acme/accountadmin/shared/twofactor/kmsseal"
)

// tfWorld is one test's tenant with a member and the services as the auth
// function builds them: KMS on local-kms, SMS to the local SMS outbox.
type tfWorld struct {
	env  *testkit.Env
	ten  testkit.Tenant
	svc  *auth.Service
	tf   *twofactor.Service
	user testkit.User
}

func newTFWorld(t testing.TB) *tfWorld {
	t.Helper()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	tf := &twofactor.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs, Sealer: kmsseal.FromEnv(env.AWS), Issuer: "Test"}
	if s := sms.FromEnv(env.AWS); s != nil {
		tf.SMS = s
	}
	if tf.Sealer == nil || tf.SMS == nil {
		t.Fatal("local-kms and the local SMS outbox are not configured: run with the local stack")
	}
	svc := &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs, TwoFactor: tf}
	u := env.AddUser(t, ten, ten.AccountID, "member-"+ten.ID()+"@test.example", "")
	return &tfWorld{env: env, ten: ten, svc: svc, tf: tf, user: u}
}

func (w *tfWorld) loadUser(t testing.TB) identity.User {
	t.Helper()
	var u identity.User
	if ok, err := w.env.Store.Get(context.Background(), w.ten.User(w.user.ID), &u); err != nil || !ok {
		t.Fatalf("load user: %v %v", ok, err)
	}
	return u
}

func (w *tfWorld) actor() changelog.Actor {
	return changelog.Actor{Kind: changelog.ActorUser, ID: w.user.ID}
}

// enrolTOTP enrols an authenticator with a computed code; it returns the key.
func (w *tfWorld) enrolTOTP(t testing.TB) ([]byte, twofactor.Enrolled) {
	t.Helper()
	ctx := context.Background()
	u := w.loadUser(t)
	enr, err := w.tf.StartTOTP(ctx, w.ten.Tenant, u)
	if err != nil {
		t.Fatal(err)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enr.Secret)
	if err != nil {
		t.Fatal(err)
	}
	code := twofactor.TOTPCode(key, twofactor.Step(w.env.Clock.Now()))
	done, err := w.tf.ConfirmTOTP(ctx, w.ten.Tenant, u, w.actor(), w.ten.AccountID, code)
	if err != nil {
		t.Fatal(err)
	}
	return key, done
}

func (w *tfWorld) signIn(t testing.TB) auth.Signed {
	t.Helper()
	s, err := w.svc.SignIn(context.Background(), auth.SignIn{Tenant: w.ten.Tenant, Email: w.user.Email, Password: w.user.Password, IP: "203.0.113.9", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w *tfWorld) verify(challenge, code string) (auth.Signed, error) {
	return w.svc.VerifySignIn(context.Background(), auth.Verify{Challenge: challenge, Code: code, IP: "203.0.113.9", UserAgent: "test"})
}

func code(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return fmt.Sprint(err)
}

func TestTOTPSignInUsesEachCodeOnceAndAcceptsOneStepOfSkew(t *testing.T) {
	t.Parallel()
	w := newTFWorld(t)
	key, enrolled := w.enrolTOTP(t)
	if len(enrolled.RecoveryCodes) != twofactor.RecoveryCodes {
		t.Fatalf("recovery codes at enrolment: %d", len(enrolled.RecoveryCodes))
	}
	// The password alone opens no session any more.
	first := w.signIn(t)
	if first.Token != "" || first.SecondStep == nil || first.SecondStep.Methods[0] != twofactor.MethodTOTP {
		t.Fatalf("sign-in with a second factor = %+v", first)
	}
	// The enrolment's own code is not accepted again (same step).
	now := twofactor.Step(w.env.Clock.Now())
	if _, err := w.verify(first.SecondStep.Challenge, twofactor.TOTPCode(key, now)); code(err) != "wrong_code" {
		t.Fatalf("the code used at enrolment again: %v", err)
	}
	w.env.Clock.Advance(twofactor.TOTPStep)
	next := twofactor.TOTPCode(key, now+1)
	signed, err := w.verify(first.SecondStep.Challenge, next)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Authorize(context.Background(), signed.Token); err != nil {
		t.Fatalf("the session does not work: %v", err)
	}
	// The same code in another sign-in, within its window: refused.
	again := w.signIn(t)
	if _, err := w.verify(again.SecondStep.Challenge, next); code(err) != "wrong_code" {
		t.Fatalf("a TOTP code accepted twice: %v", err)
	}
	// Two steps of skew: refused; one step (a code from 30 s ago, newer
	// than the last used): accepted.
	w.env.Clock.Advance(3 * twofactor.TOTPStep) // now+4
	if _, err := w.verify(again.SecondStep.Challenge, twofactor.TOTPCode(key, now+2)); code(err) != "wrong_code" {
		t.Fatalf("two steps of skew accepted: %v", err)
	}
	if _, err := w.verify(again.SecondStep.Challenge, twofactor.TOTPCode(key, now+3)); err != nil {
		t.Fatalf("one step of skew refused: %v", err)
	}
	// The access history records how the sign-in was proven.
	var entries []identity.AccessEntry
	items, err := w.env.Store.QueryAll(context.Background(), store.Query{Partition: w.ten.User(w.user.ID).PK, SKPrefix: "ACCESS#"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		var e identity.AccessEntry
		if err := attributevalue.UnmarshalMap(it, &e); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if len(entries) != 2 || entries[0].Method != twofactor.MethodTOTP || entries[1].Method != twofactor.MethodTOTP {
		t.Fatalf("access history = %+v", entries)
	}
}

func TestRecoveryCodeWorksOnce(t *testing.T) {
	t.Parallel()
	w := newTFWorld(t)
	_, enrolled := w.enrolTOTP(t)
	rc := enrolled.RecoveryCodes[3]
	if _, err := w.verify(w.signIn(t).SecondStep.Challenge, rc); err != nil {
		t.Fatal(err)
	}
	if _, err := w.verify(w.signIn(t).SecondStep.Challenge, rc); code(err) != "wrong_code" {
		t.Fatalf("a recovery code used twice: %v", err)
	}
	if _, err := w.verify(w.signIn(t).SecondStep.Challenge, enrolled.RecoveryCodes[4]); err != nil {
		t.Fatalf("another recovery code: %v", err)
	}
}

// smsCode reads the newest code the local SMS outbox received for phone.
func smsCode(t testing.TB, phone string, want int) string {
	t.Helper()
	resp, err := http.Get(os.Getenv(sms.EnvEndpoint) + "/messages?phoneNumber=" + url.QueryEscape(phone))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Messages []struct{ Message string } }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != want {
		t.Fatalf("%d messages to %s, want %d", len(out.Messages), phone, want)
	}
	return regexp.MustCompile(`\d{6}`).FindString(out.Messages[0].Message)
}

func (w *tfWorld) setPhone(t testing.TB) string {
	t.Helper()
	phone := fmt.Sprintf("+4477009%05d", rand.IntN(100000))
	err := w.env.Store.Do(context.Background(), "set phone", store.Update(w.ten.User(w.user.ID), expression.Set(expression.Name("phone"), expression.Value(phone))))
	if err != nil {
		t.Fatal(err)
	}
	return phone
}

func (w *tfWorld) enrolSMS(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	phone := w.setPhone(t)
	if _, err := w.tf.StartPhone(ctx, w.ten.Tenant, w.loadUser(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.tf.ConfirmPhone(ctx, w.ten.Tenant, w.loadUser(t), w.actor(), w.ten.AccountID, smsCode(t, phone, 1)); err != nil {
		t.Fatal(err)
	}
	return phone
}

func TestSMSSignIn(t *testing.T) {
	t.Parallel()
	w := newTFWorld(t)
	phone := w.enrolSMS(t)

	// Sign in, read the code from the outbox, verify: the session works;
	// the challenge is then used up.
	step := w.signIn(t).SecondStep
	if step == nil || step.SMSSentTo == "" || step.Methods[0] != twofactor.MethodSMS {
		t.Fatalf("second step = %+v", step)
	}
	c := smsCode(t, phone, 2)
	signed, err := w.verify(step.Challenge, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Authorize(context.Background(), signed.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := w.verify(step.Challenge, c); code(err) != "challenge_invalid" {
		t.Fatalf("a code reused: %v", err)
	}

	// Five wrong codes: the challenge is dead, even for the right code.
	step = w.signIn(t).SecondStep
	c = smsCode(t, phone, 3)
	wrong := fmt.Sprintf("%06d", (mustAtoi(c)+1)%1_000_000)
	for i := range attempts.CodeAttempts {
		if _, err := w.verify(step.Challenge, wrong); code(err) != "wrong_code" {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	if _, err := w.verify(step.Challenge, c); code(err) != "too_many_code_attempts" {
		t.Fatalf("the right code after 5 wrong ones: %v", err)
	}

	// An expired code is refused.
	step = w.signIn(t).SecondStep
	c = smsCode(t, phone, 4)
	w.env.Clock.Advance(twofactor.CodeTTL)
	if _, err := w.verify(step.Challenge, c); code(err) != "challenge_expired" {
		t.Fatalf("an expired code: %v", err)
	}

	// A new number is unverified: SMS is no longer a method.
	w.setPhone(t)
	if s := w.signIn(t); s.SecondStep != nil {
		t.Fatalf("a changed number still used for sign-in: %+v", s.SecondStep)
	}
}

func mustAtoi(s string) int {
	var n int
	fmt.Sscanf(s, "%d", &n)
	return n
}

func TestRequiredTwoFactorEnrolsAtSignIn(t *testing.T) {
	t.Parallel()
	w := newTFWorld(t)
	err := w.env.Store.Do(context.Background(), "require 2fa", store.Update(w.ten.Account(w.ten.AccountID),
		expression.Set(expression.Name("twoFactorRequired"), expression.Value(true))))
	if err != nil {
		t.Fatal(err)
	}
	first := w.signIn(t)
	if first.Token != "" || first.SecondStep == nil || !first.SecondStep.Enrol || first.SecondStep.TOTP == nil {
		t.Fatalf("a user without a factor in an account that requires one: %+v", first)
	}
	key, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(first.SecondStep.TOTP.Secret)
	if _, err := w.verify(first.SecondStep.Challenge, "000000"); code(err) != "wrong_code" && twofactor.TOTPCode(key, twofactor.Step(w.env.Clock.Now())) != "000000" {
		t.Fatalf("enrolment with a wrong code: %v", err)
	}
	signed, err := w.verify(first.SecondStep.Challenge, twofactor.TOTPCode(key, twofactor.Step(w.env.Clock.Now())))
	if err != nil {
		t.Fatal(err)
	}
	if signed.Token == "" || len(signed.RecoveryCodes) != twofactor.RecoveryCodes {
		t.Fatalf("enrolled sign-in = %+v", signed)
	}
	// Enrolled now: the next sign-in asks for a code of that key.
	if s := w.signIn(t); s.SecondStep == nil || s.SecondStep.Enrol {
		t.Fatalf("after enrolment: %+v", s.SecondStep)
	}
}

func TestConcurrentVerifiesCheckAtMostFiveCodes(t *testing.T) {
	t.Parallel()
	w := newTFWorld(t)
	key, _ := w.enrolTOTP(t)
	step := w.signIn(t).SecondStep
	right := twofactor.TOTPCode(key, twofactor.Step(w.env.Clock.Now())+1)
	wrong := fmt.Sprintf("%06d", (mustAtoi(right)+1)%1_000_000)
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			_, err := w.verify(step.Challenge, wrong)
			mu.Lock()
			counts[code(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts["wrong_code"] > attempts.CodeAttempts || counts["wrong_code"]+counts["too_many_code_attempts"] != 30 {
		t.Fatalf("30 concurrent verifies: %v", counts)
	}
}

// People behind one address who sign in with a second step do not add up
// to the address's lock-out: the verify gives back the password's count.
func TestTwoStepSignInsGiveBackTheAddressCount(t *testing.T) {
	t.Parallel()
	w := newTFWorld(t)
	key, _ := w.enrolTOTP(t)
	settings, err := tenancy.Load(context.Background(), w.env.Store, w.ten.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	k := w.ten.Attempts("ADDRESS", "203.0.113.9")
	now := w.env.Clock.Now()
	err = w.env.Store.Do(context.Background(), "near the limit", store.Put(map[string]any{"PK": k.PK, "SK": k.SK, "type": "ATTEMPTS",
		"count": settings.Limit().PerAddressFailures - 2, "windowEnd": now.Add(attempts.AddressWindow).Unix(), "lockedUntil": 0, "level": 0}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		w.env.Clock.Advance(twofactor.TOTPStep)
		s := w.signIn(t)
		if _, err := w.verify(s.SecondStep.Challenge, twofactor.TOTPCode(key, twofactor.Step(w.env.Clock.Now()))); err != nil {
			t.Fatalf("sign-in %d: %v", i+1, err)
		}
	}
}

// A user with an authenticator and a verified mobile is not texted at
// every sign-in: the challenge offers both, and POST /auth/sign-in/sms
// texts a code on request, at most SMSSendsPerSignIn per challenge, each
// replacing the last, within the per-user hourly limit of texts.
func TestSMSOnRequestWhenTheUserAlsoHasAnAuthenticator(t *testing.T) {
	t.Parallel()
	w := newTFWorld(t)
	ctx := context.Background()
	w.enrolTOTP(t)
	phone := w.enrolSMS(t) // one text: the proof of the number

	step := w.signIn(t).SecondStep
	if step == nil || step.SMSSentTo != "" || fmt.Sprint(step.Methods) != "[totp sms recovery]" {
		t.Fatalf("second step = %+v", step)
	}
	smsCode(t, phone, 1) // nothing texted at sign-in
	var codes []string
	for i := range auth.SMSSendsPerSignIn {
		sent, err := w.svc.SendSignInSMS(ctx, step.Challenge)
		if err != nil {
			t.Fatalf("text %d: %v", i+1, err)
		}
		c := smsCode(t, phone, i+2)
		if sent.SMSSentTo != twofactor.MaskPhone(phone) || !sent.ExpiresAt.Equal(step.ExpiresAt) || strings.Contains(fmt.Sprint(sent), c) {
			t.Fatalf("text %d answered %+v", i+1, sent)
		}
		codes = append(codes, c)
	}
	if _, err := w.svc.SendSignInSMS(ctx, step.Challenge); code(err) != "too_many_sms_for_sign_in" {
		t.Fatalf("a text beyond %d for one sign-in: %v", auth.SMSSendsPerSignIn, err)
	}
	smsCode(t, phone, auth.SMSSendsPerSignIn+1) // nothing more was sent
	if last := codes[len(codes)-1]; codes[0] != last {
		if _, err := w.verify(step.Challenge, codes[0]); code(err) != "wrong_code" {
			t.Fatalf("a replaced code: %v", err)
		}
	}
	signed, err := w.verify(step.Challenge, codes[len(codes)-1])
	if err != nil || signed.Token == "" {
		t.Fatalf("the last code: %v %+v", err, signed)
	}
	if _, err := w.svc.SendSignInSMS(ctx, step.Challenge); code(err) != "challenge_invalid" {
		t.Fatalf("a text for a used challenge: %v", err)
	}

	// The fifth text of the hour is the user's last (SMSPerUserHour).
	step = w.signIn(t).SecondStep
	if _, err := w.svc.SendSignInSMS(ctx, step.Challenge); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SendSignInSMS(ctx, step.Challenge); code(err) != "too_many_sms" {
		t.Fatalf("a text beyond %d in an hour: %v", twofactor.SMSPerUserHour, err)
	}
	smsCode(t, phone, twofactor.SMSPerUserHour)
	if _, err := w.svc.SendSignInSMS(ctx, w.ten.ID()+".not-a-challenge"); code(err) != "challenge_invalid" {
		t.Fatalf("an unknown challenge: %v", err)
	}

	// Without a verified mobile, no text is offered.
	other := newTFWorld(t)
	other.enrolTOTP(t)
	if _, err := other.svc.SendSignInSMS(ctx, other.signIn(t).SecondStep.Challenge); code(err) != "sms_not_offered" {
		t.Fatalf("a text for an authenticator-only user: %v", err)
	}
}
