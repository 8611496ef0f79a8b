package directory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/testkit"
)

// consultantWorld: a consultant whose home is the tenant's account A (with
// a phone and a time zone, and a profile change logged in A), who is a
// Viewer member of account B, promoted there by B's Admin (logged in B),
// and who signed in to A (from 203.0.113.10) and then to B (203.0.113.20).
type consultantWorld struct {
	*world
	consultant testkit.User
	b          string
	bAdmin     access.Caller
}

func newConsultantWorld(t *testing.T) consultantWorld {
	t.Helper()
	w := newWorld(t)
	ctx := context.Background()
	c := w.env.AddUser(t, w.ten, w.ten.AccountID, "consultant@example.org", "")
	phone, tz := "+447700900123", "Europe/London"
	if _, err := w.adm.EditProfile(ctx, administration.EditProfile{Caller: w.admin(), UserID: c.ID, Phone: &phone, TimeZone: &tz}); err != nil {
		t.Fatal(err)
	}
	b := w.env.AddAccount(t, w.ten, "Client B")
	ba := w.env.AddUser(t, w.ten, b, "admin@b.example", "", access.RoleAdmin)
	w.env.AddMembership(t, w.ten, b, c.ID, c.Email, access.RoleViewer)
	bAdmin := callerOf(w.ten, ba.ID, b, access.RoleAdmin)
	m, err := w.dir.Members(ctx, directory.MemberQuery{Caller: bAdmin, AccountID: b, Email: "consultant@", Limit: 1})
	if err != nil || len(m.Members) != 1 {
		t.Fatalf("consultant in B: %+v %v", m, err)
	}
	if _, err := w.adm.SetRoles(ctx, administration.SetRoles{Caller: bAdmin, AccountID: b, UserID: c.ID,
		Roles: []string{"Admin"}, IfMatch: m.Members[0].Version}); err != nil {
		t.Fatal(err)
	}
	a := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	for _, in := range []struct{ account, ip string }{{w.ten.AccountID, "203.0.113.10"}, {b, "203.0.113.20"}} {
		w.env.Clock.Advance(time.Minute)
		if _, err := a.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: c.Email, Password: testkit.Password, AccountID: in.account,
			IP: in.ip, UserAgent: "agent " + in.ip}); err != nil {
			t.Fatal(err)
		}
	}
	return consultantWorld{world: w, consultant: c, b: b, bAdmin: bAdmin}
}

