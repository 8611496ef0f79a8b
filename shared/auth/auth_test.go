package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

func service(env *testkit.Env) *auth.Service {
	return &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
}

func signIn(t *testing.T, svc *auth.Service, ten testkit.Tenant, email, password string) (auth.Signed, error) {
	t.Helper()
	return svc.SignIn(context.Background(), auth.SignIn{Tenant: ten.Tenant, Email: email, Password: password, IP: "203.0.113.9", UserAgent: "test"})
}

func TestSignInAuthorizeSignOut(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	ctx := context.Background()

	signed, err := signIn(t, svc, ten, ten.AdminEmail, ten.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if signed.AccountID != ten.AccountID || signed.UserID != ten.AdminID || !signed.ExpiresAt.Equal(testkit.Start.Add(12*time.Hour)) {
		t.Fatalf("signed = %+v", signed)
	}
	if len(strings.SplitN(signed.Token, ".", 2)[1]) < 43 {
		t.Fatalf("token too short for 256 bits: %q", signed.Token)
	}
	caller, err := svc.Authorize(ctx, signed.Token)
	if err != nil {
		t.Fatal(err)
	}
	if caller.UserID != ten.AdminID || caller.AccountID != ten.AccountID || caller.Tenant != ten.Tenant || len(caller.Roles) != 1 || caller.Roles[0] != access.RoleAdmin {
		t.Fatalf("caller = %+v", caller)
	}
	// The raw token is stored nowhere: only its SHA-256 keys the session.
	out, err := env.DB.Scan(ctx, &dynamodb.ScanInput{TableName: env.TableName()})
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.SplitN(signed.Token, ".", 2)[1]
	for _, item := range out.Items {
		for _, v := range item {
			if strings.Contains(testkit.AttrString(v), secret) {
				t.Fatalf("raw token stored in %v", item["PK"])
			}
		}
	}
	// A sign-in is recorded in the access history.
	if n := env.Items(t, ten.User(ten.AdminID).PK); n != 2 { // the user and one ACCESS# entry
		t.Fatalf("user partition holds %d items, want user + 1 access entry", n)
	}

	if err := svc.SignOut(ctx, caller, signed.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authorize(ctx, signed.Token); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("signed-out session still authorized: %v", err)
	}
	if err := svc.SignOut(ctx, caller, signed.Token+"x"); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("sign-out of a foreign token: %v", err)
	}
}

func TestSignInFailuresLookTheSame(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	_, wrong := signIn(t, svc, ten, ten.AdminEmail, "Not-The-Password-1")
	_, unknown := signIn(t, svc, ten, "nobody@nowhere.example", "Not-The-Password-1")
	ew, _ := apperr.As(wrong)
	eu, _ := apperr.As(unknown)
	if ew == nil || eu == nil || ew.Code != "invalid_credentials" || ew.Code != eu.Code || ew.Detail != eu.Detail || ew.Kind != eu.Kind {
		t.Fatalf("wrong password %v vs unknown email %v", wrong, unknown)
	}
	// Another tenant's admin cannot sign in here with their own password.
	other := env.NewTenant(t)
	if _, err := signIn(t, svc, ten, other.AdminEmail, other.AdminPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("cross-tenant sign-in: %v", err)
	}
}

func TestRepeatedFailuresAreThrottledPerEmail(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	for _, email := range []string{ten.AdminEmail, "ghost@nowhere.example"} {
		for i := range tenancy.DefaultLimits.PerClientFailures {
			if _, err := signIn(t, svc, ten, email, "Wrong-Password-1"); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("%s attempt %d: %v", email, i, err)
			}
		}
		_, err := signIn(t, svc, ten, email, ten.AdminPassword)
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindRateLimited || e.Extra["retryAfterSeconds"] == nil {
			t.Fatalf("%s: after %d failures want 429, got %v", email, tenancy.DefaultLimits.PerClientFailures, err)
		}
	}
	env.Clock.Advance(time.Duration(tenancy.DefaultLimits.PerClientLockSecs+1) * time.Second)
	if _, err := signIn(t, svc, ten, ten.AdminEmail, ten.AdminPassword); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	// Success cleared the counter: one new failure does not lock again.
	if _, err := signIn(t, svc, ten, ten.AdminEmail, "Wrong-Password-1"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatal(err)
	}
	if _, err := signIn(t, svc, ten, ten.AdminEmail, ten.AdminPassword); err != nil {
		t.Fatalf("counter not reset by success: %v", err)
	}
}

