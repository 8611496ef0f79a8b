package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/attempts"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/twofactor"
)

// A user with a second factor, or one who must have one (the tenant's or
// the account's twoFactorRequired), gets no session for a right password:
// the sign-in answers a challenge (SecondStep) that lives CodeTTL. POST
// /auth/sign-in/verify with the challenge and a code (an authenticator's,
// the SMS one the sign-in sent, or a recovery code) opens the session.
//
// The challenge is a 256-bit token stored as its SHA-256 (as sessions).
// Each verify counts one check on the challenge before comparing anything
// (attempts.CountCode: at most attempts.CodeAttempts, however many race),
// and the session is opened in one transaction that consumes the challenge
// (once), uses the code once (a TOTP step after the last accepted one, a
// recovery code still in the set), checks the user is still as the
// password found them, and settles the password limiter as a one-step
// sign-in does (attempts.SecondStepSucceeded; until then the password's
// attempt stands: a challenge is not a success). A user who must enrol and has no factor gets an
// enrolment challenge instead: a new authenticator key, and the first code
// of it confirms the key and opens the session.

// Errors of the second step.
var (
	ErrChallengeInvalid = apperr.New(apperr.KindUnauthenticated, "challenge_invalid", "this sign-in is no longer open: sign in again")
	ErrChallengeExpired = apperr.New(apperr.KindUnauthenticated, "challenge_expired", "this sign-in expired (5 minutes): sign in again")
	ErrSMSNotOffered    = apperr.New(apperr.KindConflict, "sms_not_offered", "this sign-in offers no text message: use your authenticator app or a recovery code")
	ErrSignInSMSUsed    = apperr.New(apperr.KindRateLimited, "too_many_sms_for_sign_in",
		"this sign-in already sent its text messages: use the last code, or sign in again")
	errUserChanged = apperr.New(apperr.KindUnauthenticated, "challenge_invalid", "your account changed during the sign-in: sign in again")
)

// SecondStep is a sign-in's challenge, instead of a session.
type SecondStep struct {
	Challenge string    `json:"challenge"`
	Methods   []string  `json:"methods"`
	ExpiresAt time.Time `json:"expiresAt"`
	// Enrol: the user must enrol first: TOTP is the key to add to an
	// authenticator app, and the first code of it completes the sign-in.
	Enrol     bool                     `json:"enrol,omitempty"`
	TOTP      *twofactor.TOTPEnrolment `json:"totp,omitempty"`
	SMSSentTo string                   `json:"smsSentTo,omitempty"`
}

// challenge is the stored second step (table.SignInChallenge).
type challenge struct {
	PK           string   `dynamodbav:"PK"`
	SK           string   `dynamodbav:"SK"`
	Type         string   `dynamodbav:"type"`
	UserID       string   `dynamodbav:"userId"`
	AccountID    string   `dynamodbav:"accountId"`
	Methods      []string `dynamodbav:"methods"`
	Enrol        bool     `dynamodbav:"enrol,omitempty"`
	PendingTOTP  string   `dynamodbav:"pendingTotp,omitempty"` // sealed
	SMSSalt      string   `dynamodbav:"smsSalt,omitempty"`
	SMSHash      string   `dynamodbav:"smsHash,omitempty"`
	SMSSends     int      `dynamodbav:"smsSends,omitempty"` // codes texted for it, at most SMSSendsPerSignIn
	SessionEpoch int64    `dynamodbav:"sessionEpoch"`
	ExpiresAt    int64    `dynamodbav:"expiresAt"` // enforced here; TTL only cleans up
	Tries        int      `dynamodbav:"tries"`
	UsedAt       int64    `dynamodbav:"usedAt,omitempty"`
	TTL          int64    `dynamodbav:"ttl"`
}

// SMSSendsPerSignIn is how many codes one challenge may have texted (the
// first included): each new one replaces the last.
const SMSSendsPerSignIn = 3

// needsSecondStep decides from what the sign-in read.
func needsSecondStep(f twofactor.Factors, u identity.User, required bool) bool {
	return f.Enrolled(u) || required
}

