// Package auth signs users in and out and resolves session tokens to their
// caller (httpapi.Server.Serve, before every authorized route). Sessions are checked on every request, so revocation,
// suspension, deletion and licence removal take effect on the next call.
package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apikeys"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/attempts"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/twofactor"
)

// Service signs in, signs out and authorizes.
type Service struct {
	Store *store.Store
	Clock clock.Clock
	IDs   ids.Generator
	// Mail sends the code that proves an unverified address at first
	// sign-in; nil sends none (such a user then cannot finish signing in:
	// 503 email_not_configured).
	Mail Mailer
	// TwoFactor enrols and checks second factors; nil checks codes with no
	// sealer and no SMS (users with none sign in as before).
	TwoFactor *twofactor.Service
}

// Mailer sends one email; *sesmail.Sender is one.
type Mailer interface {
	Send(ctx context.Context, m email.Message) (string, error)
}

// Errors of this package.
var (
	ErrInvalidCredentials = apperr.New(apperr.KindUnauthenticated, "invalid_credentials", "the email or password is wrong")
	ErrNoAccess           = apperr.New(apperr.KindForbidden, "no_account_access", "you have no licence or membership to sign in to this account")
	ErrTooManyAttempts    = attempts.ErrTooMany
	ErrSwitchAsSupport    = apperr.New(apperr.KindForbidden, "switch_with_reason",
		"support staff enter a customer account by switching into it with a reason (POST /me/switch-account)")
)

// SignIn is a validated sign-in request.
type SignIn struct {
	Tenant    table.Tenant
	Email     string // normalised
	Password  string
	AccountID string // optional: the account to sign in to; default the home account
	// EmailCode is the code sent to an unverified address by an earlier
	// sign-in (see proveEmail); empty otherwise.
	EmailCode string
	IP        string
	UserAgent string
}

// Signed is a new session, the only time its token is ever seen.
type Signed struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	UserID    string    `json:"userId"`
	AccountID string    `json:"accountId"`
	// RecoveryCodes are shown once, when a sign-in enrolled the user.
	RecoveryCodes []string `json:"recoveryCodes,omitempty"`
	// SecondStep, instead of a token: the sign-in needs a code (no session yet).
	SecondStep *SecondStep `json:"-"`
}

// SignIn checks the password and opens a session. The answer for an unknown
// email, a wrong password and a locked-out email is the same whether or not a
// user exists; the password is hashed in every case so timing tells nothing.
//
// Every check goes through the one limiter (shared/attempts): the attempt
// is counted before the password is verified, so concurrent guesses never
// verify more than the limits allow, and a locked scope answers 429
// without verifying.
func (s *Service) SignIn(ctx context.Context, in SignIn) (Signed, error) {
	t := in.Tenant
	settings, err := tenancy.Load(ctx, s.Store, t)
	if apperr.KindOf(err) == apperr.KindNotFound {
		// No such tenant: nothing to count (no counters for made-up tenants),
		// and the same answer, after the same hashing, as a wrong password.
		_, _ = identity.VerifyPassword(in.Password, identity.DummyHash())
		return Signed{}, ErrInvalidCredentials
	}
	if err != nil {
		return Signed{}, err
	}
	reserved, err := s.Attempts().Reserve(ctx, attempts.Check{Tenant: t, Email: in.Email, Address: in.IP, Limits: settings.Limit()})
	if err != nil {
		return Signed{}, err
	}

	user, found, err := s.userByEmail(ctx, t, in.Email)
	if err != nil {
		return Signed{}, err
	}
	hash := user.PasswordHash
	if !found || hash == "" {
		hash = identity.DummyHash()
	}
	ok, err := identity.VerifyPassword(in.Password, hash)
	if err != nil {
		return Signed{}, apperr.Internal("verify password", err)
	}
	if !found || !ok || user.PasswordHash == "" {
		return Signed{}, ErrInvalidCredentials // the reservation is the failure's count
	}
	if user.Status == identity.UserSuspended {
		return Signed{}, apperr.New(apperr.KindForbidden, "user_suspended", "this user is suspended; ask an administrator")
	}
	if user.Status != identity.UserActive {
		return Signed{}, ErrInvalidCredentials
	}
	accountID := in.AccountID
	if accountID == "" {
		accountID = user.HomeAccountID
	}
	factors, required, err := s.checkAccountAccess(ctx, t, user, accountID)
	if err != nil {
		return Signed{}, err
	}
	var proof []*store.Write
	if user.EmailUnverified {
		if proof, err = s.proveEmail(ctx, t, user, accountID, in.EmailCode); err != nil {
			return Signed{}, err
		}
		user.EmailUnverified = false
	}
	if needsSecondStep(factors, user, required || settings.TwoFactorRequired) {
		return s.startSecondStep(ctx, t, user, accountID, factors, proof)
	}
	signed, writes := s.NewSession(t, user, accountID, settings.SessionTTL(), in.IP, in.UserAgent)
	writes = append(writes, reserved.Succeeded()...)
	writes = append(writes, proof...)
	if err := s.Store.Transact(ctx, "sign in "+user.ID, writes...); err != nil {
		return Signed{}, err
	}
	return signed, nil
}

