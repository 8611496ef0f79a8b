package invitations_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
)

func (w *world) buySeats(t testing.TB, licence string, purchased, used int64) {
	t.Helper()
	pool := licences.NewPool(w.ten.Tenant, w.ten.AccountID, licence, purchased, used, w.env.Clock.Now())
	if err := w.env.Store.Do(context.Background(), "buy seats", store.Put(pool)); err != nil {
		t.Fatal(err)
	}
}

func (w *world) pool(t testing.TB, licence string) licences.Pool {
	t.Helper()
	var p licences.Pool
	if ok, err := w.env.Store.Get(context.Background(), w.ten.LicencePool(w.ten.AccountID, licence), &p); err != nil || !ok {
		t.Fatalf("pool %s: %v %v", licence, ok, err)
	}
	return p
}

func (w *world) inviteLicence(ctx context.Context, addr, licence string) (invitations.InviteResult, error) {
	no := false
	r := invitations.InviteRequest{Emails: []string{addr}, SendEmail: &no}
	if licence != "" {
		r.Licence = &licence
	}
	cmd, err := r.Command(w.admin, w.ten.AccountID)
	if err != nil {
		return invitations.InviteResult{}, err
	}
	return w.svc.Invite(ctx, cmd)
}

func wantPool(t testing.TB, what string, p licences.Pool, used, reserved int64) {
	t.Helper()
	if p.Used != used || p.Reserved != reserved || p.Held != used+reserved {
		t.Fatalf("%s: pool used %d reserved %d held %d, want used %d reserved %d", what, p.Used, p.Reserved, p.Held, used, reserved)
	}
}

// A pending invitation holds a seat: thirty invitations racing for the
// last two free seats make exactly two; the others are 409 no_free_seat
// with the pool's figures and the tenant's purchase link. Revoking frees a
// seat, accepting converts one into a used seat, expiry frees one.
func TestPendingInvitationsReserveSeats(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	ctx := context.Background()
	const url = "https://billing.example/buy-seats"
	if err := w.env.Store.Do(ctx, "purchase url", store.Update(w.ten.Settings(),
		expression.Set(expression.Name("purchaseUrl"), expression.Value(url)))); err != nil {
		t.Fatal(err)
	}
	w.buySeats(t, "office", 3, 1) // two free

	const racers = 30
	ids := make([]string, racers)
	tokens := make([]string, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := w.inviteLicence(ctx, address("racer"), "office")
			errs[i] = err
			if err == nil && res.Created() == 1 {
				ids[i], tokens[i] = res.Results[0].InvitationID, tokenOf(t, res.Results[0].AcceptURL)
			}
		}()
	}
	close(start)
	wg.Wait()
	var made []int
	for i, err := range errs {
		switch {
		case err == nil && ids[i] != "":
			made = append(made, i)
		case !errors.Is(err, licences.ErrNoFreeSeat):
			t.Errorf("racer %d: %v", i, err)
		}
	}
	if len(made) != 2 {
		t.Fatalf("%d invitations made for 2 free seats", len(made))
	}
	wantPool(t, "after the race", w.pool(t, "office"), 1, 2)
	for _, i := range made {
		if inv := w.invitation(t, ids[i]); inv.Licence != "office" || len(inv.Reserved) != 1 {
			t.Fatalf("invitation %+v", inv)
		}
	}

	// Full: the 409 has the figures and the link.
	_, err := w.inviteLicence(ctx, address("one-more"), "office")
	e, ok := apperr.As(err)
	if !ok || e.Code != "no_free_seat" || e.Extra["purchased"] != int64(3) || e.Extra["used"] != int64(1) ||
		e.Extra["reserved"] != int64(2) || e.Extra["purchaseUrl"] != url {
		t.Fatalf("invite beyond the seats: %v %+v", err, e)
	}

	// Revoke frees one; it can be given to someone else.
	if err := w.svc.Revoke(ctx, invitations.RevokeCommand{Caller: w.admin, InvitationID: ids[made[0]]}); err != nil {
		t.Fatal(err)
	}
	wantPool(t, "after revoke", w.pool(t, "office"), 1, 1)
	res, err := w.inviteLicence(ctx, address("after-revoke"), "office")
	if err != nil || res.Created() != 1 {
		t.Fatalf("invite after revoke: %v %+v", err, res)
	}
	wantPool(t, "re-invited", w.pool(t, "office"), 1, 2)

	// Accept converts a reservation into a used seat, with the licence.
	acc, err := w.accept(ctx, tokens[made[1]], newUser("Seated"), "")
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	wantPool(t, "after accept", w.pool(t, "office"), 2, 1)
	var m accounts.Membership
	if _, err := w.env.Store.Get(ctx, w.ten.Membership(w.ten.AccountID, acc.Signed.UserID), &m); err != nil || m.Licence != "office" {
		t.Fatalf("membership %+v %v", m, err)
	}

	// Expiry frees the last reservation.
	w.env.Clock.Advance(8 * 24 * time.Hour)
	if _, err := w.svc.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	wantPool(t, "after expiry", w.pool(t, "office"), 2, 0)
}

// The licence offered is one of the tenant's types, not retired: else 422
// and nothing is written. Without one, the tenant's default (unmetered
// "standard") is offered and nothing is reserved.
func TestInvitationLicenceIsFromTheCatalogue(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	for _, typ := range []string{"offce", "Not A Type"} {
		_, err := w.inviteLicence(ctx, address("typo"), typ)
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindUnprocessable || len(e.Fields) != 1 || e.Fields[0].Field != "licence" {
			t.Fatalf("licence %q: %v", typ, err)
		}
	}
	if n := w.count(t, w.ten.AccountPartition(w.ten.AccountID), "INVITE"); n != 0 {
		t.Fatalf("%d invitation items written", n)
	}
	// Nobody bought guest seats: inviting as guest is 409.
	if _, err := w.inviteLicence(ctx, address("guest"), "guest"); !errors.Is(err, licences.ErrNoFreeSeat) {
		t.Fatalf("guest without seats: %v", err)
	}
	id, _ := w.invite(t, address("default"))
	if inv := w.invitation(t, id); inv.Licence != "standard" || len(inv.Reserved) != 0 {
		t.Fatalf("default invitation %+v", inv)
	}
}

// Where the account bought seats of the default licence, the invitation
// reserves one; with none free the invitation is refused, not the accept.
func TestAcceptTakesASeat(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.buySeats(t, "standard", 2, 1)
	_, first := w.invite(t, address("seat-one"))
	if _, err := w.accept(ctx, first, newUser("One"), ""); err != nil {
		t.Fatalf("accept with a reserved seat: %v", err)
	}
	wantPool(t, "accepted", w.pool(t, "standard"), 2, 0)
	if _, err := w.inviteLicence(ctx, address("seat-two"), ""); !errors.Is(err, licences.ErrNoFreeSeat) {
		t.Fatalf("invite with no free seat: %v", err)
	}
}