// startSecondStep stores a challenge for u (sending the SMS code when SMS
// is the user's only way; a user who also has an authenticator asks for
// the text with SendSignInSMS) with extra writes (an address proof) and
// answers it.
func (s *Service) startSecondStep(ctx context.Context, t table.Tenant, u identity.User, accountID string, f twofactor.Factors, extra []*store.Write) (Signed, error) {
	now := s.Clock.Now()
	tok := identity.NewToken(t)
	k := t.SignInChallenge(tok.Hash())
	exp := now.Add(twofactor.CodeTTL)
	ch := challenge{PK: k.PK, SK: k.SK, Type: "CHALLENGE", UserID: u.ID, AccountID: accountID, Methods: f.Methods(u),
		SessionEpoch: u.SessionEpoch, ExpiresAt: exp.Unix(), TTL: exp.Add(24 * time.Hour).Unix()}
	step := &SecondStep{Challenge: string(tok), ExpiresAt: exp.UTC()}
	tf := s.twoFactor()
	var smsCode string
	if !f.Enrolled(u) {
		enr, sealed, err := tf.NewTOTP(ctx, t, u)
		if err != nil {
			return Signed{}, err
		}
		ch.Enrol, ch.PendingTOTP, ch.Methods = true, sealed, []string{twofactor.MethodTOTP}
		step.Enrol, step.TOTP = true, &enr
	} else if slices.Contains(ch.Methods, twofactor.MethodSMS) && !slices.Contains(ch.Methods, twofactor.MethodTOTP) {
		smsCode, ch.SMSSalt = twofactor.NewCode(), ids.NewSecret()
		ch.SMSHash, ch.SMSSends = twofactor.CodeHash(ch.SMSSalt, smsCode), 1
		step.SMSSentTo = twofactor.MaskPhone(u.Phone)
	}
	step.Methods = ch.Methods
	writes := append([]*store.Write{store.Put(ch).If(store.NotExists())}, extra...)
	var err error
	if smsCode != "" {
		err = tf.SendCode(ctx, t, u.ID, u.Phone, smsCode, writes...)
	} else {
		err = s.Store.Transact(ctx, "start the second step of "+u.ID, writes...)
	}
	if err != nil {
		return Signed{}, err
	}
	return Signed{UserID: u.ID, AccountID: accountID, SecondStep: step}, nil
}

