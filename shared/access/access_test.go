package access_test

import (
	"context"
	"errors"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

func TestAllowed(t *testing.T) {
	custom := map[string][]access.Action{"Billing": {access.RecordUsage, access.ResetUsage}, "Closer": {access.CloseAccount}}
	cases := []struct {
		roles  []string
		action access.Action
		want   bool
	}{
		{[]string{access.RoleAdmin}, access.InviteUsers, true},
		{[]string{access.RoleAdmin}, access.CloseAccount, false}, // tenant administration: operators only
		{[]string{access.RoleAdmin}, access.ResetUsage, false},   // billing: not in the Admin role
		{[]string{access.RoleAdmin}, access.CreateAccounts, false},
		{[]string{access.RoleViewer}, access.ReadUsers, true},
		{[]string{access.RoleViewer}, access.InviteUsers, false},
		{[]string{access.RoleViewer}, access.EditUsers, false},
		{[]string{"Billing"}, access.ResetUsage, true},
		{[]string{"Billing"}, access.InviteUsers, false},
		{[]string{access.RoleViewer, "Billing"}, access.ResetUsage, true},
		{[]string{"Closer"}, access.CloseAccount, false}, // no role holds an operator action
		{nil, access.ReadAccount, false},
		{[]string{"Unknown"}, access.ReadAccount, false},
	}
	for _, c := range cases {
		if got := access.Allowed(c.roles, custom, c.action); got != c.want {
			t.Errorf("Allowed(%v, %s) = %v, want %v", c.roles, c.action, got, c.want)
		}
	}
}

// The caller reaches a handler only through the context httpapi.Server.Serve
// built (WithCaller): a context without one, or with one that names no
// user or session, is 401, and every field survives the trip.
func TestCallerFromTheContext(t *testing.T) {
	if _, err := access.CallerFrom(context.Background()); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("no caller in the context: %v, want 401", err)
	}
	// A value under a key that merely looks like the caller's is no caller.
	type callerKey struct{}
	c := access.Caller{Tenant: testkit.Tenant{}.Tenant, UserID: "u", SessionID: "s", AccountID: "a"}
	if _, err := access.CallerFrom(context.WithValue(context.Background(), callerKey{}, c)); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("a caller under another key: %v, want 401", err)
	}
	if _, err := access.CallerFrom(access.WithCaller(context.Background(), c)); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("a caller without a tenant: %v, want 401", err)
	}
	c.Tenant = table.MustTenant("acme")
	for name, partial := range map[string]access.Caller{
		"no user":    {Tenant: c.Tenant, SessionID: "s", AccountID: "a"},
		"no session": {Tenant: c.Tenant, UserID: "u", AccountID: "a"},
	} {
		if _, err := access.CallerFrom(access.WithCaller(context.Background(), partial)); apperr.KindOf(err) != apperr.KindUnauthenticated {
			t.Errorf("%s: %v, want 401", name, err)
		}
	}
	c.Roles, c.Operator, c.SupportReason = []string{"Admin", "Billing"}, true, "ticket 4711"
	got, err := access.CallerFrom(access.WithCaller(context.Background(), c))
	if err != nil || got.Tenant.ID() != "acme" || got.UserID != "u" || got.SessionID != "s" || got.AccountID != "a" ||
		len(got.Roles) != 2 || !got.Operator || got.SupportReason != "ticket 4711" {
		t.Fatalf("caller = %+v, %v", got, err)
	}
}

func TestRequire(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	other := env.NewTenant(t)
	second := env.AddAccount(t, ten, "Second")
	viewer := env.AddUser(t, ten, ten.AccountID, "viewer@req.example", "")
	env.AddMembership(t, ten, second, viewer.ID, viewer.Email, access.RoleAdmin)
	ctx := context.Background()
	check := access.Checker{Store: env.Store}

	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	asViewer := access.Caller{Tenant: ten.Tenant, UserID: viewer.ID, AccountID: ten.AccountID, Roles: []string{access.RoleViewer}}
	operator := access.Caller{Tenant: ten.Tenant, UserID: "support", AccountID: ten.AccountID, Operator: true}
	switched := operator
	switched.AccountID, switched.SupportReason = second, "ticket 4711"
	if err := store.New(env.DB, env.Config.Table).Do(ctx, "custom role", store.Put(access.CustomRole{
		PK: ten.Role("Inviter").PK, SK: ten.Role("Inviter").SK, Type: "ROLE", Name: "Inviter",
		Permissions: []access.Action{access.InviteUsers}, Version: 1})); err != nil {
		t.Fatal(err)
	}
	inviter := access.Caller{Tenant: ten.Tenant, UserID: "x", AccountID: ten.AccountID, Roles: []string{"Inviter"}}

	cases := []struct {
		name    string
		caller  access.Caller
		action  access.Action
		account string
		want    apperr.Kind // -1 = allowed
	}{
		{"admin invites in own account", admin, access.InviteUsers, ten.AccountID, -1},
		{"viewer reads", asViewer, access.ReadUsers, ten.AccountID, -1},
		{"viewer cannot invite", asViewer, access.InviteUsers, ten.AccountID, apperr.KindForbidden},
		{"viewer is admin of the second account", asViewer, access.InviteUsers, second, -1},
		{"admin of one account, not a member of the second", admin, access.InviteUsers, second, apperr.KindForbidden},
		{"another tenant's account is not found", admin, access.ReadAccount, other.AccountID, apperr.KindNotFound},
		{"unknown account", admin, access.ReadAccount, "nope", apperr.KindNotFound},
		{"operator does tenant administration anywhere", operator, access.CloseAccount, second, -1},
		{"operator reads an account's audit without a switch", operator, access.ReadAudit, second, -1},
		{"operator needs a switch for account work", operator, access.DeleteUsers, second, apperr.KindForbidden},
		{"operator needs a switch to read users", operator, access.ReadUsers, second, apperr.KindForbidden},
		{"operator switched in does account work", switched, access.DeleteUsers, second, -1},
		{"operator switched elsewhere needs another switch", switched, access.InviteUsers, ten.AccountID, apperr.KindForbidden},
		{"admin cannot close", admin, access.CloseAccount, ten.AccountID, apperr.KindForbidden},
		{"admin cannot reset usage", admin, access.ResetUsage, ten.AccountID, apperr.KindForbidden},
		{"operator still cannot leave the tenant", operator, access.ReadAccount, other.AccountID, apperr.KindNotFound},
		{"custom role grants its permission", inviter, access.InviteUsers, ten.AccountID, -1},
		{"custom role grants nothing else", inviter, access.EditUsers, ten.AccountID, apperr.KindForbidden},
		{"every member reads", inviter, access.ReadUsers, ten.AccountID, -1},
	}
	for _, c := range cases {
		err := check.Require(ctx, c.caller, c.action, c.account)
		if c.want == -1 {
			if err != nil {
				t.Errorf("%s: refused: %v", c.name, err)
			}
		} else if err == nil || apperr.KindOf(err) != c.want {
			t.Errorf("%s: got %v, want kind %v", c.name, err, c.want)
		}
	}
}

