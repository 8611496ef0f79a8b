// Package twofactor keeps a user's second factors: an authenticator app
// (TOTP, its key sealed with KMS), a verified mobile number for SMS codes,
// and single-use recovery codes (stored as hashes). Sign-in's second step
// lives in shared/auth and uses what is here.
package twofactor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/attempts"
	"github.com/acme/accountadmin/shared/caps"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Methods of a second step.
const (
	MethodTOTP     = "totp"
	MethodSMS      = "sms"
	MethodRecovery = "recovery"
)

// Lifetimes and limits.
const (
	CodeTTL          = 5 * time.Minute  // an SMS code, a sign-in challenge
	EnrolTTL         = 15 * time.Minute // an authenticator awaiting its first code
	RecoveryCodes    = 10
	SMSPerUserHour   = 5
	SMSPerTenantHour = 1000
)

// Errors of this package.
var (
	ErrNotConfigured = apperr.New(apperr.KindUnavailable, "two_factor_not_configured", "second factors cannot be enrolled here (no key to seal them)")
	ErrSMSNotEnabled = apperr.New(apperr.KindUnavailable, "sms_not_configured", "no text message can be sent from here")
	ErrWrongCode     = apperr.New(apperr.KindUnauthenticated, "wrong_code", "this code is not right; try again (each code works once)")
	ErrCodeExpired   = apperr.New(apperr.KindUnauthenticated, "code_expired", "this code expired; ask for a new one")
	ErrNothingToConf = apperr.New(apperr.KindConflict, "nothing_to_confirm", "start the enrolment first")
	ErrNoPhone       = apperr.New(apperr.KindConflict, "no_phone", "set your mobile number (E.164, e.g. +447700900123) in your profile first")
	ErrSMSRateLimit  = apperr.New(apperr.KindRateLimited, "too_many_sms", "too many text messages were sent; wait and try again")
	ErrNotEnrolled   = apperr.New(apperr.KindConflict, "two_factor_not_enrolled", "enrol a second factor first")
	errChanged       = apperr.New(apperr.KindConflict, "changed_meanwhile", "your second factors changed meanwhile; try again")
)

// SMSSender texts one message; *sms.Sender is one.
type SMSSender interface {
	Send(ctx context.Context, phone, message string) error
}

