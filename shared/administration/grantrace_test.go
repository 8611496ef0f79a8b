package administration_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
)

// beforeCommit is the table client with a hook run just before the next
// TransactWriteItems, once: between a change's decision and its commit.
type beforeCommit struct {
	store.DynamoDB
	mu   sync.Mutex
	hook func()
}

func (d *beforeCommit) arm(f func()) { d.mu.Lock(); d.hook = f; d.mu.Unlock() }

func (d *beforeCommit) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	d.mu.Lock()
	f := d.hook
	d.hook = nil
	d.mu.Unlock()
	if f != nil {
		f()
	}
	return d.DynamoDB.TransactWriteItems(ctx, in, opts...)
}

// A grant racing the removal of its grantor's rights never leaves more
// granted than the grantor holds: when the grantor's demotion lands between
// the grant's decision and its commit, the grant fails (409
// grantor_changed) and the member keeps their roles; when the two race
// freely, either the grant committed first or it is refused. Removing the
// grant's checks at commit makes the first half fail at once.
func TestAGrantRacingTheGrantorsDemotion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	gate := &beforeCommit{DynamoDB: w.env.DB}
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
			gate.arm(func() { demoted = demote() }) // exactly between decision and commit
		} else {
			wg.Add(1)
			go func() { defer wg.Done(); demoted = demote() }()
		}
		_, granted := racing.SetRoles(ctx, administration.SetRoles{Caller: asGrantor, AccountID: acct, UserID: target.ID, Roles: []string{access.RoleAdmin}})
		wg.Wait()
		gate.arm(nil)
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
