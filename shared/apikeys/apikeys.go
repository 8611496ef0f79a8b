// Package apikeys is the machine credentials of the product's own back end:
// API keys, created by tenant operators for the tenant or by an account's
// Admins for their account, presented as Authorization: Bearer <key> and
// resolved by Authorize on every request (nothing cached: a revoked key is
// refused on its next call).
//
// A key's secret is "aak_<tenant>_<256 random bits>" (the prefix lets secret
// scanners find a leaked key); it is shown once, at creation, and only its
// SHA-256 is stored. A key holds a scope: the tenant (an operator's tenant
// administration, limited to the actions its scopes name:
// access.Caller.ScopeRefusal) or one account with one role of that account, granted
// within the creator's own rights there (the grant ceiling of role
// assignment). At most two keys of one name are active at once, so a key is
// rotated by creating its successor and revoking it.
package apikeys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Limits of a key.
const (
	MaxNameLength  = 100
	ActivePerName  = 2           // rotation: the old key and its successor
	LastUsedWindow = time.Minute // lastUsedAt is written at most once per window
	secretLength   = 43          // 256 bits, base64url without padding
	maxKeyLength   = 200
)

// Service creates, lists, revokes and resolves API keys.
type Service struct {
	Store *store.Store
	Clock clock.Clock
	IDs   ids.Generator
}

// Errors of this package.
var (
	ErrUnknownKey = apperr.New(apperr.KindUnauthenticated, "unknown_api_key", "this API key is not one of this tenant's keys")
	ErrRevoked    = apperr.New(apperr.KindUnauthenticated, "api_key_revoked", "this API key was revoked")
	ErrExpired    = apperr.New(apperr.KindUnauthenticated, "api_key_expired", "this API key expired")
	ErrTooMany    = apperr.New(apperr.KindConflict, "api_key_name_in_use",
		"two keys of this name are active already: revoke the older one before creating its successor")
	ErrKeyScope   = access.ErrKeyScope
	ErrAdminsOnly = apperr.New(apperr.KindForbidden, "admins_only", "only the account's Admins manage its API keys")
	// errNotDue is the failed condition of a lastUsedAt update inside its
	// window: nothing to write, not an error of the request.
	errNotDue = errors.New("lastUsedAt is recent")
)

// Key is the stored key, by the hash of its secret. The secret is never
// stored.
type Key struct {
	PK         string    `dynamodbav:"PK"`
	SK         string    `dynamodbav:"SK"`
	Type       string    `dynamodbav:"type"`
	ID         string    `dynamodbav:"id"`
	Name       string    `dynamodbav:"name"`
	AccountID  string    `dynamodbav:"accountId,omitempty"` // empty: a key of the tenant
	Role       string    `dynamodbav:"role,omitempty"`
	Scopes     []string  `dynamodbav:"scopes,omitempty"` // a tenant key's tenant administration (access.TenantActions)
	CreatedBy  string    `dynamodbav:"createdBy"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
	ExpiresAt  int64     `dynamodbav:"expiresAt,omitempty"`  // epoch seconds; 0 never; enforced by Authorize
	LastUsedAt int64     `dynamodbav:"lastUsedAt,omitempty"` // epoch seconds, within LastUsedWindow
	Revoked    bool      `dynamodbav:"revoked,omitempty"`
	RevokedAt  int64     `dynamodbav:"revokedAt,omitempty"`
}

// Entry is a key in its scope's list: what the list shows, and the hash
// that leads revoke to the key.
type Entry struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Type      string    `dynamodbav:"type"`
	ID        string    `dynamodbav:"id"`
	Hash      string    `dynamodbav:"hash"`
	Name      string    `dynamodbav:"name"`
	AccountID string    `dynamodbav:"accountId,omitempty"`
	Role      string    `dynamodbav:"role,omitempty"`
	Scopes    []string  `dynamodbav:"scopes,omitempty"`
	CreatedBy string    `dynamodbav:"createdBy"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	ExpiresAt int64     `dynamodbav:"expiresAt,omitempty"`
	Revoked   bool      `dynamodbav:"revoked,omitempty"`
	RevokedAt int64     `dynamodbav:"revokedAt,omitempty"`
}

