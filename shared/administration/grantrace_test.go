package administration_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
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