// The Admin of B reads the consultant from A only as a member of B: their
// share in B, not their home account, phone, time zone, nor A's entries.
// The Admin of A reads all of it.
func TestAnAdminReadsAnExternalMemberOnlyAsFarAsTheirAccount(t *testing.T) {
	t.Parallel()
	w := newConsultantWorld(t)
	ctx := context.Background()
	id := w.consultant.ID

	v, err := w.dir.User(ctx, w.bAdmin, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Email != w.consultant.Email || v.HomeAccountID != "" || v.Phone != "" || v.TimeZone != "" {
		t.Errorf("B's Admin sees beyond B: %+v", v)
	}
	changes, err := w.dir.UserChanges(ctx, w.bAdmin, id, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(changes.Changes) == 0 {
		t.Errorf("B's Admin sees none of B's changes about the consultant")
	}
	for _, c := range changes.Changes {
		if c.AccountID != w.b {
			t.Errorf("B's Admin sees a change in another account: %+v", c)
		}
	}
	history, err := w.dir.AccessHistory(ctx, w.bAdmin, id, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(history.Entries) != 1 || history.Entries[0].AccountID != w.b || history.Entries[0].IP != "203.0.113.20" ||
		history.Entries[0].UserAgent != "agent 203.0.113.20" {
		t.Errorf("B's Admin sees the sign-ins to B only, with their client: %+v", history.Entries)
	}

	v, err = w.dir.User(ctx, w.admin(), id)
	if err != nil {
		t.Fatal(err)
	}
	if v.HomeAccountID != w.ten.AccountID || v.Phone != "+447700900123" || v.TimeZone != "Europe/London" {
		t.Errorf("A's Admin sees less than everything: %+v", v)
	}
	changes, err = w.dir.UserChanges(ctx, w.admin(), id, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]int{}
	for _, c := range changes.Changes {
		in[c.AccountID]++
	}
	if in[w.ten.AccountID] == 0 || in[w.b] == 0 {
		t.Errorf("A's Admin sees the changes in both accounts: %v", in)
	}
	history, err = w.dir.AccessHistory(ctx, w.admin(), id, 50, "")
	if err != nil || len(history.Entries) != 2 || history.Entries[0].IP != "203.0.113.20" || history.Entries[1].IP != "203.0.113.10" {
		t.Errorf("A's Admin sees every sign-in with its client: %+v %v", history, err)
	}
	// The consultant reads all of themselves.
	self := callerOf(w.ten, id, w.b, access.RoleAdmin)
	if v, err := w.dir.User(ctx, self, id); err != nil || v.Phone == "" || v.HomeAccountID == "" {
		t.Errorf("self: %+v %v", v, err)
	}
	if h, err := w.dir.AccessHistory(ctx, self, id, 50, ""); err != nil || len(h.Entries) != 2 || h.Entries[1].IP == "" {
		t.Errorf("self history: %+v %v", h, err)
	}
}

// IP addresses and user agents are shown to Admins and operators only; a
// Viewer of the home account sees when and where, not from where.
func TestAccessHistoryShowsClientsToAdminsAndOperatorsOnly(t *testing.T) {
	t.Parallel()
	w := newConsultantWorld(t)
	ctx := context.Background()
	id := w.consultant.ID
	viewer := w.env.AddUser(t, w.ten, w.ten.AccountID, "viewer@example.org", "")
	homeViewer := callerOf(w.ten, viewer.ID, w.ten.AccountID, access.RoleViewer)
	op := w.operator(t)
	for name, tc := range map[string]struct {
		caller  access.Caller
		clients []string // per entry, newest first
	}{
		"home viewer": {homeViewer, []string{"", ""}},
		"home admin":  {w.admin(), []string{"203.0.113.20", "203.0.113.10"}},
		"operator":    {op, []string{"203.0.113.20", "203.0.113.10"}},
	} {
		h, err := w.dir.AccessHistory(ctx, tc.caller, id, 50, "")
		if err != nil || len(h.Entries) != len(tc.clients) {
			t.Errorf("%s: %+v %v", name, h, err)
			continue
		}
		for i, e := range h.Entries {
			if e.IP != tc.clients[i] || (e.UserAgent == "") != (tc.clients[i] == "") || e.At.IsZero() || e.AccountID == "" {
				t.Errorf("%s: entry %d %+v, want client %q", name, i, e, tc.clients[i])
			}
		}
	}
	// A Viewer of the home account who is an Admin of B sees the client of
	// the sign-in to B only.
	w.env.AddMembership(t, w.ten, w.b, viewer.ID, viewer.Email, access.RoleAdmin)
	h, err := w.dir.AccessHistory(ctx, homeViewer, id, 50, "")
	if err != nil || len(h.Entries) != 2 || h.Entries[0].IP != "203.0.113.20" || h.Entries[1].IP != "" || h.Entries[1].UserAgent != "" {
		t.Errorf("home viewer who is B's Admin: %+v %v", h, err)
	}
	// The home Viewer reads the profile, without the phone and time zone.
	if v, err := w.dir.User(ctx, homeViewer, id); err != nil || v.Phone != "" || v.TimeZone != "" || v.HomeAccountID != w.ten.AccountID {
		t.Errorf("home viewer's profile: %+v %v", v, err)
	}
}

// An operator not switched into the user's home account reads their audit
// trail (tenant administration) but not their profile; switched in, both.
func TestOperatorsReadACustomersUserOnlySwitchedIn(t *testing.T) {
	t.Parallel()
	w := newConsultantWorld(t)
	ctx := context.Background()
	id := w.consultant.ID
	ops := w.env.AddAccount(t, w.ten, "Support desk")
	op := w.operator(t)
	op.AccountID = ops
	if _, err := w.dir.User(ctx, op, id); !errors.Is(err, access.ErrSwitchRequired) {
		t.Errorf("unswitched operator reads a customer's user: %v", err)
	}
	if _, err := w.dir.UserChanges(ctx, op, id, 10, ""); err != nil {
		t.Errorf("unswitched operator reads a user's change log: %v", err)
	}
	inB := op
	inB.AccountID, inB.SupportReason = w.b, "ticket 42"
	if v, err := w.dir.User(ctx, inB, id); err != nil || v.HomeAccountID != "" || v.Phone != "" {
		t.Errorf("operator switched into B sees the consultant as B does: %+v %v", v, err)
	}
	inA := op
	inA.AccountID, inA.SupportReason = w.ten.AccountID, "ticket 42"
	if v, err := w.dir.User(ctx, inA, id); err != nil || v.Phone == "" || v.HomeAccountID != w.ten.AccountID {
		t.Errorf("operator switched into the home account: %+v %v", v, err)
	}
	if _, err := w.dir.Members(ctx, directory.MemberQuery{Caller: op, AccountID: w.ten.AccountID, Limit: 5}); !errors.Is(err, access.ErrSwitchRequired) ||
		apperr.KindOf(err) != apperr.KindForbidden {
		t.Errorf("unswitched operator lists a customer's users: %v", err)
	}
	if _, err := w.dir.Members(ctx, directory.MemberQuery{Caller: inA, AccountID: w.ten.AccountID, Limit: 5}); err != nil {
		t.Errorf("switched operator lists the users: %v", err)
	}
}
