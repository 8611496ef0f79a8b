package administration_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
)

// One operator creating 20 accounts at once for the same first Admin: every
// creation succeeds (no 409 from the creations bumping the Admin's user),
// each account has its Admin's membership with the Admin's name copied.
func TestConcurrentAccountCreationsByOneOperatorAllSucceed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	founder, _ := w.member(t, w.ten.AccountID, "founder@example.org", access.RoleAdmin)
	const n = 20
	var wg sync.WaitGroup
	ids, errs := make([]string, n), make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := w.adm.CreateAccount(ctx, administration.CreateAccount{Caller: op, Name: fmt.Sprintf("Branch %02d", i), AdminUserID: founder.ID})
			ids[i], errs[i] = a.ID, err
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, err := range errs {
		wantKind(t, fmt.Sprintf("creation %d", i), err, ok)
		seen[ids[i]] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct accounts, want %d", len(seen), n)
	}
	u := w.user(t, founder.ID)
	for id := range seen {
		w.account(t, id)
		m, found := w.membership(t, id, founder.ID)
		if !found || m.FirstName != u.FirstName || m.LastName != u.LastName || m.Email != u.Email {
			t.Fatalf("account %s: membership %+v (found %v), user %s %s <%s>", id, m, found, u.FirstName, u.LastName, u.Email)
		}
		if got := w.changes(t, id, "account.created"); len(got) != 1 {
			t.Fatalf("account %s: change log %+v", id, got)
		}
	}
}

// The guarantee accounts.MemberOf exists for holds for account creation
// too: a creation racing a name edit of its first Admin never leaves the
// old name on the new membership, and the creation (whose caller sent no
// ETag) never answers changed_meanwhile.
func TestAccountCreationRacingANameEditNeverKeepsAStaleName(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	founder, _ := w.member(t, w.ten.AccountID, "renamed@example.org", access.RoleAdmin)
	outcomes := map[string]int{}
	for trial := range 20 {
		name := fmt.Sprintf("Renamed%d", trial)
		edit, err := administration.ProfileRequest{FirstName: &name}.Command(w.admin(), founder.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var editErr, createErr error
		var id string
		wg.Add(2)
		go func() { defer wg.Done(); _, editErr = w.adm.EditProfile(ctx, edit) }()
		go func() {
			defer wg.Done()
			a, err := w.adm.CreateAccount(ctx, administration.CreateAccount{Caller: op, Name: fmt.Sprintf("Trial %d", trial), AdminUserID: founder.ID})
			id, createErr = a.ID, err
		}()
		wg.Wait()
		wantKind(t, fmt.Sprintf("trial %d: creation", trial), createErr, ok)
		if k := apperr.KindOf(editErr); editErr != nil && k != apperr.KindConflict && k != apperr.KindPreconditionFailed {
			t.Fatalf("trial %d: edit: %v", trial, editErr)
		}
		outcomes[fmt.Sprintf("edit ok %v", editErr == nil)]++
		u := w.user(t, founder.ID)
		for _, acc := range []string{w.ten.AccountID, id} {
			if m, found := w.membership(t, acc, u.ID); !found || m.FirstName != u.FirstName {
				t.Fatalf("trial %d: the membership in %s says %q, the user %q (edit %v)", trial, acc, m.FirstName, u.FirstName, editErr)
			}
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
