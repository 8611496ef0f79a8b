package associates_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/identity"
)

// A new membership copies its user's name; a profile edit racing with the
// associate never leaves the old name on it: one of the two fails on the
// user's version (409 or 412), and every membership holds the user's name after.
func TestAssociateRacingANameEditNeverKeepsAStaleName(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	adm := administration.New(w.env.Service())
	outcomes := map[string]int{}
	for trial := range 20 {
		client := w.env.AddAccount(t, w.ten, fmt.Sprintf("Client %d", trial))
		w.env.AddMembership(t, w.ten, client, w.ten.AdminID, w.ten.AdminEmail, access.RoleAdmin)
		name := fmt.Sprintf("Renamed%d", trial)
		edit, err := administration.ProfileRequest{FirstName: &name}.Command(w.admin, w.advisor.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var editErr, assocErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, editErr = adm.EditProfile(context.Background(), edit) }()
		go func() {
			defer wg.Done()
			_, assocErr = w.associate(t, w.operator, w.advisor.ID, associates.AccountRoles{AccountID: client, Roles: []string{access.RoleViewer}})
		}()
		wg.Wait()
		for _, err := range []error{editErr, assocErr} {
			if k := apperr.KindOf(err); err != nil && k != apperr.KindConflict && k != apperr.KindPreconditionFailed {
				t.Fatalf("trial %d: %v", trial, err)
			}
		}
		outcomes[fmt.Sprintf("edit ok %v, associate ok %v", editErr == nil, assocErr == nil)]++

		u, err := identity.LoadUser(context.Background(), w.env.Store, w.ten.Tenant, w.advisor.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, acc := range []string{w.ten.AccountID, client} {
			if m, ok := w.membership(t, acc, u.ID); ok && m.FirstName != u.FirstName {
				t.Fatalf("trial %d: the membership in %s says %q, the user %q (edit %v, associate %v)", trial, acc, m.FirstName, u.FirstName, editErr, assocErr)
			}
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
