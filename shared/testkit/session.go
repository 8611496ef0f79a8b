package testkit

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
)

// sessionTTL is how long a test session lasts on its env's clock: longer
// than any test moves the clock, so that only what a test does to it (a
// sign-out, a suspension, a removal) ends it.
const sessionTTL = 10 * 365 * 24 * time.Hour

// quietStore is a store on e's table through a client of its own, so that
// what a test prepares (its callers' sessions) is neither counted in
// e.Calls nor recorded by a bench Recorder.
func (e *Env) quietStore() *store.Store {
	e.quiet.once.Do(func() { e.quiet.store = store.New(awsclient.DynamoDB(e.AWS), e.Config.Table) })
	return e.quiet.store
}

type quietState struct {
	once  sync.Once
	store *store.Store

	mu     sync.Mutex
	tokens map[string]string // Event's sessions, by caller
}

// Session signs c in for real: it writes a session of user c.UserID in
// c.AccountID (with c.SupportReason, as after a switch into the account),
// created now on e's clock, and returns its token. Its id is c.SessionID
// when set. The caller a handler then gets is what the service resolves
// from the session (roles from the membership, name and email from the
// user item, Operator from the user), never c itself.
func (e *Env) Session(tb testing.TB, c access.Caller) string {
	tb.Helper()
	ctx := context.Background()
	st := e.quietStore()
	var u identity.User
	ok, err := st.Get(ctx, c.Tenant.User(c.UserID), &u)
	if err != nil {
		tb.Fatalf("session for %s: %v", c.UserID, err)
	}
	if !ok {
		u.ID = c.UserID // no such user: the session is refused as the service refuses it
	}
	tok := identity.NewToken(c.Tenant)
	id := c.SessionID
	if id == "" {
		id = e.IDs.NewID()
	}
	sess := identity.NewSession(c.Tenant, tok, id, u, c.AccountID, e.Clock.Now(), sessionTTL)
	sess.SupportReason = c.SupportReason
	if err := st.Do(ctx, "test session", store.Put(sess).If(store.NotExists())); err != nil {
		tb.Fatalf("session for %s: %v", c.UserID, err)
	}
	return string(tok)
}

// cachedSession is Session, once per caller: for benchmarks, whose
// requests must not pay for preparing their caller.
func (e *Env) cachedSession(tb testing.TB, c access.Caller) string {
	tb.Helper()
	e.quiet.mu.Lock()
	defer e.quiet.mu.Unlock()
	key := strings.Join([]string{c.Tenant.ID(), c.UserID, c.AccountID, c.SessionID, c.SupportReason}, "\x00")
	if tok, ok := e.quiet.tokens[key]; ok {
		return tok
	}
	tok := e.Session(tb, c)
	if e.quiet.tokens == nil {
		e.quiet.tokens = map[string]string{}
	}
	e.quiet.tokens[key] = tok
	return tok
}

// Bearer is the Authorization header value that presents token.
func Bearer(token string) string { return "Bearer " + token }

// WithBearer is req presenting token in its Authorization header (the
// header names API Gateway lower-cases).
func WithBearer(req httpapi.Request, token string) httpapi.Request {
	h := make(map[string]string, len(req.Headers)+1)
	for k, v := range req.Headers {
		if !strings.EqualFold(k, "authorization") {
			h[k] = v
		}
	}
	h["authorization"] = Bearer(token)
	req.Headers = h
	return req
}

// As is req sent by c over a real session of c's (Env.Session, on the env
// whose NewTenant made c's tenant): what a handler test sends instead of
// naming its caller.
func As(tb testing.TB, req httpapi.Request, c access.Caller) httpapi.Request {
	tb.Helper()
	e, ok := tenantEnvs.Load(c.Tenant.ID())
	if !ok {
		tb.Fatalf("tenant %q was not made by Env.NewTenant: use Env.Session", c.Tenant.ID())
	}
	return WithBearer(req, e.(*Env).Session(tb, c))
}

// tenantEnvs is the Env of each tenant NewTenant made (tenants are never
// shared between tests), for As.
var tenantEnvs sync.Map

// AddOperator creates an active tenant operator (support staff) of t, a
// member of no account, signing in with Password.
func (e *Env) AddOperator(tb testing.TB, t Tenant) User {
	tb.Helper()
	hash, err := identity.HashPassword(Password)
	if err != nil {
		tb.Fatal(err)
	}
	now := e.Clock.Now()
	email := "support-" + e.IDs.NewID() + "@ops.example"
	u := identity.NewUser(t.Tenant, identity.User{ID: e.IDs.NewID(), Email: email, FirstName: "Sam", LastName: "Support",
		PasswordHash: hash, Status: identity.UserActive, Operator: true, CreatedAt: now, UpdatedAt: now})
	if err := e.Store.Transact(context.Background(), "add test operator", store.Put(u).If(store.NotExists()),
		store.Put(identity.NewEmailClaim(t.Tenant, email, u.ID)).If(store.NotExists())); err != nil {
		tb.Fatalf("add operator: %v", err)
	}
	return User{ID: u.ID, Email: email, Password: Password}
}

// MakeOperator makes an existing user of t a tenant operator as well
// (support staff who keep their memberships and roles).
func (e *Env) MakeOperator(tb testing.TB, t Tenant, userID string) {
	tb.Helper()
	if err := e.Store.Do(context.Background(), "make test operator", store.Update(t.User(userID),
		expression.Set(expression.Name("operator"), expression.Value(true))).If(store.Exists())); err != nil {
		tb.Fatalf("make %s an operator: %v", userID, err)
	}
}