// Factors is a user's second factors (table.TwoFactor).
type Factors struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	UserID string `dynamodbav:"userId"`
	// TOTP is the authenticator's key, sealed (Sealer); TOTPLastStep the
	// last step a code was accepted for: a code of it or before is refused.
	TOTP         string `dynamodbav:"totp,omitempty"`
	TOTPLastStep int64  `dynamodbav:"totpLastStep"`
	// PendingTOTP is a key shown to the user and not yet confirmed.
	PendingTOTP        string `dynamodbav:"pendingTotp,omitempty"`
	PendingTOTPExpires int64  `dynamodbav:"pendingTotpExpires,omitempty"`
	PendingTOTPTries   int    `dynamodbav:"pendingTotpTries,omitempty"`
	// SMSPhone is the number proven by a code; SMS is a method only while
	// it is still the user's phone (a change of number unverifies it).
	SMSPhone string `dynamodbav:"smsPhone,omitempty"`
	// A pending proof of the user's phone.
	PhoneProofPhone   string `dynamodbav:"phoneProofPhone,omitempty"`
	PhoneProofHash    string `dynamodbav:"phoneProofHash,omitempty"`
	PhoneProofSalt    string `dynamodbav:"phoneProofSalt,omitempty"`
	PhoneProofExpires int64  `dynamodbav:"phoneProofExpires,omitempty"`
	PhoneProofTries   int    `dynamodbav:"phoneProofTries,omitempty"`
	// Recovery holds the SHA-256 of each unused recovery code.
	Recovery  []string  `dynamodbav:"recovery,stringset,omitempty"`
	Version   int64     `dynamodbav:"version"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

// Methods are the second steps u can take now.
func (f Factors) Methods(u identity.User) []string {
	var out []string
	if f.TOTP != "" {
		out = append(out, MethodTOTP)
	}
	if f.SMSPhone != "" && f.SMSPhone == u.Phone {
		out = append(out, MethodSMS)
	}
	if len(out) > 0 && len(f.Recovery) > 0 {
		out = append(out, MethodRecovery)
	}
	return out
}

// Enrolled reports whether u has a second factor to sign in with.
func (f Factors) Enrolled(u identity.User) bool {
	m := f.Methods(u)
	return slices.Contains(m, MethodTOTP) || slices.Contains(m, MethodSMS)
}

// Sealer keeps the secrets that must be read back (TOTP keys): Seal
// encrypts a secret so that only Open for the same Context decrypts it
// (kmsseal: envelope encryption under a KMS key).
type Sealer interface {
	Seal(ctx context.Context, c Context, secret []byte) (string, error)
	Open(ctx context.Context, c Context, sealed string) ([]byte, error)
}

// Context says whose secret, for what: a secret sealed for one user does
// not open as another's.
type Context struct{ Tenant, User, Purpose string }

// Service enrols and checks second factors.
type Service struct {
	Store  *store.Store
	Clock  clock.Clock
	IDs    ids.Generator
	Sealer Sealer    // nil: nothing can be enrolled
	SMS    SMSSender // nil: no SMS
	Issuer string    // the name authenticator apps show
}

func (s *Service) limiter() attempts.Limiter { return attempts.Limiter{Store: s.Store, Clock: s.Clock} }

// Load reads u's factors (the zero Factors when none).
func (s *Service) Load(ctx context.Context, t table.Tenant, userID string) (Factors, error) {
	var f Factors
	if _, err := s.Store.Get(ctx, t.TwoFactor(userID), &f); err != nil {
		return Factors{}, fmt.Errorf("read second factors of %s: %w", userID, err)
	}
	return f, nil
}

func totpContext(t table.Tenant, userID string) Context {
	return Context{Tenant: t.ID(), User: userID, Purpose: "totp"}
}

// TOTPEnrolment is what an authenticator app needs, shown once.
type TOTPEnrolment struct {
	Secret     string    `json:"secret"`
	OTPAuthURI string    `json:"otpauthUri"`
	ExpiresAt  time.Time `json:"expiresAt"` // confirm with a first code before
}

// NewTOTP makes a key for u and seals it; the caller stores the sealed key.
func (s *Service) NewTOTP(ctx context.Context, t table.Tenant, u identity.User) (TOTPEnrolment, string, error) {
	if s.Sealer == nil {
		return TOTPEnrolment{}, "", ErrNotConfigured
	}
	key := make([]byte, 20) // 160 bits, RFC 4226's recommendation for SHA-1
	if _, err := rand.Read(key); err != nil {
		return TOTPEnrolment{}, "", err
	}
	sealed, err := s.Sealer.Seal(ctx, totpContext(t, u.ID), key)
	if err != nil {
		return TOTPEnrolment{}, "", apperr.Internal("seal totp key", err)
	}
	issuer := s.Issuer
	if issuer == "" {
		issuer = t.ID()
	}
	return TOTPEnrolment{Secret: EncodeSecret(key), OTPAuthURI: OTPAuthURI(issuer, u.Email, key), ExpiresAt: s.Clock.Now().Add(EnrolTTL).UTC()}, sealed, nil
}

// StartTOTP shows u a new authenticator key, kept pending until ConfirmTOTP,
// with extra (the proof of the password that allowed it) in the same
// transaction.
func (s *Service) StartTOTP(ctx context.Context, t table.Tenant, u identity.User, extra ...*store.Write) (TOTPEnrolment, error) {
	enr, sealed, err := s.NewTOTP(ctx, t, u)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	k := t.TwoFactor(u.ID)
	upd := expression.Set(expression.Name("pendingTotp"), expression.Value(sealed)).
		Set(expression.Name("pendingTotpExpires"), expression.Value(enr.ExpiresAt.Unix())).
		Set(expression.Name("pendingTotpTries"), expression.Value(0)).
		Set(expression.Name("type"), expression.Value("TWOFACTOR")).
		Set(expression.Name("userId"), expression.Value(u.ID)).
		Set(expression.Name("updatedAt"), expression.Value(s.Clock.Now()))
	if err := s.Store.Transact(ctx, "start totp of "+u.ID, append([]*store.Write{store.Update(k, upd)}, extra...)...); err != nil {
		return TOTPEnrolment{}, err
	}
	return enr, nil
}

// Opened is an authenticator key opened for one check.
func (s *Service) open(ctx context.Context, t table.Tenant, userID, sealed string) ([]byte, error) {
	if s.Sealer == nil {
		return nil, ErrNotConfigured
	}
	key, err := s.Sealer.Open(ctx, totpContext(t, userID), sealed)
	if err != nil {
		return nil, apperr.Internal("open totp key", err)
	}
	return key, nil
}

// CheckTOTP compares code with the sealed key's codes around now; the step
// it matched is for the conditional write that uses it once.
func (s *Service) CheckTOTP(ctx context.Context, t table.Tenant, userID, sealed, code string, after int64) (int64, error) {
	key, err := s.open(ctx, t, userID, sealed)
	if err != nil {
		return 0, err
	}
	defer clear(key)
	step, ok := MatchTOTP(key, code, s.Clock.Now())
	if !ok || step <= after {
		return 0, ErrWrongCode
	}
	return step, nil
}

// Enrolled is the answer to a confirmed enrolment: the recovery codes,
// shown this once, when the user had none.
type Enrolled struct {
	Methods       []string `json:"methods"`
	RecoveryCodes []string `json:"recoveryCodes,omitempty"`
}

// ConfirmTOTP makes the pending key u's authenticator once a first code
// of it is right (at most attempts.CodeAttempts tries).
func (s *Service) ConfirmTOTP(ctx context.Context, t table.Tenant, u identity.User, actor changelog.Actor, logAccount, code string) (Enrolled, error) {
	f, err := s.Load(ctx, t, u.ID)
	if err != nil {
		return Enrolled{}, err
	}
	if f.PendingTOTP == "" {
		return Enrolled{}, ErrNothingToConf
	}
	if f.PendingTOTPExpires <= s.Clock.Now().Unix() {
		return Enrolled{}, ErrCodeExpired.Withf("this authenticator key expired unconfirmed: start again")
	}
	if err := s.limiter().CountCode(ctx, t.TwoFactor(u.ID), "pendingTotpTries", "pendingTotpExpires", attempts.CodeAttempts); err != nil {
		return Enrolled{}, err
	}
	step, err := s.CheckTOTP(ctx, t, u.ID, f.PendingTOTP, code, 0)
	if err != nil {
		return Enrolled{}, err
	}
	upd := store.BumpVersion().
		Set(expression.Name("totp"), expression.Value(f.PendingTOTP)).
		Set(expression.Name("totpLastStep"), expression.Value(step)).
		Remove(expression.Name("pendingTotp")).Remove(expression.Name("pendingTotpExpires")).Remove(expression.Name("pendingTotpTries"))
	return s.commitEnrolment(ctx, t, u, f, MethodTOTP, upd, store.Is("pendingTotp", f.PendingTOTP), actor, logAccount)
}

// commitEnrolment applies upd under cond, adds recovery codes when u has
// none, and logs the change (never a secret) in the same transaction.
func (s *Service) commitEnrolment(ctx context.Context, t table.Tenant, u identity.User, f Factors, method string, upd expression.UpdateBuilder,
	cond expression.ConditionBuilder, actor changelog.Actor, logAccount string) (Enrolled, error) {
	now := s.Clock.Now()
	var codes []string
	if len(f.Recovery) == 0 {
		var hashes []string
		codes, hashes = NewRecoveryCodes(u.ID)
		upd = upd.Set(expression.Name("recovery"), expression.Value(stringSet(hashes)))
	}
	upd = upd.Set(expression.Name("updatedAt"), expression.Value(now))
	before := f.Methods(u)
	switch method {
	case MethodTOTP:
		f.TOTP = "set"
	case MethodSMS:
		f.SMSPhone = u.Phone
	}
	f.Recovery = append(f.Recovery, "set")
	after := f.Methods(u)
	err := s.Store.Transact(ctx, "enrol "+method+" of "+u.ID,
		store.Update(t.TwoFactor(u.ID), upd).If(cond).OrFail(errChanged),
		changelog.New(t, s.IDs.NewID(), now, logAccount, actor, "user.two_factor_enrolled", "user", u.ID,
			map[string]any{"methods": before}, map[string]any{"methods": after, "method": method}).Write())
	if err != nil {
		return Enrolled{}, err
	}
	return Enrolled{Methods: after, RecoveryCodes: codes}, nil
}

// StartPhone sends a code to u's mobile number to prove it, with extra in
// the transaction that counts the text.
func (s *Service) StartPhone(ctx context.Context, t table.Tenant, u identity.User, extra ...*store.Write) (PhoneProof, error) {
	if s.SMS == nil {
		return PhoneProof{}, ErrSMSNotEnabled
	}
	if u.Phone == "" {
		return PhoneProof{}, ErrNoPhone
	}
	code, salt := NewCode(), ids.NewSecret()
	exp := s.Clock.Now().Add(CodeTTL)
	upd := expression.Set(expression.Name("phoneProofPhone"), expression.Value(u.Phone)).
		Set(expression.Name("phoneProofHash"), expression.Value(CodeHash(salt, code))).
		Set(expression.Name("phoneProofSalt"), expression.Value(salt)).
		Set(expression.Name("phoneProofExpires"), expression.Value(exp.Unix())).
		Set(expression.Name("phoneProofTries"), expression.Value(0)).
		Set(expression.Name("type"), expression.Value("TWOFACTOR")).
		Set(expression.Name("userId"), expression.Value(u.ID))
	if err := s.SendCode(ctx, t, u.ID, u.Phone, code, append([]*store.Write{store.Update(t.TwoFactor(u.ID), upd)}, extra...)...); err != nil {
		return PhoneProof{}, err
	}
	return PhoneProof{SentTo: MaskPhone(u.Phone), ExpiresAt: exp.UTC()}, nil
}

// PhoneProof says where a code went (masked) and until when it works.
type PhoneProof struct {
	SentTo    string    `json:"sentTo"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// ConfirmPhone proves u's mobile with the code sent to it; SMS becomes a
