package administration_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/testkit"
)

func (w *world) pool(t testing.TB, accountID, licence string) licences.Pool {
	t.Helper()
	var p licences.Pool
	if ok, err := w.env.Store.Get(ctx, w.ten.LicencePool(accountID, licence), &p); err != nil || !ok {
		t.Fatalf("pool %s: %v %v", licence, ok, err)
	}
	return p
}

func (w *world) seats(t testing.TB, op access.Caller, accountID, licence string, n int64) {
	t.Helper()
	cmd, err := administration.SeatsRequest{Purchased: &n}.Command(op, accountID, licence, 0)
	wantKind(t, "seats command", err, ok)
	_, err = w.adm.SetSeats(ctx, cmd)
	wantKind(t, "buy seats", err, ok)
}

func TestSeatsStartFromTheMembersHoldingTheLicence(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	w.member(t, w.ten.AccountID, "one@example.org") // the admin and this member hold "standard"
	w.seats(t, op, w.ten.AccountID, "standard", 5)
	if p := w.pool(t, w.ten.AccountID, "standard"); p.Purchased != 5 || p.Used != 2 {
		t.Fatalf("pool %+v", p)
	}
	n := int64(1)
	_, err := w.adm.SetSeats(ctx, administration.SetSeats{Caller: op, AccountID: w.ten.AccountID, Licence: "standard", Purchased: n})
	wantKind(t, "fewer than used", err, apperr.KindConflict, "seats_in_use")
	_, err = w.adm.SetSeats(ctx, administration.SetSeats{Caller: w.admin(), AccountID: w.ten.AccountID, Licence: "standard", Purchased: 9})
	wantKind(t, "an account admin buys seats", err, apperr.KindForbidden)
	_, err = administration.SeatsRequest{Purchased: &n}.Command(op, w.ten.AccountID, "Bad Type", 0)
	wantKind(t, "bad type", err, apperr.KindUnprocessable)
	if log := w.changes(t, w.ten.AccountID, "licence.seats_changed"); len(log) != 1 {
		t.Fatalf("log %+v", log)
	}
}

// Ten members racing for three free seats: exactly three get one.
func TestRacingAssignmentsTakeExactlyTheFreeSeats(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	const racers, seats = 10, 3
	users := make([]testkit.User, racers)
	for i := range racers {
		users[i] = w.env.AddUser(t, w.ten, w.ten.AccountID, fmt.Sprintf("racer%d@example.org", i), "-")
	}
	w.seats(t, op, w.ten.AccountID, "office", seats)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = w.adm.AssignLicence(ctx, administration.AssignLicence{Caller: w.admin(), AccountID: w.ten.AccountID, UserID: users[i].ID, Licence: "office"})
		}()
	}
	close(start)
	wg.Wait()
	got, holders := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			got++
		case !errors.Is(err, licences.ErrNoFreeSeat):
			t.Errorf("racer %d: %v", i, err)
		}
		if m, _ := w.membership(t, w.ten.AccountID, users[i].ID); m.Licence == "office" {
			holders++
		}
	}
	if p := w.pool(t, w.ten.AccountID, "office"); got != seats || holders != seats || p.Used != seats {
		t.Fatalf("%d assignments succeeded, %d hold it, pool %+v", got, holders, p)
	}
}

func TestChangingAndRemovingALicenceMovesSeatsAndSignIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	u := w.env.AddUser(t, w.ten, w.ten.AccountID, "worker@example.org", "-")
	w.seats(t, op, w.ten.AccountID, "office", 2)
	w.seats(t, op, w.ten.AccountID, "intranet", 1)
	assign := func(c access.Caller, licence string) error {
		_, err := w.adm.AssignLicence(ctx, administration.AssignLicence{Caller: c, AccountID: w.ten.AccountID, UserID: u.ID, Licence: licence})
		return err
	}
	a := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	signIn := func() error {
		_, err := a.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: testkit.Password, AccountID: w.ten.AccountID})
		return err
	}
	if !errors.Is(signIn(), auth.ErrNoAccess) {
		t.Fatal("a member without a licence signed in")
	}
	_, viewer := w.member(t, w.ten.AccountID, "viewer@example.org")
	wantKind(t, "viewer assigns", assign(viewer, "office"), apperr.KindForbidden)

	wantKind(t, "assign office", assign(w.admin(), "office"), ok)
	wantKind(t, "sign in with a licence", signIn(), ok)
	wantKind(t, "switch to intranet", assign(w.admin(), "intranet"), ok)
	if o, i := w.pool(t, w.ten.AccountID, "office"), w.pool(t, w.ten.AccountID, "intranet"); o.Used != 0 || i.Used != 1 {
		t.Fatalf("office %+v intranet %+v", o, i)
	}
	other := w.env.AddUser(t, w.ten, w.ten.AccountID, "other@example.org", "-")
	_, err := w.adm.AssignLicence(ctx, administration.AssignLicence{Caller: w.admin(), AccountID: w.ten.AccountID, UserID: other.ID, Licence: "intranet"})
	wantKind(t, "no intranet seat left", err, apperr.KindConflict, "no_free_seat")
	_, err = w.adm.AssignLicence(ctx, administration.AssignLicence{Caller: w.admin(), AccountID: w.ten.AccountID, UserID: other.ID, Licence: "guest"})
	wantKind(t, "no guest seat bought", err, apperr.KindConflict, "no_free_seat")

	wantKind(t, "remove", assign(w.admin(), ""), ok)
	if m, _ := w.membership(t, w.ten.AccountID, u.ID); m.Licence != "" || w.pool(t, w.ten.AccountID, "intranet").Used != 0 {
		t.Fatalf("licence kept: %+v", m)
	}
	if !errors.Is(signIn(), auth.ErrNoAccess) {
		t.Fatal("signed in after the licence was removed")
	}
	if log := w.changes(t, w.ten.AccountID, "membership.licence_changed"); len(log) != 3 {
		t.Fatalf("log %d", len(log))
	}
	// Nobody changes their own licence; and the sole admin keeps theirs.
	_, err = w.adm.AssignLicence(ctx, administration.AssignLicence{Caller: w.admin(), AccountID: w.ten.AccountID, UserID: w.ten.AdminID, Licence: ""})
	wantKind(t, "unlicense oneself", err, apperr.KindForbidden, "own_roles")
	_, err = w.adm.AssignLicence(ctx, administration.AssignLicence{Caller: supportIn(w.operator(t), w.ten.AccountID), AccountID: w.ten.AccountID, UserID: w.ten.AdminID, Licence: ""})
	wantKind(t, "unlicense the last admin", err, apperr.KindConflict, "last_admin")
}