// View is a key as the API shows it: never its secret.
type View struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"` // tenant or account
	AccountID  string     `json:"accountId,omitempty"`
	Role       string     `json:"role,omitempty"`
	Scopes     []string   `json:"scopes,omitempty"` // a tenant key's: the tenant administration it may do
	Status     string     `json:"status"`           // active, expired or revoked
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

// Created is a new key: the only answer that ever holds its secret.
type Created struct {
	View
	Secret string `json:"secret"`
}

// scopeOf is the list partition of a key of accountID ("" the tenant).
func scopeOf(accountID string) string {
	if accountID == "" {
		return table.APIKeyScopeTenant
	}
	return table.APIKeyScopeAccount(accountID)
}

// IsKey reports whether a bearer token is shaped as an API key (the
// prefix), so that the session check hands it here without a read.
func IsKey(raw string) bool { return strings.HasPrefix(raw, table.APIKeyPrefix) }

// newSecret is a fresh key secret of tenant t.
func newSecret(t table.Tenant) string {
	return table.APIKeyPrefix + t.ID() + "_" + ids.NewSecret()
}

// parse splits a presented key into its tenant and checks its shape; any
// other shape is refused as unknown.
func parse(raw string) (table.Tenant, error) {
	if !IsKey(raw) || len(raw) > maxKeyLength || len(raw) < len(table.APIKeyPrefix)+secretLength+2 {
		return table.Tenant{}, ErrUnknownKey
	}
	rest := raw[len(table.APIKeyPrefix) : len(raw)-secretLength]
	tenantID, ok := strings.CutSuffix(rest, "_")
	if !ok {
		return table.Tenant{}, ErrUnknownKey
	}
	t, err := table.ForTenant(tenantID)
	if err != nil {
		return table.Tenant{}, ErrUnknownKey
	}
	return t, nil
}

// CreateRequest is the body of POST /tenant/api-keys and
// POST /accounts/{accountId}/api-keys.
type CreateRequest struct {
	Name      string     `json:"name"`
	Role      string     `json:"role,omitempty"`      // an account key's role; none for the tenant's
	Scopes    []string   `json:"scopes,omitempty"`    // a tenant key's actions (access.TenantActions); default all the creator holds
	ExpiresAt *time.Time `json:"expiresAt,omitempty"` // optional; in the future
}

// Create is a validated request.
type Create struct {
	Caller    access.Caller
	AccountID string // "" for a key of the tenant
	Name      string
	Role      string
	Scopes    []access.Action // a tenant key's, in access.TenantActions order
	ExpiresAt time.Time       // zero: never
}

// Command validates the request, for accountID ("" the tenant), at now.
func (r CreateRequest) Command(c access.Caller, accountID string, now time.Time) (Create, error) {
	var f apperr.Fields
	name := strings.TrimSpace(r.Name)
	f.Check(name != "", "name", "required", "a key needs a name, such as the system that uses it")
	f.Check(utf8.RuneCountInString(name) <= MaxNameLength, "name", "too_long", fmt.Sprintf("at most %d characters", MaxNameLength))
	f.Check(!strings.ContainsFunc(name, unicode.IsControl), "name", "invalid", "no control characters")
	role := strings.TrimSpace(r.Role)
	if accountID == "" {
		f.Check(role == "", "role", "not_allowed", "a key of the tenant holds tenant administration, as an operator: it takes no role")
	} else {
		f.Check(role != "", "role", "required", "an account's key holds one of the tenant's roles (Admin, Viewer or a custom role)")
	}
	var scopes []access.Action
	switch {
	case accountID != "":
		f.Check(r.Scopes == nil, "scopes", "not_allowed", "an account's key holds a role, not scopes: scopes are a tenant key's tenant administration")
	case r.Scopes == nil:
		scopes = holds(c)
	default:
		f.Check(len(r.Scopes) > 0, "scopes", "required", "name at least one action, or leave scopes out for all you hold")
		for _, x := range r.Scopes {
			a := access.Action(strings.TrimSpace(x))
			if !slices.Contains(access.TenantActions, a) {
				f.Check(false, "scopes", "unknown_scope", fmt.Sprintf("%q is not tenant administration: a scope is one of %s", x, actionList(access.TenantActions)))
				continue
			}
			f.Check(!c.Operator || access.RequireOperator(c, a) == nil, "scopes", "exceeds_rights", fmt.Sprintf("you do not hold %s yourself", a))
			scopes = append(scopes, a)
		}
		scopes = ordered(scopes)
	}
	var exp time.Time
	if r.ExpiresAt != nil {
		exp = r.ExpiresAt.UTC().Truncate(time.Second)
		f.Check(exp.After(now), "expiresAt", "in_the_past", "the expiry must be in the future")
	}
	return Create{Caller: c, AccountID: accountID, Name: name, Role: role, Scopes: scopes, ExpiresAt: exp}, f.Err()
}

