package invitations_test

import (
	"context"
	"errors"
	"testing"

	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
)

// Where the account bought seats of the default licence, accepting takes
// one; with none free the accept is refused and the invitation stays
// pending, so it can be accepted once a seat is freed.
func TestAcceptTakesASeat(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	pool := licences.NewPool(w.ten.Tenant, w.ten.AccountID, tenancy.DefaultLicence, 2, 1, w.env.Clock.Now())
	if err := w.env.Store.Do(ctx, "buy seats", store.Put(pool)); err != nil {
		t.Fatal(err)
	}
	used := func() int64 {
		var p licences.Pool
		if _, err := w.env.Store.Get(ctx, w.ten.LicencePool(w.ten.AccountID, tenancy.DefaultLicence), &p); err != nil {
			t.Fatal(err)
		}
		return p.Used
	}

	_, first := w.invite(t, address("seat-one"))
	if _, err := w.accept(ctx, first, newUser("One"), ""); err != nil {
		t.Fatalf("accept with a free seat: %v", err)
	}
	if used() != 2 {
		t.Fatalf("used = %d after accepting, want 2", used())
	}

	id, second := w.invite(t, address("seat-two"))
	_, err := w.accept(ctx, second, newUser("Two"), "")
	if !errors.Is(err, licences.ErrNoFreeSeat) {
		t.Fatalf("accept with no free seat: %v", err)
	}
	if inv := w.invitation(t, id); inv.Status != invitations.StatusPending || used() != 2 {
		t.Fatalf("after refusal: status %s, used %d", inv.Status, used())
	}
}