// method while the number stays the same.
func (s *Service) ConfirmPhone(ctx context.Context, t table.Tenant, u identity.User, actor changelog.Actor, logAccount, code string) (Enrolled, error) {
	f, err := s.Load(ctx, t, u.ID)
	if err != nil {
		return Enrolled{}, err
	}
	if f.PhoneProofHash == "" || f.PhoneProofPhone != u.Phone {
		return Enrolled{}, ErrNothingToConf.Withf("ask for a code to your current mobile number first")
	}
	if f.PhoneProofExpires <= s.Clock.Now().Unix() {
		return Enrolled{}, ErrCodeExpired
	}
	if err := s.limiter().CountCode(ctx, t.TwoFactor(u.ID), "phoneProofTries", "phoneProofExpires", attempts.CodeAttempts); err != nil {
		return Enrolled{}, err
	}
	if !SameCode(f.PhoneProofSalt, code, f.PhoneProofHash) {
		return Enrolled{}, ErrWrongCode
	}
	upd := store.BumpVersion().Set(expression.Name("smsPhone"), expression.Value(u.Phone)).
		Remove(expression.Name("phoneProofPhone")).Remove(expression.Name("phoneProofHash")).Remove(expression.Name("phoneProofSalt")).
		Remove(expression.Name("phoneProofExpires")).Remove(expression.Name("phoneProofTries"))
	return s.commitEnrolment(ctx, t, u, f, MethodSMS, upd, store.Is("phoneProofHash", f.PhoneProofHash), actor, logAccount)
}