// holds is the tenant administration caller may do: the default scopes of
// a tenant key they create.
func holds(c access.Caller) []access.Action {
	var out []access.Action
	for _, a := range access.TenantActions {
		if access.RequireOperator(c, a) == nil {
			out = append(out, a)
		}
	}
	return out
}

// ordered is scopes without repeats, in access.TenantActions order.
func ordered(scopes []access.Action) []access.Action {
	var out []access.Action
	for _, a := range access.TenantActions {
		if slices.Contains(scopes, a) {
			out = append(out, a)
		}
	}
	return out
}

func actionList(as []access.Action) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return strings.Join(out, ", ")
}

func scopeNames(as []access.Action) []string {
	if len(as) == 0 {
		return nil
	}
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}

// scopesOf is a stored tenant key's scopes; a key stored before keys had
// scopes held all tenant administration.
func scopesOf(stored []string) []access.Action {
	if len(stored) == 0 {
		return slices.Clone(access.TenantActions)
	}
	out := make([]access.Action, len(stored))
	for i, x := range stored {
		out[i] = access.Action(x)
	}
	return out
}

// authorityOver decides whether caller manages the keys of accountID (""
// the tenant): the tenant's keys are tenant administration (operators, and
// the tenant's own keys); an account's are its Admins' (support switched
// in, and the account's keys holding Admin). For a person granting role it
// answers the grant's checks, for the transaction (the grant ceiling).
func (s *Service) authorityOver(ctx context.Context, c access.Caller, accountID, role string) ([]*store.Write, error) {
	if accountID == "" {
		if !c.Operator {
			return nil, access.ErrOperatorsOnly.Withf("only tenant operators manage the tenant's API keys")
		}
		return nil, nil
	}
	if c.IsKey() {
		// A key's authority is its own account and role: no membership.
		if c.Operator || c.AccountID != accountID {
			return nil, apperr.ErrForbidden.Withf("this API key acts in account %s only", c.AccountID)
		}
		if !slices.Contains(c.Roles, access.RoleAdmin) {
			return nil, ErrAdminsOnly
		}
		return nil, nil
	}
	var roles []string
	if role != "" {
		roles = []string{role}
	}
	g, err := access.Checker{Store: s.Store}.RequireGrant(ctx, c, access.ManageRoles, accountID, "", roles)
	if err != nil {
		return nil, err
	}
	if !g.Authority.Admin {
		return nil, ErrAdminsOnly
	}
	return g.Checks(), nil
}