// SMSSent says where a sign-in's code went (masked) and until when the
// challenge, and so the code, works.
type SMSSent struct {
	SMSSentTo string    `json:"smsSentTo"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// SendSignInSMS texts a new code for an open challenge that offers SMS
// (POST /auth/sign-in/sms), for a user who has an authenticator too, or
// whose first text did not arrive. The send counts against the per-user
// and per-tenant hourly limits of texts and, in the same transaction, on
// the challenge: at most SMSSendsPerSignIn, only while it is unused,
// unexpired and has code checks left. Each new code replaces the last; it
// works until the challenge expires.
func (s *Service) SendSignInSMS(ctx context.Context, challengeToken string) (SMSSent, error) {
	t, tok, err := identity.ParseToken(challengeToken)
	if err != nil {
		return SMSSent{}, ErrChallengeInvalid
	}
	k := t.SignInChallenge(tok.Hash())
	var ch challenge
	found, err := s.Store.Get(ctx, k, &ch)
	if err != nil {
		return SMSSent{}, fmt.Errorf("read challenge: %w", err)
	}
	now := s.Clock.Now()
	switch {
	case !found || ch.UsedAt != 0:
		return SMSSent{}, ErrChallengeInvalid
	case ch.ExpiresAt <= now.Unix():
		return SMSSent{}, ErrChallengeExpired
	case ch.Tries >= attempts.CodeAttempts:
		return SMSSent{}, attempts.ErrCodeAttemptsUsed
	case ch.SMSSends >= SMSSendsPerSignIn:
		return SMSSent{}, ErrSignInSMSUsed
	}
	var u identity.User
	if ok, err := s.Store.Get(ctx, t.User(ch.UserID), &u); err != nil || !ok {
		return SMSSent{}, errorOr(err, ErrChallengeInvalid)
	}
	if u.Status != identity.UserActive || u.SessionEpoch != ch.SessionEpoch {
		return SMSSent{}, errUserChanged
	}
	tf := s.twoFactor()
	f, err := tf.Load(ctx, t, u.ID)
	if err != nil {
		return SMSSent{}, err
	}
	if ch.Enrol || !slices.Contains(ch.Methods, twofactor.MethodSMS) || !slices.Contains(f.Methods(u), twofactor.MethodSMS) {
		return SMSSent{}, ErrSMSNotOffered
	}
	code, salt := twofactor.NewCode(), ids.NewSecret()
	sends, tries := expression.Name("smsSends"), expression.Name("tries")
	upd := expression.Set(expression.Name("smsSalt"), expression.Value(salt)).
		Set(expression.Name("smsHash"), expression.Value(twofactor.CodeHash(salt, code))).
		Add(sends, expression.Value(1))
	cond := store.Exists().
		And(expression.AttributeNotExists(expression.Name("usedAt"))).
		And(expression.Name("expiresAt").GreaterThan(expression.Value(now.Unix()))).
		And(expression.Or(expression.AttributeNotExists(sends), sends.LessThan(expression.Value(SMSSendsPerSignIn)))).
		And(expression.Or(expression.AttributeNotExists(tries), tries.LessThan(expression.Value(attempts.CodeAttempts))))
	if err := tf.SendCode(ctx, t, u.ID, u.Phone, code, store.Update(k, upd).If(cond).OrFail(ErrSignInSMSUsed)); err != nil {
		return SMSSent{}, err
	}
	return SMSSent{SMSSentTo: twofactor.MaskPhone(u.Phone), ExpiresAt: time.Unix(ch.ExpiresAt, 0).UTC()}, nil
}

func (s *Service) twoFactor() *twofactor.Service {
	if s.TwoFactor != nil {
		return s.TwoFactor
	}
	return &twofactor.Service{Store: s.Store, Clock: s.Clock, IDs: s.IDs}
}

// Verify is a validated POST /auth/sign-in/verify.
type Verify struct {
	Challenge string
	Code      string
	IP        string
	UserAgent string
}

// VerifySignIn completes a sign-in's second step and opens the session.
func (s *Service) VerifySignIn(ctx context.Context, in Verify) (Signed, error) {
	t, tok, err := identity.ParseToken(in.Challenge)
	if err != nil {
		return Signed{}, ErrChallengeInvalid
	}
	k := t.SignInChallenge(tok.Hash())
	var ch challenge
	found, err := s.Store.Get(ctx, k, &ch)
	if err != nil {
		return Signed{}, fmt.Errorf("read challenge: %w", err)
	}
	now := s.Clock.Now()
	switch {
	case !found || ch.UsedAt != 0:
		return Signed{}, ErrChallengeInvalid
	case ch.ExpiresAt <= now.Unix():
		return Signed{}, ErrChallengeExpired
	}
	if err := s.Attempts().CountCode(ctx, k, "tries", "expiresAt", attempts.CodeAttempts); err != nil {
		return Signed{}, err
	}
	var u identity.User
	if ok, err := s.Store.Get(ctx, t.User(ch.UserID), &u); err != nil || !ok {
		return Signed{}, errorOr(err, ErrChallengeInvalid)
	}
	tf := s.twoFactor()
	f, err := tf.Load(ctx, t, u.ID)
	if err != nil {
		return Signed{}, err
	}
	settings, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return Signed{}, err
	}
	method, proof, codes, err := s.checkCode(ctx, t, u, f, ch, in.Code)
	if err != nil {
		return Signed{}, err
	}
	signed, writes := s.newSession(t, u, ch.AccountID, settings.SessionTTL(), in.IP, in.UserAgent, method)
	writes = append(writes, proof...)
	open := expression.AttributeNotExists(expression.Name("usedAt")).And(expression.Name("expiresAt").GreaterThan(expression.Value(now.Unix())))
	closed := error(ErrChallengeInvalid)
	if method == twofactor.MethodSMS {
		// the code must still be the challenge's: a newer text replaced it
		open, closed = open.And(store.Is("smsHash", ch.SMSHash)), twofactor.ErrWrongCode
	}
	writes = append(writes,
		store.Update(k, expression.Set(expression.Name("usedAt"), expression.Value(now.Unix()))).If(open).OrFail(closed),
		identity.ActiveAtEpoch(t, u.ID, ch.SessionEpoch).OrFail(errUserChanged))
	writes = append(writes, attempts.SecondStepSucceeded(attempts.Check{Tenant: t, Email: u.Email, Address: in.IP, Limits: settings.Limit()})...)
	if err := s.Store.Transact(ctx, "verify the sign-in of "+u.ID, writes...); err != nil {
		return Signed{}, err
	}
	signed.RecoveryCodes = codes
	return signed, nil
}

// checkCode finds which method code proves and the writes that use it once.
func (s *Service) checkCode(ctx context.Context, t table.Tenant, u identity.User, f twofactor.Factors, ch challenge, code string) (string, []*store.Write, []string, error) {
	tf := s.twoFactor()
	k := t.TwoFactor(u.ID)
	if ch.Enrol {
		step, err := tf.CheckTOTP(ctx, t, u.ID, ch.PendingTOTP, code, 0)
		if err != nil {
			return "", nil, nil, err
		}
		codes, hashes := twofactor.NewRecoveryCodes(u.ID)
		now := s.Clock.Now()
		item := twofactor.Factors{PK: k.PK, SK: k.SK, Type: "TWOFACTOR", UserID: u.ID, TOTP: ch.PendingTOTP, TOTPLastStep: step,
			SMSPhone: f.SMSPhone, Recovery: hashes, Version: f.Version + 1, UpdatedAt: now}
		return twofactor.MethodTOTP, []*store.Write{
			twofactor.EnrolFirst(item).OrFail(ErrChallengeInvalid),
			changelog.New(t, s.IDs.NewID(), now, u.HomeAccountID, changelog.Actor{Kind: changelog.ActorUser, ID: u.ID, Name: u.Name(), Email: u.Email},
				"user.two_factor_enrolled", "user", u.ID, map[string]any{"methods": []string{}},
				map[string]any{"methods": []string{twofactor.MethodTOTP, twofactor.MethodRecovery}, "method": twofactor.MethodTOTP, "atSignIn": true}).Write(),
		}, codes, nil
	}
	methods := f.Methods(u)
	if norm := twofactor.NormalizeRecovery(code); len(norm) == 10 && !isDigits(norm) {
		h := twofactor.RecoveryHash(u.ID, norm)
		if !slices.Contains(methods, twofactor.MethodRecovery) || !slices.Contains(f.Recovery, h) {
			return "", nil, nil, twofactor.ErrWrongCode
		}
		return twofactor.MethodRecovery, []*store.Write{
			twofactor.UseRecoveryCode(t, u.ID, h).OrFail(twofactor.ErrWrongCode),
		}, nil, nil
	}
	if !isDigits(code) || len(code) != 6 {
		return "", nil, nil, twofactor.ErrWrongCode
	}
	if ch.SMSHash != "" && slices.Contains(methods, twofactor.MethodSMS) && twofactor.SameCode(ch.SMSSalt, code, ch.SMSHash) {
		return twofactor.MethodSMS, []*store.Write{twofactor.SMSPhoneIs(t, u.ID, u.Phone).OrFail(errUserChanged)}, nil, nil
	}
	if !slices.Contains(methods, twofactor.MethodTOTP) {
		return "", nil, nil, twofactor.ErrWrongCode
	}
	step, err := tf.CheckTOTP(ctx, t, u.ID, f.TOTP, code, f.TOTPLastStep)
	if err != nil {
		return "", nil, nil, err
	}
	return twofactor.MethodTOTP, []*store.Write{
		twofactor.AcceptTOTPStep(t, u.ID, f.TOTP, step).OrFail(twofactor.ErrWrongCode),
	}, nil, nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func errorOr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}