// Attempts is the limiter of every password check.
func (s *Service) Attempts() attempts.Limiter {
	return attempts.Limiter{Store: s.Store, Clock: s.Clock}
}

// NewSession prepares a session for user in accountID: the token to hand
// out and the writes (session and access-history entry) to commit, alone or
// inside a larger transaction such as accepting an invitation.
func (s *Service) NewSession(t table.Tenant, user identity.User, accountID string, ttl time.Duration, ip, ua string) (Signed, []*store.Write) {
	return s.newSession(t, user, accountID, ttl, ip, ua, "")
}

// newSession is NewSession recording how the sign-in was proven (method).
func (s *Service) newSession(t table.Tenant, user identity.User, accountID string, ttl time.Duration, ip, ua, method string) (Signed, []*store.Write) {
	now := s.Clock.Now()
	tok := identity.NewToken(t)
	sess := identity.NewSession(t, tok, s.IDs.NewID(), user, accountID, now, ttl)
	via := identity.AccessViaMember
	if user.HomeAccountID != accountID {
		via = identity.AccessViaExternal
	}
	entry := identity.NewAccessEntry(t, s.IDs.NewID(), user.ID, "sign_in", accountID, now, ip, ua).Of(user, via)
	entry.Method = method
	return Signed{Token: string(tok), ExpiresAt: time.Unix(sess.ExpiresAt, 0).UTC(), UserID: user.ID, AccountID: accountID},
		[]*store.Write{store.Put(sess).If(store.NotExists()), store.Put(entry)}
}

func (s *Service) userByEmail(ctx context.Context, t table.Tenant, email string) (identity.User, bool, error) {
	var claim identity.EmailClaim
	ok, err := s.Store.Get(ctx, t.EmailClaim(email), &claim)
	if err != nil || !ok {
		return identity.User{}, false, err
	}
	var u identity.User
	ok, err = s.Store.Get(ctx, t.User(claim.UserID), &u)
	return u, ok, err
}

// checkAccountAccess: the user must hold a licensed membership of an active
// account. Operators sign in to their home account or one they hold a
// licensed membership in; they enter customer accounts by switching, with a
// reason (access.EntersAsSupport).
func (s *Service) checkAccountAccess(ctx context.Context, t table.Tenant, user identity.User, accountID string) (twofactor.Factors, bool, error) {
	var factors twofactor.Factors
	if accountID == "" {
		return factors, false, ErrNoAccess
	}
	// The user's second factors come in the same batch (no extra call).
	items, err := s.Store.GetMany(ctx, []table.Key{t.Account(accountID), t.Membership(accountID, user.ID), t.TwoFactor(user.ID)})
	if err != nil {
		return factors, false, err
	}
	if fi, ok := items[t.TwoFactor(user.ID)]; ok {
		if err := attributevalue.UnmarshalMap(fi, &factors); err != nil {
			return factors, false, apperr.Internal("decode second factors", err)
		}
	}
	required, err := s.accountAccess(t, user, accountID, items)
	return factors, required, err
}