func TestSessionsEndWhenTheyShould(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	ctx := context.Background()
	u := env.AddUser(t, ten, ten.AccountID, "member@end.example", "")

	cases := []struct {
		name   string
		change func()
	}{
		{"expiry", func() { env.Clock.Advance(12 * time.Hour) }},
		{"suspension", func() { setUser(t, env, ten, u.ID, "status", identity.UserSuspended) }},
		{"revoke everywhere", func() { setUser(t, env, ten, u.ID, "sessionEpoch", 1) }},
		{"licence removed", func() {
			if err := env.Store.Do(ctx, "remove licence", store.Update(ten.Membership(ten.AccountID, u.ID),
				expression.Remove(expression.Name("licence")))); err != nil {
				t.Fatal(err)
			}
		}},
		{"membership removed", func() {
			if err := env.Store.Do(ctx, "remove member", store.Delete(ten.Membership(ten.AccountID, u.ID))); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		// Restore a usable user for each case.
		setUser(t, env, ten, u.ID, "status", identity.UserActive)
		setUser(t, env, ten, u.ID, "sessionEpoch", 0)
		env.AddMembership(t, ten, ten.AccountID, u.ID, u.Email, access.RoleViewer)
		env.Clock.Set(testkit.Start)
		signed, err := signIn(t, svc, ten, u.Email, u.Password)
		if err != nil {
			t.Fatalf("%s: sign in: %v", c.name, err)
		}
		if _, err := svc.Authorize(ctx, signed.Token); err != nil {
			t.Fatalf("%s: fresh session refused: %v", c.name, err)
		}
		c.change()
		if _, err := svc.Authorize(ctx, signed.Token); apperr.KindOf(err) != apperr.KindUnauthenticated {
			t.Fatalf("%s: session still works: %v", c.name, err)
		}
	}
	// A suspended user is told so when signing in with the right password.
	setUser(t, env, ten, u.ID, "status", identity.UserSuspended)
	if _, err := signIn(t, svc, ten, u.Email, u.Password); apperr.KindOf(err) != apperr.KindForbidden {
		t.Fatalf("suspended sign-in: %v", err)
	}
	// A member without a licence cannot sign in.
	nolic := env.AddUser(t, ten, ten.AccountID, "nolicence@end.example", "-")
	if _, err := signIn(t, svc, ten, nolic.Email, nolic.Password); !errors.Is(err, auth.ErrNoAccess) {
		t.Fatalf("unlicensed sign-in: %v", err)
	}
}

func TestMeListsMemberships(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	second := env.AddAccount(t, ten, "Second")
	env.AddMembership(t, ten, second, ten.AdminID, ten.AdminEmail, access.RoleViewer)
	signed, err := signIn(t, svc, ten, ten.AdminEmail, ten.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	caller, err := svc.Authorize(context.Background(), signed.Token)
	if err != nil {
		t.Fatal(err)
	}
	me, err := svc.Me(context.Background(), caller)
	if err != nil {
		t.Fatal(err)
	}
	if me.User.Email != ten.AdminEmail || len(me.Memberships) != 2 || me.ActiveAccount != ten.AccountID {
		t.Fatalf("me = %+v", me)
	}
}

func setUser(t *testing.T, env *testkit.Env, ten testkit.Tenant, userID, attr string, value any) {
	t.Helper()
	if err := env.Store.Do(context.Background(), "set "+attr, store.Update(ten.User(userID),
		expression.Set(expression.Name(attr), expression.Value(value)))); err != nil {
		t.Fatal(err)
	}
}

// Support staff sign in at home (or where they hold a licence) and enter a
// customer account only by switching into it with a reason; Authorize
// hands an operator's session reason to the handlers, and nobody else's.
func TestSupportSessions(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	ctx := context.Background()
	hash, err := identity.HashPassword(testkit.Password)
	if err != nil {
		t.Fatal(err)
	}
	email := "support@" + ten.ID() + ".example"
	op := identity.NewUser(ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: email, Status: identity.UserActive, PasswordHash: hash,
		Operator: true, HomeAccountID: ten.AccountID, CreatedAt: env.Clock.Now()})
	if err := env.Store.Transact(ctx, "operator", store.Put(op), store.Put(identity.NewEmailClaim(ten.Tenant, email, op.ID))); err != nil {
		t.Fatal(err)
	}
	customer, licensed := env.AddAccount(t, ten, "Customer"), env.AddAccount(t, ten, "Operator's own")
	env.AddMembership(t, ten, licensed, op.ID, email, access.RoleViewer)
	signInTo := func(accountID string) (auth.Signed, error) {
		return svc.SignIn(ctx, auth.SignIn{Tenant: ten.Tenant, Email: email, Password: testkit.Password, AccountID: accountID})
	}
	if _, err := signInTo(customer); !errors.Is(err, auth.ErrSwitchAsSupport) {
		t.Fatalf("operator straight into a customer account: %v", err)
	}
	if _, err := signInTo(licensed); err != nil {
		t.Fatalf("operator into an account they hold a licence in: %v", err)
	}
	signed, err := signInTo("")
	if err != nil {
		t.Fatalf("operator at home: %v", err)
	}
	setReason := func(token string) {
		t.Helper()
		tn, tok, _ := identity.ParseToken(token)
		if err := env.Store.Do(ctx, "set reason", store.Update(tn.Session(tok.Hash()),
			expression.Set(expression.Name("supportReason"), expression.Value("ticket 4711")))); err != nil {
			t.Fatal(err)
		}
	}
	setReason(signed.Token)
	if c, err := svc.Authorize(ctx, signed.Token); err != nil || c.SupportReason != "ticket 4711" || !c.Operator {
		t.Fatalf("operator's support session: %+v %v", c, err)
	}
	// A reason on a non-operator's session item is never passed on.
	admin, err := signIn(t, svc, ten, ten.AdminEmail, ten.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	setReason(admin.Token)
	if c, err := svc.Authorize(ctx, admin.Token); err != nil || c.SupportReason != "" {
		t.Fatalf("non-operator with a reason on the session: %+v %v", c, err)
	}
}
