package administration_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// A grant racing the removal of its grantor's rights never leaves more
// granted than the grantor holds: when the grantor's demotion lands between
// the grant's decision and its commit, the grant fails (409
// grantor_changed) and the member keeps their roles; when the two race
// freely, either the grant committed first or it is refused. Removing the
// grant's checks at commit makes the first half fail at once.
func TestAGrantRacingTheGrantorsDemotion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	gate := &testkit.CommitGate{DynamoDB: w.env.DB}
	racing := *w.adm
	racing.Store = store.New(gate, w.env.Config.Table)
	racing.Access = access.Checker{Store: racing.Store}
	for round := range 20 {
		acct := w.env.AddAccount(t, w.ten, fmt.Sprintf("Race %d", round))
		grantor, asGrantor := w.member(t, acct, fmt.Sprintf("grantor%d@race.example", round), access.RoleAdmin)
		_, asOther := w.member(t, acct, fmt.Sprintf("other%d@race.example", round), access.RoleAdmin)
		target, _ := w.member(t, acct, fmt.Sprintf("target%d@race.example", round))
		demote := func() error {
			_, err := w.adm.SetRoles(ctx, administration.SetRoles{Caller: asOther, AccountID: acct, UserID: grantor.ID, Roles: []string{access.RoleViewer}})
			return err
		}
		var demoted error
		var wg sync.WaitGroup
		if round%2 == 0 {
			gate.Arm(func() { demoted = demote() }) // exactly between decision and commit
		} else {
			wg.Add(1)
			go func() { defer wg.Done(); demoted = demote() }()
		}
		_, granted := racing.SetRoles(ctx, administration.SetRoles{Caller: asGrantor, AccountID: acct, UserID: target.ID, Roles: []string{access.RoleAdmin}})
		wg.Wait()
		gate.Arm(nil)
		if demoted != nil {
			t.Fatalf("round %d: the demotion failed: %v", round, demoted)
		}
		m, _ := w.membership(t, acct, target.ID)
		isAdmin := slices.Contains(m.Roles, access.RoleAdmin)
		switch {
		case granted == nil && !isAdmin, granted != nil && isAdmin:
			t.Fatalf("round %d: grant answered %v but the target's roles are %v", round, granted, m.Roles)
		case round%2 == 0 && granted == nil:
			t.Fatalf("round %d: a grant by a grantor demoted before it committed succeeded", round)
		case granted != nil && !errors.Is(granted, access.ErrGrantorChanged) && !errors.Is(granted, apperr.ErrForbidden) && !errors.Is(granted, access.ErrGrantExceeds):
			t.Fatalf("round %d: the grant failed with %v, want grantor_changed or grant_exceeds_rights", round, granted)
		}
	}
}

// The last-admin guard picks one other Admin and checks them at commit;
// when that Admin stops being one meanwhile but a third remains, the
// change is decided again and succeeds instead of a false 409 last_admin.
func TestTheGuardRetriesWhenItsChosenAdminChanges(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	gate := &testkit.CommitGate{DynamoDB: w.env.DB}
	racing := *w.adm
	racing.Store = store.New(gate, w.env.Config.Table)
	racing.Access = access.Checker{Store: racing.Store}
	acct := w.env.AddAccount(t, w.ten, "Three admins")
	x, _ := w.member(t, acct, "x@three.example", access.RoleAdmin)
	y, _ := w.member(t, acct, "y@three.example", access.RoleAdmin)
	z, _ := w.member(t, acct, "z@three.example", access.RoleAdmin)
	// The guard reads the admin index in user id order: it chooses the
	// first of y and z; that one is demoted just before the commit.
	chosen := min(y.ID, z.ID)
	gate.Arm(func() {
		m, _ := w.membership(t, acct, chosen)
		m.Roles = []string{access.RoleViewer}
		m = accounts.NewMembership(w.ten.Tenant, m)
		if err := w.env.Store.Do(ctx, "demote the chosen admin", store.Put(m)); err != nil {
			t.Error(err)
		}
	})
	support := supportIn(w.operator(t), acct)
	_, err := racing.SetRoles(ctx, administration.SetRoles{Caller: support, AccountID: acct, UserID: x.ID, Roles: []string{access.RoleViewer}})
	wantKind(t, "demote x while the chosen other admin is demoted", err, ok)
	admins := 0
	for _, id := range []string{x.ID, y.ID, z.ID} {
		if m, _ := w.membership(t, acct, id); slices.Contains(m.Roles, access.RoleAdmin) {
			admins++
		}
	}
	if admins != 1 {
		t.Fatalf("%d admins left, want 1", admins)
	}
}

// A grant in the caller's active account decides from the membership the
// session resolution read and holds it at that version: a grantor demoted
// after their request's session was resolved, before the grant decides,
// is refused (409 grantor_changed) and nothing is granted.
func TestAGrantHoldsTheMembershipTheSessionResolutionRead(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	acct := w.env.AddAccount(t, w.ten, "Resolved")
	grantor, asGrantor := w.member(t, acct, "grantor@resolved.example", access.RoleAdmin)
	_, asOther := w.member(t, acct, "other@resolved.example", access.RoleAdmin)
	target, _ := w.member(t, acct, "target@resolved.example")
	sessions := &auth.Service{Store: w.env.Store, Clock: w.env.Clock}
	resolved, err := sessions.Authorize(ctx, w.env.Session(t, asGrantor))
	if err != nil {
		t.Fatal(err)
	}
	if !resolved.Member || resolved.MemberVersion == 0 {
		t.Fatalf("the resolved caller does not carry the membership it read: %+v", resolved)
	}
	if _, err := w.adm.SetRoles(ctx, administration.SetRoles{Caller: asOther, AccountID: acct, UserID: grantor.ID, Roles: []string{access.RoleViewer}}); err != nil {
		t.Fatal(err)
	}
	_, granted := w.adm.SetRoles(ctx, administration.SetRoles{Caller: resolved, AccountID: acct, UserID: target.ID, Roles: []string{access.RoleAdmin}})
	if !errors.Is(granted, access.ErrGrantorChanged) {
		t.Fatalf("a grant by a grantor demoted since the session was resolved: %v, want grantor_changed", granted)
	}
	if m, _ := w.membership(t, acct, target.ID); slices.Contains(m.Roles, access.RoleAdmin) {
		t.Fatalf("the target was granted Admin: %v", m.Roles)
	}
}
