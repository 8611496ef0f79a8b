package administration_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
)

// One operator creating 20 accounts at once for the same first Admin: every
// creation succeeds (no 409 from the creations bumping the Admin's user),
// each account has its Admin's membership with the Admin's name copied.
func TestConcurrentAccountCreationsByOneOperatorAllSucceed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	founder, _ := w.member(t, w.ten.AccountID, "founder@example.org", access.RoleAdmin)
	etag := w.user(t, founder.ID).Version
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
	if u.Version != etag {
		t.Fatalf("the founder's profile version went from %d to %d: memberships created for them must not change their ETag", etag, u.Version)
	}
	first := "Renamed"
	edit, err := administration.ProfileRequest{FirstName: &first}.Command(w.admin(), founder.ID, etag)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.adm.EditProfile(ctx, edit); err != nil {
		t.Fatalf("a profile edit with the ETag read before the creations: %v", err)
	}
	u = w.user(t, founder.ID)
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

// A creation racing a name edit of its first Admin never leaves the old
// name on the new membership, and neither answers a conflict: the creation
// (whose caller sent no ETag) copies again, and the edit, sent with the
// ETag read before, copies to the new membership too (a membership created
// for a user does not change their profile's version).
func TestAccountCreationRacingANameEditNeverKeepsAStaleName(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	founder, _ := w.member(t, w.ten.AccountID, "renamed@example.org", access.RoleAdmin)
	for trial := range 20 {
		name := fmt.Sprintf("Renamed%d", trial)
		edit, err := administration.ProfileRequest{FirstName: &name}.Command(w.admin(), founder.ID, w.user(t, founder.ID).Version)
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
		wantKind(t, fmt.Sprintf("trial %d: edit", trial), editErr, ok)
		u := w.user(t, founder.ID)
		for _, acc := range []string{w.ten.AccountID, id} {
			if m, found := w.membership(t, acc, u.ID); !found || m.FirstName != u.FirstName {
				t.Fatalf("trial %d: the membership in %s says %q, the user %q (edit %v)", trial, acc, m.FirstName, u.FirstName, editErr)
			}
		}
	}
}
