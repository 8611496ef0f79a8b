package usage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/store"
)

// ResetResult says what a reset replaced.
type ResetResult struct {
	AccountID string           `json:"accountId"`
	Period    Period           `json:"period"`
	Before    map[string]int64 `json:"before"` // the counters it set to zero
	ResetAt   time.Time        `json:"resetAt"`
}

// maxResetAttempts bounds how often a reset re-reads counters that changed
// under it (usage keeps arriving while it runs).
const maxResetAttempts = 8

// Reset sets every counter of the account's current period to zero ("reset
// usage stats"). It reads the counters, then in one transaction zeroes them
// on condition that nothing changed since (the period's rev) and writes the
// change-log entry with the values it replaced, so the log is exact even
// while usage is being recorded; a counter that moved makes it read again.
func (s *Service) Reset(ctx context.Context, caller access.Caller, accountID string) (ResetResult, error) {
	t := caller.Tenant
	if err := s.Access.Require(ctx, caller, access.ResetUsage, accountID); err != nil {
		return ResetResult{}, err
	}
	terms, err := s.Terms.Terms(ctx, t, accountID)
	if err != nil {
		return ResetResult{}, err
	}
	now := s.Clock.Now()
	p := PeriodAt(terms.Anchor, now)
	key := t.UsagePeriod(accountID, p.Start)
	for range maxResetAttempts {
		cur, exists, err := s.readPeriod(ctx, key)
		if err != nil {
			return ResetResult{}, err
		}
		before, after := map[string]any{}, map[string]any{}
		zeroed := map[string]int64{}
		upd := expression.Set(expression.Name("lastResetAt"), expression.Value(now)).
			Set(expression.Name("updatedAt"), expression.Value(now)).
			Add(expression.Name(attrRev), expression.Value(1))
		for m, n := range cur.Used {
			before[m], after[m], zeroed[m] = n, 0, n
			upd = upd.Set(expression.Name(usedAttr(m)), expression.Value(0))
		}
		change := store.Check(key, store.NotExists()).OrFail(errChanged)
		if exists {
			change = store.Update(key, upd).
				If(store.Is(attrRev, cur.Rev).And(expression.AttributeNotExists(expression.Name(attrFinalizedAt)))).
				OrFail(errChanged)
		}
		entry := changelog.New(t, s.IDs.NewID(), now, accountID, changelog.ActorOf(caller), "usage.reset", "account", accountID,
			map[string]any{"period": p.ID(), "used": before}, map[string]any{"period": p.ID(), "used": after})
		err = s.Store.Transact(ctx, fmt.Sprintf("reset usage of account %s", accountID), change, entry.Write(), accounts.Open(t, accountID))
		if errors.Is(err, errChanged) {
			continue
		}
		if err != nil {
			return ResetResult{}, err
		}
		return ResetResult{AccountID: accountID, Period: p, Before: zeroed, ResetAt: now}, nil
	}
	return ResetResult{}, ErrBusy
}