// Create makes a key and answers its secret, once. In one transaction: the
// key by its hash, its entry in the scope's list, its id added to the
// name's active keys on the condition that fewer than two are (409
// api_key_name_in_use), the grant's checks (the creator's rights at the
// versions read) and the change-log entry. No key creates a key (the route
// refuses keys; so does this): a leaked key must not outlive its
// revocation through a successor it minted.
func (s *Service) Create(ctx context.Context, cmd Create) (Created, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if c.IsKey() {
		return Created{}, apperr.New(apperr.KindForbidden, "api_key_refused", "API keys cannot create API keys")
	}
	checks, err := s.authorityOver(ctx, c, cmd.AccountID, cmd.Role)
	if err != nil {
		return Created{}, err
	}
	if cmd.AccountID != "" {
		// The account must be open: RequireGrant read it (404 unknown);
		// closed accounts refuse writes there.
		checks = append(checks, accounts.Open(t, cmd.AccountID).OrFail(access.ErrAccountClosed))
	}
	now := s.Clock.Now().UTC().Truncate(time.Second)
	secret := newSecret(t)
	hash := ids.Hash(secret)
	id := s.IDs.NewID()
	scope := scopeOf(cmd.AccountID)
	var exp int64
	if !cmd.ExpiresAt.IsZero() {
		exp = cmd.ExpiresAt.Unix()
	}
	hk, ek := t.APIKey(hash), t.APIKeyEntry(scope, id)
	scopes := scopeNames(cmd.Scopes)
	key := Key{PK: hk.PK, SK: hk.SK, Type: "APIKEY", ID: id, Name: cmd.Name, AccountID: cmd.AccountID, Role: cmd.Role,
		Scopes: scopes, CreatedBy: c.UserID, CreatedAt: now, ExpiresAt: exp}
	entry := Entry{PK: ek.PK, SK: ek.SK, Type: "APIKEY_ENTRY", ID: id, Hash: hash, Name: cmd.Name, AccountID: cmd.AccountID,
		Role: cmd.Role, Scopes: scopes, CreatedBy: c.UserID, CreatedAt: now, ExpiresAt: exp}
	active := expression.Name("keys")
	name := store.Update(t.APIKeyName(scope, cmd.Name), expression.Add(active, expression.Value(stringSet(id))).
		Set(expression.Name("type"), expression.Value("APIKEY_NAME"))).
		If(expression.AttributeNotExists(active).Or(expression.LessThan(expression.Size(active), expression.Value(ActivePerName)))).
		OrFail(ErrTooMany.With("name", cmd.Name))
	after := map[string]any{"name": cmd.Name}
	if cmd.Role != "" {
		after["role"] = cmd.Role
	}
	if scopes != nil {
		after["scopes"] = scopes
	}
	if exp != 0 {
		after["expiresAt"] = cmd.ExpiresAt.UTC().Format(time.RFC3339)
	}
	writes := []*store.Write{store.Put(key).If(store.NotExists()), store.Put(entry).If(store.NotExists()), name}
	writes = append(writes, checks...)
	writes = append(writes, s.logEntry(t, now, c, cmd.AccountID, "api_key.created", id, nil, after).Write())
	if err := s.Store.Transact(ctx, "create API key "+id, writes...); err != nil {
		return Created{}, err
	}
	return Created{View: viewOf(entry, 0, now), Secret: secret}, nil
}

// logEntry is the change-log entry of a change to a key of accountID: in
// the account's log, or for the tenant's keys in the tenant's log.
func (s *Service) logEntry(t table.Tenant, now time.Time, c access.Caller, accountID, action, keyID string, before, after map[string]any) changelog.Entry {
	if accountID != "" {
		return changelog.New(t, s.IDs.NewID(), now, accountID, changelog.ActorOf(c), action, "api_key", keyID, before, after)
	}
	e := changelog.NewTenantEntry(t, s.IDs.NewID(), now, "", changelog.ActorOf(c), action, before, after)
	e.SubjectType, e.SubjectID = "api_key", keyID
	return e
}

