package associates_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
)

// setLimits writes the limits of the tenant's settings item, as PATCH
// /tenant/settings does.
func (w *world) setLimits(t *testing.T, l tenancy.Limits) {
	t.Helper()
	err := w.env.Store.Do(context.Background(), "set tenant limits",
		store.Update(w.ten.Settings(), expression.Set(expression.Name("limits"), expression.Value(l))).If(store.Exists()))
	if err != nil {
		t.Fatal(err)
	}
}

// Associating a user as Admin counts, per account, against the tenant's
// Admins-per-hour cap (operators included); other roles do not. Racing
// associations never pass it, and a refused one writes nothing.
func TestAssociatingAdminsIsCapped(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.setLimits(t, tenancy.Limits{AdminsPerHour: 4})
	// As Admin in two accounts at once: two of the four.
	if _, err := w.associate(t, w.operator, w.advisor.ID,
		associates.AccountRoles{AccountID: w.client1, Roles: []string{access.RoleAdmin}},
		associates.AccountRoles{AccountID: w.client2, Roles: []string{access.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	// As Viewer: not counted.
	viewer := w.env.AddUser(t, w.ten, w.ten.AccountID, "viewer@"+w.ten.ID()+".example", "")
	if _, err := w.associate(t, w.operator, viewer.ID, associates.AccountRoles{AccountID: w.client1, Roles: []string{access.RoleViewer}}); err != nil {
		t.Fatal(err)
	}
	// 10 users associated as Admin at once: exactly the 2 left succeed.
	users := make([]string, 10)
	for i := range users {
		users[i] = w.env.AddUser(t, w.ten, w.ten.AccountID, fmt.Sprintf("racer%d@%s.example", i, w.ten.ID()), "").ID
	}
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = w.associate(t, w.operator, u, associates.AccountRoles{AccountID: w.client2, Roles: []string{access.RoleAdmin}})
		}()
	}
	close(start)
	wg.Wait()
	won, members := 0, 0
	for i, err := range errs {
		if err == nil {
			won++
		} else if e, ok := apperr.As(err); !ok || e.Code != "tenant_hourly_cap" || e.Extra["cap"] != "adminsPerHour" || e.Extra["retryAfterSeconds"] == nil {
			t.Errorf("want 429 tenant_hourly_cap, got %v", err)
		}
		if _, found := w.membership(t, w.client2, users[i]); found {
			members++
		}
	}
	if won != 2 || members != 2 {
		t.Fatalf("%d associations succeeded, %d memberships written; want 2 and 2", won, members)
	}
}
