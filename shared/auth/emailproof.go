package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// A user an administrator added without an invitation has an address
// nobody proved (identity.User.EmailUnverified). Their first sign-in with
// the right password opens no session: it sends a 6-digit code to the
// address and answers 403 email_code_required (the challenge, with its
// expiry). The same sign-in again, with the code as emailCode, opens the
// session and marks the address proven in one transaction; later sign-ins
// are plain.
//
// The code is stored only as a salted SHA-256 (table.EmailProof), is valid
// for EmailCodeTTL, and is used once: the proof deletes it under the
// condition that it is still the code checked. A sign-in without a code
// replaces it with a new one. Each sign-in, with or without a code, has
// already reserved an attempt in the one limiter (shared/attempts, the
// same email and client address): a wrong or expired code is a failure
// that counts (its reservation), a challenge is not a success either (so
// whoever knows only the password can neither reset the counters nor send
// codes without bound), and only the proof resets them, in its transaction.

// EmailCodeTTL is how long a code sent to prove an address stays valid.
const EmailCodeTTL = 15 * time.Minute

// Errors of the address proof.
var (
	// ErrEmailCodeRequired is the challenge: a code was sent.
	ErrEmailCodeRequired = apperr.New(apperr.KindForbidden, "email_code_required",
		"confirm your email address: we sent a 6-digit code to it; send the same sign-in again with the code as emailCode")
	ErrWrongEmailCode = apperr.New(apperr.KindUnauthenticated, "wrong_email_code",
		"this code is not the one we sent; check the latest email, or sign in without emailCode to get a new code")
	ErrEmailCodeExpired = apperr.New(apperr.KindUnauthenticated, "email_code_expired",
		"this code expired; sign in without emailCode to get a new one")
	errProofChanged = apperr.New(apperr.KindConflict, "user_changed",
		"your account changed while you confirmed your address (password or email changed, or suspended); sign in again")
)

// emailProof is the pending code of one user.
type emailProof struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Type      string `dynamodbav:"type"`
	UserID    string `dynamodbav:"userId"`
	Email     string `dynamodbav:"email"` // the address the code was sent to
	Salt      string `dynamodbav:"salt"`
	CodeHash  string `dynamodbav:"codeHash"`
	ExpiresAt int64  `dynamodbav:"expiresAt"` // enforced here, never by the TTL
	TTL       int64  `dynamodbav:"ttl"`       // clean-up only
}

func codeHash(salt, code string) string {
	h := sha256.Sum256([]byte(salt + ":" + code))
	return hex.EncodeToString(h[:])
}

// proveEmail runs for a user whose address is unverified and whose
// password was right: without a code it sends one (and refuses with the
// challenge); with a code it returns the writes that prove the address, for
// the transaction that opens the session.
func (s *Service) proveEmail(ctx context.Context, t table.Tenant, u identity.User, accountID, code string) ([]*store.Write, error) {
	now := s.Clock.Now()
	if code == "" {
		return nil, s.sendEmailCode(ctx, t, u, now)
	}
	var p emailProof
	found, err := s.Store.Get(ctx, t.EmailProof(u.ID), &p)
	if err != nil {
		return nil, fmt.Errorf("read email proof of %s: %w", u.ID, err)
	}
	switch {
	case !found || p.Email != u.Email:
		return nil, ErrWrongEmailCode
	case p.ExpiresAt <= now.Unix():
		return nil, ErrEmailCodeExpired
	case subtle.ConstantTimeCompare([]byte(codeHash(p.Salt, code)), []byte(p.CodeHash)) != 1:
		return nil, ErrWrongEmailCode
	}
	home := u.HomeAccountID
	if home == "" {
		home = accountID
	}
	return []*store.Write{
		store.Delete(t.EmailProof(u.ID)).
			If(store.Is("codeHash", p.CodeHash).And(expression.Name("expiresAt").GreaterThan(expression.Value(now.Unix())))).
			OrFail(ErrWrongEmailCode), // used at the same moment by another sign-in, or replaced
		identity.VerifyEmail(t, u, p.Email, now).OrFail(errProofChanged),
		changelog.New(t, s.IDs.NewID(), now, home, changelog.Actor{Kind: changelog.ActorUser, ID: u.ID, Name: u.Name(), Email: u.Email}, "user.email_verified",
			"user", u.ID, map[string]any{"emailVerified": false}, map[string]any{"emailVerified": true, "email": u.Email}).Write(),
	}, nil
}

// sendEmailCode stores a new code for u (replacing any earlier one) and
// sends it to their address; it answers the challenge.
func (s *Service) sendEmailCode(ctx context.Context, t table.Tenant, u identity.User, now time.Time) error {
	if s.Mail == nil {
		return apperr.New(apperr.KindUnavailable, "email_not_configured",
			"your email address must be confirmed by a code, and no email can be sent from here; ask an administrator")
	}
	code, salt := newEmailCode(), ids.NewSecret()
	exp := now.Add(EmailCodeTTL)
	k := t.EmailProof(u.ID)
	p := emailProof{PK: k.PK, SK: k.SK, Type: "EMAIL_PROOF", UserID: u.ID, Email: u.Email, Salt: salt, CodeHash: codeHash(salt, code),
		ExpiresAt: exp.Unix(), TTL: exp.Add(24 * time.Hour).Unix()}
	if err := s.Store.Do(ctx, "store email code of "+u.ID, store.Put(p)); err != nil {
		return err
	}
	text := fmt.Sprintf("Hello %s,\n\nYour code to confirm this email address (%s) is:\n\n    %s\n\n"+
		"Enter it where you are signing in. It works once, for %d minutes. If you did not try to sign in, "+
		"someone knows your password: ask your administrator to change it.\n", u.Name(), u.Email, code, int(EmailCodeTTL/time.Minute))
	if _, err := s.Mail.Send(ctx, email.Message{To: u.Email, Subject: "Your code to confirm your email address", Text: text}); err != nil {
		return apperr.New(apperr.KindUnavailable, "email_not_sent", "we could not send the code to your address; try again later")
	}
	return ErrEmailCodeRequired.With("expiresAt", exp.UTC().Format(time.RFC3339)).With("expiresInSeconds", int64(EmailCodeTTL/time.Second))
}

// newEmailCode is 6 random digits.
func newEmailCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("%06d", n.Int64())
}
