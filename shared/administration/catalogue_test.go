package administration_test

import (
	"fmt"
	"testing"

	"github.com/acme/accountadmin/shared/access"

	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

// The plan's seats and the account's override are seats the account has:
// members are given the licence within them, and one more is 409.
func TestPlanAndOverrideSeatsAreEnforced(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	pcmd, err := administration.PlanRequest{Name: "Team", Limits: map[string]plans.Allowance{}, Licences: map[string]int64{"office": 2}}.Command(op, "team", 0)
	wantKind(t, "plan command", err, ok)
	_, err = w.adm.PutPlan(ctx, pcmd)
	wantKind(t, "define plan", err, ok)
	acmd, err := administration.AccountPlanRequest{PlanID: "team", Overrides: map[string]plans.Allowance{"licence:intranet": {Limit: 1}}}.Command(op, w.ten.AccountID, 0)
	wantKind(t, "account plan command", err, ok)
	_, err = w.adm.SetAccountPlan(ctx, acmd)
	wantKind(t, "set account plan", err, ok)

	users := make([]testkit.User, 4)
	for i := range users {
		users[i] = w.env.AddUser(t, w.ten, w.ten.AccountID, fmt.Sprintf("planned%d@example.org", i), "-")
	}
	assign := func(u testkit.User, licence string) error {
		_, err := w.adm.AssignLicence(ctx, administration.AssignLicence{Caller: w.admin(), AccountID: w.ten.AccountID, UserID: u.ID, Licence: licence})
		return err
	}
	wantKind(t, "first plan seat", assign(users[0], "office"), ok)
	wantKind(t, "second plan seat", assign(users[1], "office"), ok)
	wantKind(t, "beyond the plan", assign(users[2], "office"), apperr.KindConflict, "no_free_seat")
	wantKind(t, "override seat", assign(users[2], "intranet"), ok)
	wantKind(t, "beyond the override", assign(users[3], "intranet"), apperr.KindConflict, "no_free_seat")

	// Seats bought explicitly add to the plan's.
	w.seats(t, op, w.ten.AccountID, "office", 1)
	wantKind(t, "a bought seat", assign(users[3], "office"), ok)
	if p := w.pool(t, w.ten.AccountID, "office"); p.Used != 3 || p.Held != 3 || p.Purchased != 1 {
		t.Fatalf("office pool %+v", p)
	}
	seats, err := plans.SeatsIn(ctx, w.env.Store, w.ten.Tenant, licences.DefaultCatalogue("standard"), w.ten.AccountID, "office")
	if err != nil || seats.Capacity() != 3 || seats.Free() != 0 {
		t.Fatalf("seats %+v %v", seats, err)
	}
	// Moving a member back to the unmetered default works.
	wantKind(t, "back to standard", assign(users[3], "standard"), ok)
}

// Licence types are the tenant's catalogue: an unknown type is 422 wherever
// one is given; operators add and retire types; a retired type is no longer
// given or bought, but its holders keep it.
func TestLicenceTypesAreACatalogue(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	u := w.env.AddUser(t, w.ten, w.ten.AccountID, "typed@example.org", "-")
	assign := func(licence string) error {
		_, err := w.adm.AssignLicence(ctx, administration.AssignLicence{Caller: w.admin(), AccountID: w.ten.AccountID, UserID: u.ID, Licence: licence})
		return err
	}
	buy := func(licence string, n int64) error {
		_, err := w.adm.SetSeats(ctx, administration.SetSeats{Caller: op, AccountID: w.ten.AccountID, Licence: licence, Purchased: n})
		return err
	}
	wantKind(t, "assign a typo", assign("ofice"), apperr.KindUnprocessable)
	wantKind(t, "buy a typo", buy("ofice", 3), apperr.KindUnprocessable)

	put := func(c access.Caller, id, name string, retired bool) (tenancy.Settings, error) {
		cmd, err := administration.LicenceTypeRequest{Name: name, Retired: retired}.Command(c, id, 0)
		if err != nil {
			return tenancy.Settings{}, err
		}
		return w.adm.PutLicenceType(ctx, cmd)
	}
	_, err := put(w.admin(), "contractor", "Contractor", false)
	wantKind(t, "an admin defines a type", err, apperr.KindForbidden)
	s, err := put(op, "contractor", "Contractor", false)
	wantKind(t, "add a type", err, ok)
	if typ, found := s.Catalogue().Find("contractor"); !found || typ.Name != "Contractor" {
		t.Fatalf("catalogue %+v", s.Catalogue())
	}
	wantKind(t, "buy the new type", buy("contractor", 2), ok)
	wantKind(t, "assign the new type", assign("contractor"), ok)

	_, err = put(op, "contractor", "Contractor", true)
	wantKind(t, "retire it", err, ok)
	other := w.env.AddUser(t, w.ten, w.ten.AccountID, "late@example.org", "-")
	_, err = w.adm.AssignLicence(ctx, administration.AssignLicence{Caller: w.admin(), AccountID: w.ten.AccountID, UserID: other.ID, Licence: "contractor"})
	wantKind(t, "assign a retired type", err, apperr.KindUnprocessable)
	wantKind(t, "buy more of a retired type", buy("contractor", 5), apperr.KindUnprocessable)
	wantKind(t, "buy fewer of a retired type", buy("contractor", 1), ok)
	if m, _ := w.membership(t, w.ten.AccountID, u.ID); m.Licence != "contractor" {
		t.Fatalf("the holder lost the retired type: %+v", m)
	}
	_, err = put(op, "standard", "Standard", true)
	wantKind(t, "retire the default", err, apperr.KindConflict, "default_licence")

	_, err = administration.SettingsRequest{PurchaseURL: ptr("javascript:alert(1)")}.Command(op, 0)
	wantKind(t, "a bad purchase link", err, apperr.KindUnprocessable)
	s, err = w.adm.UpdateSettings(ctx, administration.UpdateSettings{Caller: op, PurchaseURL: ptr("https://billing.example/seats")})
	wantKind(t, "set the purchase link", err, ok)
	if s.PurchaseURL != "https://billing.example/seats" {
		t.Fatalf("settings %+v", s)
	}
}