// accountAccess is checkAccountAccess's decision on what it read; it
// reports whether the account requires a second factor.
func (s *Service) accountAccess(t table.Tenant, user identity.User, accountID string, items map[table.Key]map[string]types.AttributeValue) (bool, error) {
	var acc accounts.Account
	ai, ok := items[t.Account(accountID)]
	if !ok {
		return false, ErrNoAccess
	}
	if err := attributevalue.UnmarshalMap(ai, &acc); err != nil {
		return false, apperr.Internal("decode account", err)
	}
	if acc.Status != accounts.StatusActive {
		return false, apperr.New(apperr.KindForbidden, "account_closed", "this account is closed")
	}
	var m accounts.Membership
	if mi, ok := items[t.Membership(accountID, user.ID)]; ok {
		if err := attributevalue.UnmarshalMap(mi, &m); err != nil {
			return false, apperr.Internal("decode membership", err)
		}
	}
	licensed := m.Licence != ""
	switch {
	case access.EntersAsSupport(user.Operator, user.HomeAccountID, accountID, licensed):
		return false, ErrSwitchAsSupport
	case !user.Operator && !licensed:
		return false, ErrNoAccess
	}
	return acc.TwoFactorRequired, nil
}

// SignOut revokes the session of token (which must be the caller's own).
func (s *Service) SignOut(ctx context.Context, caller access.Caller, rawToken string) error {
	t, tok, err := identity.ParseToken(rawToken)
	if err != nil || t.ID() != caller.Tenant.ID() {
		return apperr.ErrUnauthenticated
	}
	return s.Store.Do(ctx, "sign out", identity.RevokeSession(t, tok.Hash(), caller.SessionID).OrFail(apperr.ErrUnauthenticated))
}

// Authorize resolves a bearer token to its caller, or says why not (401).
// Two reads: the session, then user, membership and account in one batch.
// A token with the API key prefix is an API key (apikeys.Service.Authorize).
func (s *Service) Authorize(ctx context.Context, rawToken string) (access.Caller, error) {
	if apikeys.IsKey(rawToken) {
		return (&apikeys.Service{Store: s.Store, Clock: s.Clock, IDs: s.IDs}).Authorize(ctx, rawToken)
	}
	t, tok, err := identity.ParseToken(rawToken)
	if err != nil {
		return access.Caller{}, err
	}
	var sess identity.Session
	ok, err := s.Store.Get(ctx, t.Session(tok.Hash()), &sess)
	if err != nil {
		return access.Caller{}, fmt.Errorf("authorize: %w", err)
	}
	if !ok {
		return access.Caller{}, apperr.ErrUnauthenticated
	}
	userKey, memberKey, accountKey := t.User(sess.UserID), t.Membership(sess.AccountID, sess.UserID), t.Account(sess.AccountID)
	items, err := s.Store.GetMany(ctx, []table.Key{userKey, memberKey, accountKey})
	if err != nil {
		return access.Caller{}, fmt.Errorf("authorize: %w", err)
	}
	var user identity.User
	ui, ok := items[userKey]
	if !ok {
		return access.Caller{}, apperr.ErrUnauthenticated.Withf("this user no longer exists")
	}
	if err := attributevalue.UnmarshalMap(ui, &user); err != nil {
		return access.Caller{}, apperr.Internal("decode user", err)
	}
	if err := sess.Valid(s.Clock.Now(), user); err != nil {
		return access.Caller{}, err
	}
	var acc accounts.Account
	ai, ok := items[accountKey]
	if !ok {
		return access.Caller{}, apperr.ErrUnauthenticated.Withf("this account no longer exists")
	}
	if err := attributevalue.UnmarshalMap(ai, &acc); err != nil {
		return access.Caller{}, apperr.Internal("decode account", err)
	}
	// Only tenant operators keep a session in a closed account (its data
	// kept): a read-only support session, shared/access refusing writes.
	if acc.Status != accounts.StatusActive && !(user.Operator && acc.Status == accounts.StatusClosed) {
		return access.Caller{}, apperr.ErrUnauthenticated.Withf("this account is closed")
	}
	// A session that was in the account before it closed stays refused
	// once it is reopened (administration.ReopenAccount sets reopenedAt):
	// its user signs in again.
	var reopened struct {
		ReopenedAt *time.Time `dynamodbav:"reopenedAt"`
	}
	if err := attributevalue.UnmarshalMap(ai, &reopened); err != nil {
		return access.Caller{}, apperr.Internal("decode account", err)
	}
	if reopened.ReopenedAt != nil && sess.CreatedAt.Before(*reopened.ReopenedAt) && !user.Operator {
		return access.Caller{}, apperr.ErrUnauthenticated.Withf("this account was closed and reopened since you signed in: sign in again")
	}
	// Name and email come from the user item this batch reads anyway (no
	// extra read): a rename or email change shows in the very next request,
	// and every change-log entry records the caller as they were then.
	caller := access.Caller{Tenant: t, UserID: user.ID, SessionID: sess.ID, AccountID: sess.AccountID, Operator: user.Operator,
		Name: user.Name(), Email: user.Email}
	if user.Operator {
		// The reason the operator gave when switching into this account: every
		// change they make here is logged with it (changelog.ActorOf).
		caller.SupportReason = sess.SupportReason
	}
	if mi, ok := items[memberKey]; ok {
		var m accounts.Membership
		if err := attributevalue.UnmarshalMap(mi, &m); err != nil {
			return access.Caller{}, apperr.Internal("decode membership", err)
		}
		if m.Licence == "" && !user.Operator {
			return access.Caller{}, apperr.ErrUnauthenticated.Withf("you no longer hold a licence in this account")
		}
		caller.Roles, caller.Member, caller.MemberVersion = m.Roles, true, m.Version
	} else if !user.Operator {
		return access.Caller{}, apperr.ErrUnauthenticated.Withf("you are no longer a member of this account")
	}
	return caller, nil
}