// List shows the keys of accountID ("" the tenant), newest first, never
// their secrets: one Query of the scope's list and one BatchGetItem of the
// keys (for lastUsedAt).
func (s *Service) List(ctx context.Context, c access.Caller, accountID string, limit int32, cursor string) ([]View, string, error) {
	if accountID != "" && c.Operator && !c.IsKey() {
		// Support reads it as it reads the account's users: switched in,
		// or in a closed account whose data was kept.
		if err := (access.Checker{Store: s.Store}).Require(ctx, c, access.ReadUsers, accountID); err != nil {
			return nil, "", err
		}
	} else if _, err := s.authorityOver(ctx, c, accountID, ""); err != nil {
		return nil, "", err
	}
	t := c.Tenant
	page, err := s.Store.QueryPage(ctx, store.Query{Partition: t.APIKeys(scopeOf(accountID)), SKPrefix: table.APIKeyEntryPrefix,
		Newest: true, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", fmt.Errorf("list API keys: %w", err)
	}
	var entries []Entry
	if err := page.Decode(&entries); err != nil {
		return nil, "", apperr.Internal("decode API keys", err)
	}
	keys := make([]table.Key, 0, len(entries))
	for _, e := range entries {
		if !e.Revoked {
			keys = append(keys, t.APIKey(e.Hash))
		}
	}
	used := map[string]int64{}
	if len(keys) > 0 {
		items, err := s.Store.GetMany(ctx, keys)
		if err != nil {
			return nil, "", fmt.Errorf("list API keys: %w", err)
		}
		for _, it := range items {
			var k Key
			if err := attributevalue.UnmarshalMap(it, &k); err == nil {
				used[k.ID] = k.LastUsedAt
			}
		}
	}
	now := s.Clock.Now()
	out := make([]View, 0, len(entries))
	for _, e := range entries {
		out = append(out, viewOf(e, used[e.ID], now))
	}
	return out, page.Cursor, nil
}

func viewOf(e Entry, lastUsed int64, now time.Time) View {
	v := View{ID: e.ID, Name: e.Name, Scope: "tenant", AccountID: e.AccountID, Role: e.Role, Status: "active",
		Scopes:    e.Scopes,
		CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt}
	if e.AccountID != "" {
		v.Scope = "account"
	}
	at := func(sec int64) *time.Time {
		if sec == 0 {
			return nil
		}
		x := time.Unix(sec, 0).UTC()
		return &x
	}
	v.ExpiresAt, v.LastUsedAt, v.RevokedAt = at(e.ExpiresAt), at(lastUsed), at(e.RevokedAt)
	switch {
	case e.Revoked:
		v.Status = "revoked"
	case e.ExpiresAt != 0 && now.Unix() >= e.ExpiresAt:
		v.Status = "expired"
	}
	return v
}

// Revoke revokes key keyID of accountID ("" the tenant): in one
// transaction the key is marked revoked (refused from its next call), its
// entry shows it, its name's active keys lose it, and the change log
// records it. Revoking a revoked key changes nothing. An unknown key, or
// one of another scope, is 404.
func (s *Service) Revoke(ctx context.Context, c access.Caller, accountID, keyID string) error {
	if _, err := s.authorityOver(ctx, c, accountID, ""); err != nil {
		return err
	}
	t, scope := c.Tenant, scopeOf(accountID)
	if !ids.Valid(keyID) {
		return apperr.ErrNotFound.Withf("no API key %s", keyID)
	}
	var e Entry
	ok, err := s.Store.Get(ctx, t.APIKeyEntry(scope, keyID), &e)
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", keyID, err)
	}
	if !ok {
		return apperr.ErrNotFound.Withf("no API key %s here", keyID)
	}
	if e.Revoked {
		return nil
	}
	if c.IsKey() && accountID == "" {
		// No key manages a key wider than itself.
		for _, a := range scopesOf(e.Scopes) {
			if err := c.ScopeRefusal(a); err != nil {
				return ErrKeyScope.Withf("this API key cannot revoke key %s: it holds %s, which this key does not", keyID, a)
			}
		}
	}
	now := s.Clock.Now().UTC().Truncate(time.Second)
	revoke := expression.Set(expression.Name("revoked"), expression.Value(true)).
		Set(expression.Name("revokedAt"), expression.Value(now.Unix()))
	notRevoked := expression.AttributeNotExists(expression.Name("revoked"))
	err = s.Store.Transact(ctx, "revoke API key "+keyID,
		store.Update(t.APIKey(e.Hash), revoke).If(store.Exists().And(notRevoked)).OrFail(apperr.ErrNotFound),
		store.Update(t.APIKeyEntry(scope, keyID), revoke).If(store.Exists().And(notRevoked)).OrFail(apperr.ErrNotFound),
		store.Update(t.APIKeyName(scope, e.Name), expression.Delete(expression.Name("keys"), expression.Value(stringSet(keyID)))),
		s.logEntry(t, now, c, accountID, "api_key.revoked", keyID, map[string]any{"name": e.Name}, nil).Write())
	if errors.Is(err, apperr.ErrNotFound) {
		return nil // revoked meanwhile: the same outcome
	}
	return err
}