// RegenerateRecovery replaces u's recovery codes with new ones, shown once,
// with extra in the same transaction.
func (s *Service) RegenerateRecovery(ctx context.Context, t table.Tenant, u identity.User, actor changelog.Actor, logAccount string, extra ...*store.Write) ([]string, error) {
	f, err := s.Load(ctx, t, u.ID)
	if err != nil {
		return nil, err
	}
	if !f.Enrolled(u) {
		return nil, ErrNotEnrolled
	}
	codes, hashes := NewRecoveryCodes(u.ID)
	now := s.Clock.Now()
	writes := append([]*store.Write{
		store.Update(t.TwoFactor(u.ID), store.BumpVersion().Set(expression.Name("recovery"), expression.Value(stringSet(hashes))).
			Set(expression.Name("updatedAt"), expression.Value(now))).If(store.AtVersion(f.Version)).OrFail(errChanged),
		changelog.New(t, s.IDs.NewID(), now, logAccount, actor, "user.recovery_codes_regenerated", "user", u.ID,
			nil, map[string]any{"count": RecoveryCodes}).Write(),
	}, extra...)
	err = s.Store.Transact(ctx, "regenerate recovery codes of "+u.ID, writes...)
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// SendCode texts code to phone after counting the send against the
// per-user and per-tenant hourly limits, with extra (the item that holds
// the code's hash) in the same transaction.
func (s *Service) SendCode(ctx context.Context, t table.Tenant, userID, phone, code string, extra ...*store.Write) error {
	if s.SMS == nil {
		return ErrSMSNotEnabled
	}
	now := s.Clock.Now()
	hour := now.Truncate(time.Hour)
	ttl := hour.Add(25 * time.Hour).Unix()
	quota := func(k table.Key, max int) *store.Write {
		return caps.Below(k, max, ttl, ErrSMSRateLimit.With("retryAfterSeconds", int64(hour.Add(time.Hour).Sub(now)/time.Second)+1))
	}
	writes := append([]*store.Write{quota(t.SMSUserQuota(userID, hour), SMSPerUserHour), quota(t.SMSTenantQuota(hour), SMSPerTenantHour)}, extra...)
	if err := s.Store.Transact(ctx, "count an sms to "+userID, writes...); err != nil {
		return err
	}
	msg := fmt.Sprintf("%s is your security code. It works once, for %d minutes. Never share it.", code, int(CodeTTL/time.Minute))
	if err := s.SMS.Send(ctx, phone, msg); err != nil {
		return apperr.New(apperr.KindUnavailable, "sms_not_sent", "we could not send the text message; try again later")
	}
	return nil
}

// ResetWrites remove all of u's second factors (an administrator's reset).
func ResetWrites(t table.Tenant, userID string) []*store.Write {
	return []*store.Write{store.Delete(t.TwoFactor(userID))}
}

// Reset removes all of userID's second factors at version, the version
// read: a factor enrolled or used meanwhile fails it.
func Reset(t table.Tenant, userID string, version int64) *store.Write {
	return store.Delete(t.TwoFactor(userID)).If(store.AtVersion(version))
}

// NewCode is 6 random digits.
func NewCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// CodeHash is how a short code is kept: salted SHA-256 (it lives 5 minutes
// and has at most 5 tries).
func CodeHash(salt, code string) string {
	h := sha256.Sum256([]byte(salt + ":" + code))
	return hex.EncodeToString(h[:])
}

// SameCode compares in constant time.
func SameCode(salt, code, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(CodeHash(salt, code)), []byte(hash)) == 1
}

