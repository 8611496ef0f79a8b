package identity

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Session is a signed-in browser or client. The item is keyed by the SHA-256
// of the token; the token itself is never stored.
type Session struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Type      string    `dynamodbav:"type"`
	ID        string    `dynamodbav:"id"`
	UserID    string    `dynamodbav:"userId"`
	AccountID string    `dynamodbav:"accountId"` // the active account
	Epoch     int64     `dynamodbav:"epoch"`     // the user's SessionEpoch when issued
	CreatedAt time.Time `dynamodbav:"createdAt"`
	ExpiresAt int64     `dynamodbav:"expiresAt"` // epoch seconds; enforced by the session check (auth.Service.Authorize)
	Revoked   bool      `dynamodbav:"revoked,omitempty"`
	TTL       int64     `dynamodbav:"ttl"` // clean-up a day after expiry
	GSI1PK    string    `dynamodbav:"GSI1PK"`
	GSI1SK    string    `dynamodbav:"GSI1SK"`

	// SupportReason is why a tenant operator entered the active account as
	// support (given at POST /me/switch-account); set and removed by the
	// switch, never present for anyone else.
	SupportReason string `dynamodbav:"supportReason,omitempty"`
}

// Token is a session secret as the client holds it: "<tenant>.<256 random
// bits>". The tenant part is not secret; it tells the session check which
// tenant's keys to read.
type Token string

// NewToken makes a fresh token for tenant.
func NewToken(t table.Tenant) Token { return Token(t.ID() + "." + ids.NewSecret()) }

// ParseToken splits a token into its tenant and checks its shape.
func ParseToken(raw string) (table.Tenant, Token, error) {
	tenantID, secret, ok := strings.Cut(raw, ".")
	if !ok || len(secret) != 43 || len(raw) > 120 {
		return table.Tenant{}, "", apperr.ErrUnauthenticated
	}
	t, err := table.ForTenant(tenantID)
	if err != nil {
		return table.Tenant{}, "", apperr.ErrUnauthenticated
	}
	return t, Token(raw), nil
}

// Hash is the stored form of the token.
func (tok Token) Hash() string { return ids.Hash(string(tok)) }

// BearerToken reads "Authorization: Bearer <token>".
func BearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// NewSession builds a session item for a freshly issued token.
func NewSession(t table.Tenant, tok Token, id string, u User, accountID string, now time.Time, ttl time.Duration) Session {
	k := t.Session(tok.Hash())
	ix := t.UserSessions(u.ID, now)
	exp := now.Add(ttl)
	return Session{PK: k.PK, SK: k.SK, Type: "SESSION", ID: id, UserID: u.ID, AccountID: accountID, Epoch: u.SessionEpoch,
		CreatedAt: now, ExpiresAt: exp.Unix(), TTL: exp.Add(24 * time.Hour).Unix(), GSI1PK: ix.PK, GSI1SK: ix.SK}
}

// Valid reports why a session cannot be used now, or nil.
func (s Session) Valid(now time.Time, u User) error {
	switch {
	case s.Revoked:
		return apperr.ErrUnauthenticated.Withf("this session was signed out")
	case now.Unix() >= s.ExpiresAt:
		return apperr.ErrUnauthenticated.Withf("this session expired; sign in again")
	case u.Status != UserActive:
		return apperr.ErrUnauthenticated.Withf("this user cannot sign in (%s)", u.Status)
	case s.Epoch != u.SessionEpoch:
		return apperr.ErrUnauthenticated.Withf("this session was revoked; sign in again")
	}
	return nil
}