// Authorize resolves a presented key to its caller, or says why not (401):
// one GetItem of the key by its hash, and for an account's key one of the
// account (closed: refused). lastUsedAt is written only when it is older
// than LastUsedWindow, by a conditional update, so that a key in steady use
// costs one write a minute, never one per request.
func (s *Service) Authorize(ctx context.Context, raw string) (access.Caller, error) {
	t, err := parse(raw)
	if err != nil {
		return access.Caller{}, err
	}
	hk := t.APIKey(ids.Hash(raw))
	var k Key
	ok, err := s.Store.Get(ctx, hk, &k)
	if err != nil {
		return access.Caller{}, fmt.Errorf("authorize API key: %w", err)
	}
	now := s.Clock.Now()
	switch {
	case !ok:
		return access.Caller{}, ErrUnknownKey
	case k.Revoked:
		return access.Caller{}, ErrRevoked
	case k.ExpiresAt != 0 && now.Unix() >= k.ExpiresAt:
		return access.Caller{}, ErrExpired.Withf("this API key expired on %s", time.Unix(k.ExpiresAt, 0).UTC().Format(time.RFC3339))
	}
	caller := access.Caller{Tenant: t, UserID: k.ID, SessionID: k.ID, KeyID: k.ID, KeyName: k.Name, Name: k.Name}
	if k.AccountID == "" {
		caller.Operator, caller.Scopes = true, scopesOf(k.Scopes)
	} else {
		var acc accounts.Account
		ok, err := s.Store.Get(ctx, t.Account(k.AccountID), &acc)
		if err != nil {
			return access.Caller{}, fmt.Errorf("authorize API key: %w", err)
		}
		if !ok || acc.Status != accounts.StatusActive {
			return access.Caller{}, apperr.ErrUnauthenticated.Withf("the account of this API key is closed")
		}
		caller.AccountID, caller.Roles = k.AccountID, []string{k.Role}
	}
	if now.Unix()-k.LastUsedAt >= int64(LastUsedWindow/time.Second) {
		if err := s.touch(ctx, t, hk, k, now); err != nil {
			return access.Caller{}, err
		}
	}
	return caller, nil
}

// touch sets lastUsedAt to now unless another request did within the
// window (then nothing is written: the condition fails, quietly). For an
// account's key the same transaction puts the access-history entry of this
// minute of use (the request's client from identity.ClientFrom), so that
// an entry exists exactly when lastUsedAt moved: one a minute, never one
// per request. A tenant's key enters no account (inside one it is refused
// as an unswitched operator), so it writes none: its list shows lastUsedAt.
func (s *Service) touch(ctx context.Context, t table.Tenant, hk table.Key, k Key, now time.Time) error {
	lu := expression.Name("lastUsedAt")
	due := expression.AttributeNotExists(lu).Or(expression.LessThanEqual(lu, expression.Value(now.Add(-LastUsedWindow).Unix())))
	writes := []*store.Write{store.Update(hk, expression.Set(lu, expression.Value(now.Unix()))).
		If(store.Exists().And(due)).OrFail(errNotDue)}
	if k.AccountID != "" {
		gen := s.IDs
		if gen == nil {
			gen = ids.TimeOrdered{Clock: s.Clock}
		}
		entry := identity.NewKeyAccessEntry(t, gen.NewID(), k.ID, k.Name, k.AccountID, now.UTC(), identity.ClientFrom(ctx))
		writes = append(writes, store.Put(entry).If(store.NotExists()))
	}
	var err error
	if len(writes) == 1 {
		err = s.Store.Do(ctx, "API key last used", writes[0])
	} else {
		err = s.Store.Transact(ctx, "API key last used", writes...)
	}
	if err != nil && !errors.Is(err, errNotDue) {
		return fmt.Errorf("authorize API key: %w", err)
	}
	return nil
}

// stringSet is a DynamoDB string set of ids, for ADD and DELETE.
func stringSet(ids ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: ids} }