// Me is the signed-in user's view of themselves.
type Me struct {
	User          identity.UserView `json:"user"`
	ActiveAccount string            `json:"activeAccountId"`
	Roles         []string          `json:"roles"`
	Operator      bool              `json:"operator"`
	Memberships   []MembershipView  `json:"memberships"`
}

// MembershipView is one account the user belongs to.
type MembershipView struct {
	AccountID string   `json:"accountId"`
	Roles     []string `json:"roles"`
	Licence   string   `json:"licence,omitempty"`
	External  bool     `json:"external"`
}

// Me reads the caller's profile and memberships.
func (s *Service) Me(ctx context.Context, caller access.Caller) (Me, error) {
	t := caller.Tenant
	var u identity.User
	ok, err := s.Store.Get(ctx, t.User(caller.UserID), &u)
	if err != nil {
		return Me{}, err
	}
	if !ok {
		return Me{}, apperr.ErrUnauthenticated
	}
	prefix := t.UserAccounts(caller.UserID, "")
	items, err := s.Store.QueryAll(ctx, store.Query{Index: table.GSI1, Partition: prefix.PK, SKPrefix: prefix.SK}, 1000)
	if err != nil {
		return Me{}, err
	}
	var ms []accounts.Membership
	if err := attributevalue.UnmarshalListOfMaps(items, &ms); err != nil {
		return Me{}, apperr.Internal("decode memberships", err)
	}
	out := Me{User: identity.UserViewOf(u), ActiveAccount: caller.AccountID, Roles: caller.Roles, Operator: caller.Operator, Memberships: []MembershipView{}}
	for _, m := range ms {
		out.Memberships = append(out.Memberships, MembershipView{AccountID: m.AccountID, Roles: m.Roles, Licence: m.Licence, External: m.External})
	}
	return out, nil
}

// IsInvalidCredentials reports a failed sign-in.
func IsInvalidCredentials(err error) bool { return errors.Is(err, ErrInvalidCredentials) }
