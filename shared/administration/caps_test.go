package administration_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// setLimits writes the limits of the tenant's settings item, as PATCH
// /tenant/settings does.
func (w *world) setLimits(t testing.TB, l tenancy.Limits) {
	t.Helper()
	err := w.env.Store.Do(context.Background(), "set tenant limits",
		store.Update(w.ten.Settings(), expression.Set(expression.Name("limits"), expression.Value(l))).If(store.Exists()))
	if err != nil {
		t.Fatal(err)
	}
}

// wantTenantCap fails unless err is 429 tenant_hourly_cap of setting, with
// a Retry-After and a detail that says an operator can raise it.
func wantTenantCap(t testing.TB, what string, err error, setting string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindRateLimited || e.Code != "tenant_hourly_cap" || e.Extra["cap"] != setting {
		t.Fatalf("%s: want 429 tenant_hourly_cap of %s, got %v", what, setting, err)
	}
	if s, ok := e.Extra["retryAfterSeconds"].(int64); !ok || s <= 0 || s > 3600 {
		t.Fatalf("%s: retryAfterSeconds = %v", what, e.Extra["retryAfterSeconds"])
	}
}

// createAccount is POST /accounts by c, whose first Admin is adminUserID
// (default: c).
func (w *world) createAccount(c access.Caller, name string, adminUserID ...string) error {
	req := administration.CreateAccountRequest{Name: name}
	if len(adminUserID) > 0 {
		req.AdminUserID = adminUserID[0]
	}
	cmd, err := req.Command(c)
	if err != nil {
		return err
	}
	_, err = w.adm.CreateAccount(context.Background(), cmd)
	return err
}

// accountsNamed counts the tenant's accounts whose (lower-case) name starts
// with name (the directory by name).
func (w *world) accountsNamed(t testing.TB, name string) int {
	t.Helper()
	ix := w.ten.AccountsByName(name, "")
	items, err := w.env.Store.QueryAll(context.Background(), store.Query{Index: table.GSI2, Partition: ix.PK, SKPrefix: table.AccountsNamePrefix + name}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}

// Accounts created per hour are capped for the whole tenant, operators
// included: the cap+1-th is 429 and writes nothing; the next hour works.
func TestAccountsPerHourAreCapped(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// AdminsPerHour is high: only the accounts cap is under test here.
	w.setLimits(t, tenancy.Limits{AccountsPerHour: 2, AdminsPerHour: 100})
	op := w.operator(t)
	for i := range 2 {
		if err := w.createAccount(op, fmt.Sprintf("capped %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	err := w.createAccount(op, "capped over")
	wantTenantCap(t, "the 3rd account of the hour", err, "accountsPerHour")
	if n := w.accountsNamed(t, "capped over"); n != 0 {
		t.Fatalf("a refused account was written (%d)", n)
	}
	w.env.Clock.Advance(time.Hour)
	if err := w.createAccount(op, "capped later"); err != nil {
		t.Fatalf("next hour: %v", err)
	}
}

// Racing creations never pass the cap: of 10 at once under a cap of 4,
// exactly 4 succeed and the others are 429.
func TestConcurrentAccountCreationKeepsTheCap(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.setLimits(t, tenancy.Limits{AccountsPerHour: 4, AdminsPerHour: 100})
	op := w.operator(t)
	// Each account has its own first Admin: one user's accounts are created
	// one at a time (the transaction holds the user at the version read).
	firsts := make([]string, 10)
	for i := range firsts {
		u, _ := w.member(t, w.ten.AccountID, fmt.Sprintf("first%d@caps.example", i), access.RoleViewer)
		firsts[i] = u.ID
	}
	errs := make([]error, len(firsts))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); <-start; errs[i] = w.createAccount(op, fmt.Sprintf("racer %d", i), firsts[i]) }()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case apperr.KindOf(err) != apperr.KindRateLimited:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if n := w.accountsNamed(t, "racer "); won != 4 || n != 4 {
		t.Fatalf("%d creations succeeded, %d accounts written; want 4 and 4", won, n)
	}
}

// Admins made per hour are capped: an account's first Admin, and a grant of
// Admin to a member who did not hold it, count; a grant to an Admin or of
// another role does not. Concurrent grants never pass the cap.
func TestAdminsPerHourAreCapped(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.setLimits(t, tenancy.Limits{AccountsPerHour: 100, AdminsPerHour: 5})
	op := w.operator(t)
	// The first Admin of a new account is one.
	if err := w.createAccount(op, "first admin"); err != nil {
		t.Fatal(err)
	}
	setRoles := func(userID string, roles ...string) error {
		cmd, err := administration.RolesRequest{Roles: roles}.Command(w.admin(), w.ten.AccountID, userID, 0)
		if err != nil {
			return err
		}
		_, err = w.adm.SetRoles(ctx, cmd)
		return err
	}
	// A Viewer made Admin is another; an Admin whose other roles change is not.
	viewer, _ := w.member(t, w.ten.AccountID, "viewer@caps.example", access.RoleViewer)
	if err := setRoles(viewer.ID, access.RoleAdmin, access.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := setRoles(viewer.ID, access.RoleAdmin); err != nil {
		t.Fatalf("a change of an Admin's roles: %v", err)
	}
	// 3 left this hour: 10 members promoted at once, exactly 3 become Admin.
	var racers []string
	for i := range 10 {
		u, _ := w.member(t, w.ten.AccountID, fmt.Sprintf("racer%d@caps.example", i), access.RoleViewer)
		racers = append(racers, u.ID)
	}
	errs := make([]error, len(racers))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, u := range racers {
		wg.Add(1)
		go func() { defer wg.Done(); <-start; errs[i] = setRoles(u, access.RoleAdmin) }()
	}
	close(start)
	wg.Wait()
	won, admins := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case apperr.KindOf(err) != apperr.KindRateLimited:
			t.Errorf("unexpected error: %v", err)
		}
		if m, _ := w.membership(t, w.ten.AccountID, racers[i]); m.HoldsAdmin() {
			admins++
		}
	}
	if won != 3 || admins != 3 {
		t.Fatalf("%d grants succeeded, %d members are Admin; want 3 and 3", won, admins)
	}
	// The cap+1-th, an account's first Admin included, is 429 and writes nothing.
	wantTenantCap(t, "a 6th Admin", w.createAccount(op, "one admin too many"), "adminsPerHour")
	if n := w.accountsNamed(t, "one admin too many"); n != 0 {
		t.Fatalf("a refused account was written (%d)", n)
	}
}