var recoveryAlphabet = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// NewRecoveryCodes makes RecoveryCodes codes of 50 random bits each
// ("xxxxx-xxxxx") and their hashes.
func NewRecoveryCodes(userID string) (codes, hashes []string) {
	for range RecoveryCodes {
		b := make([]byte, 7)
		if _, err := rand.Read(b); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		s := recoveryAlphabet.EncodeToString(b)[:10]
		codes = append(codes, s[:5]+"-"+s[5:])
		hashes = append(hashes, RecoveryHash(userID, s))
	}
	return codes, hashes
}

// NormalizeRecovery is a recovery code as typed, without dashes, spaces or case.
func NormalizeRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
}

// RecoveryHash is the stored form of a recovery code: SHA-256 bound to its
// user (50 random bits each: no password hashing needed).
func RecoveryHash(userID, code string) string {
	h := sha256.Sum256([]byte("recovery:" + userID + ":" + NormalizeRecovery(code)))
	return hex.EncodeToString(h[:])
}

// MaskPhone shows only the last 2 digits of a number.
func MaskPhone(p string) string {
	if len(p) <= 4 {
		return "••"
	}
	return p[:3] + strings.Repeat("•", len(p)-5) + p[len(p)-2:]
}

// stringSet is hashes as a DynamoDB string set (DELETE removes one member
// atomically, contains() conditions on one).
func stringSet(hashes []string) types.AttributeValue {
	return &types.AttributeValueMemberSS{Value: hashes}
}

// EnrolFirst writes f, a user's factors with their first authenticator,
// while they have none yet (no factors, or a verified mobile alone): an
// authenticator enrolled meanwhile is never replaced.
func EnrolFirst(f Factors) *store.Write {
	return store.Put(f).If(store.NotExists().Or(expression.AttributeNotExists(expression.Name("totp"))))
}

// UseRecoveryCode spends the recovery code of hash h of userID: it is
// deleted, on the condition that it is still unused, so a code works once.
func UseRecoveryCode(t table.Tenant, userID, h string) *store.Write {
	set := &types.AttributeValueMemberSS{Value: []string{h}}
	return store.Update(t.TwoFactor(userID), expression.Delete(expression.Name("recovery"), expression.Value(set))).
		If(expression.Contains(expression.Name("recovery"), h))
}

// SMSPhoneIs checks that phone is still userID's verified mobile.
func SMSPhoneIs(t table.Tenant, userID, phone string) *store.Write {
	return store.Check(t.TwoFactor(userID), store.Is("smsPhone", phone))
}

// AcceptTOTPStep records step as the last one an authenticator code of
// userID was accepted for, while the authenticator is still sealed and
// no code of step or later was accepted: a code works once.
func AcceptTOTPStep(t table.Tenant, userID, sealed string, step int64) *store.Write {
	last := expression.Name("totpLastStep")
	return store.Update(t.TwoFactor(userID), expression.Set(last, expression.Value(step))).
		If(store.Is("totp", sealed).And(last.LessThan(expression.Value(step))))
}