func TestEntersAsSupport(t *testing.T) {
	cases := []struct {
		name           string
		operator       bool
		home, account  string
		licensedMember bool
		want           bool
	}{
		{"operator into a customer account", true, "home", "customer", false, true},
		{"operator back home", true, "home", "home", false, false},
		{"operator into an account they belong to", true, "home", "own", true, false},
		{"member into their account", false, "home", "other", true, false},
		{"non-member user", false, "home", "other", false, false},
	}
	for _, c := range cases {
		if got := access.EntersAsSupport(c.operator, c.home, c.account, c.licensedMember); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSwitchRequiredSaysSo(t *testing.T) {
	a := access.AuthorityOf("customer", false, nil, nil, true, false)
	err := a.Refusal(access.InviteUsers, "home")
	if !errors.Is(err, access.ErrSwitchRequired) {
		t.Fatalf("operator outside a switch: %v, want switch_required", err)
	}
	if err := a.Refusal(access.ResetUsage, "home"); err != nil {
		t.Fatalf("operator resetting usage: %v", err)
	}
	member := access.AuthorityOf("customer", true, []string{access.RoleAdmin}, nil, false, false)
	if err := member.Refusal(access.CloseAccount, "customer"); !errors.Is(err, access.ErrOperatorsOnly) {
		t.Fatalf("admin closing: %v, want operators_only", err)
	}
}

// The grant ceiling as a pure decision: a role is grantable only when all
// its permissions are the grantor's in that account, Admin only by Admin.
func TestCheckGrant(t *testing.T) {
	custom := map[string][]access.Action{
		"Inviter": {access.InviteUsers},
		"Editor":  {access.ReadUsers, access.EditUsers},
		"Billing": {access.ResetUsage},
		"Manager": {access.ManageRoles, access.EditUsers},
		"Readers": {access.ReadUsers, access.ReadAudit},
	}
	member := func(roles ...string) access.Authority {
		return access.AuthorityOf("a1", true, roles, custom, false, false)
	}
	cases := []struct {
		name    string
		grantor access.Authority
		roles   []string
		ok      bool
	}{
		{"an inviter grants Viewer (every member reads)", member("Inviter"), []string{access.RoleViewer}, true},
		{"an inviter grants their own custom role", member("Inviter"), []string{"Inviter"}, true},
		{"an inviter cannot grant Admin", member("Inviter"), []string{access.RoleAdmin}, false},
		{"an inviter cannot grant a role they lack", member("Inviter"), []string{"Editor"}, false},
		{"a manager grants a subset of their rights", member("Manager"), []string{"Editor"}, true},
		{"a manager cannot grant Admin", member("Manager"), []string{access.RoleAdmin, access.RoleViewer}, false},
		{"an Admin grants Admin", member(access.RoleAdmin), []string{access.RoleAdmin}, true},
		{"an Admin cannot grant billing", member(access.RoleAdmin), []string{"Billing"}, false},
		{"a reader role is grantable by anyone who invites", member("Inviter"), []string{"Readers"}, true},
		{"support switched in grants Admin and billing", access.AuthorityOf("a1", false, nil, custom, true, true), []string{access.RoleAdmin, "Billing"}, true},
		{"an operator not switched cannot grant Admin inside", access.AuthorityOf("a1", false, nil, custom, true, false), []string{access.RoleAdmin}, false},
	}
	for _, c := range cases {
		err := c.grantor.CheckGrant(c.roles, custom)
		if c.ok != (err == nil) {
			t.Errorf("%s: %v", c.name, err)
		}
		if err != nil && !errors.Is(err, access.ErrGrantExceeds) {
			t.Errorf("%s: %v, want grant_exceeds_rights", c.name, err)
		}
	}
}