// AccessEntry records a sign-in or an account switch in the user's access history.
type AccessEntry struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Type      string    `dynamodbav:"type"`
	ID        string    `dynamodbav:"id"`
	UserID    string    `dynamodbav:"userId"`
	Event     string    `dynamodbav:"event"` // sign_in, switch_account
	AccountID string    `dynamodbav:"accountId"`
	At        time.Time `dynamodbav:"at"`
	IP        string    `dynamodbav:"ip,omitempty"`
	UserAgent string    `dynamodbav:"userAgent,omitempty"`
	ActorID   string    `dynamodbav:"actorId,omitempty"` // a support person acting in the account
	Reason    string    `dynamodbav:"reason,omitempty"`
	// Method is how a sign-in was proven: password alone, or its second
	// step (totp, sms, recovery).
	Method string `dynamodbav:"method,omitempty"`
	TTL    int64  `dynamodbav:"ttl,omitempty"`

	// The user as they were at the time (see Of); absent on entries whose
	// writer did not record them: readers then show the current profile.
	UserName  string `dynamodbav:"userName,omitempty"`
	UserEmail string `dynamodbav:"userEmail,omitempty"`
	// Via is how the user entered the account (AccessVia*), when the writer
	// recorded it; readers derive it otherwise.
	Via string `dynamodbav:"via,omitempty"`

	// GSI1: the account's access history (table.AccountAccess).
	GSI1PK string `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK string `dynamodbav:"GSI1SK,omitempty"`
}

// How a user entered an account, in its access history.
const (
	AccessViaMember   = "member"   // a member whose home account it is
	AccessViaExternal = "external" // a member whose home account is elsewhere
	AccessViaSupport  = "support"  // a tenant operator, via switch account, with a reason
	AccessViaAPIKey   = "api_key"  // an account's API key (its id and name in place of a user)
)

// EventAPIKeyUsed is the access-history event of an account's API key: its
// first request of a minute of use.
const EventAPIKeyUsed = "api_key_used"

// Client is where a request came from: its source address and user agent,
// as the access history records them.
type Client struct{ IP, UserAgent string }

type clientKey struct{}

// WithClient carries the request's client to code that records access
// (the API key check) without widening every signature.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom is the request's client, if WithClient set one.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// NewKeyAccessEntry builds the access-history entry of an API key of
// accountID used at at: in the key's own partition (table.APIKeyAccess)
// and, by GSI1, in the account's history, naming the key in place of a
// user.
func NewKeyAccessEntry(t table.Tenant, id, keyID, keyName, accountID string, at time.Time, c Client) AccessEntry {
	e := NewAccessEntry(t, id, keyID, EventAPIKeyUsed, accountID, at, c.IP, c.UserAgent)
	k := t.APIKeyAccess(keyID, id)
	e.PK, e.SK, e.UserName, e.Via = k.PK, k.SK, keyName, AccessViaAPIKey
	return e
}

// NewAccessEntry builds an access-history item: in the user's history and,
// by its GSI1 key, in the account's.
func NewAccessEntry(t table.Tenant, id, userID, event, accountID string, at time.Time, ip, ua string) AccessEntry {
	k := t.AccessEntry(userID, id)
	if len(ua) > 512 {
		ua = ua[:512]
	}
	e := AccessEntry{PK: k.PK, SK: k.SK, Type: "ACCESS", ID: id, UserID: userID, Event: event, AccountID: accountID, At: at, IP: ip, UserAgent: ua}
	if accountID != "" {
		ix := t.AccountAccess(accountID, id)
		e.GSI1PK, e.GSI1SK = ix.PK, ix.SK
	}
	return e
}

// Of records who the entry's user was at the time (name and email), and
// how they entered the account (an AccessVia* value, or "" to leave it to
// readers).
func (e AccessEntry) Of(u User, via string) AccessEntry {
	e.UserName, e.UserEmail, e.Via = strings.TrimSpace(u.FirstName+" "+u.LastName), u.Email, via
	return e
}

// UnkeyedAccessEntries filters a user's access history to the entries
// written before each entry carried its account key (GSI1): those with an
// account and no key.
func UnkeyedAccessEntries() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(table.AttrGSI1PK)).And(expression.AttributeExists(expression.Name("accountId")))
}

// GiveAccountKey sets e's account key (table.AccountAccess), so that it
// shows in its account's history too, on condition that it still has none.
func (e AccessEntry) GiveAccountKey(t table.Tenant) *store.Write {
	ix := t.AccountAccess(e.AccountID, e.ID)
	return store.Update(table.Key{PK: e.PK, SK: e.SK}, expression.Set(expression.Name(table.AttrGSI1PK), expression.Value(ix.PK)).
		Set(expression.Name(table.AttrGSI1SK), expression.Value(ix.SK))).
		If(store.Exists().And(expression.AttributeNotExists(expression.Name(table.AttrGSI1PK))))
}
