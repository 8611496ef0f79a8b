package plans

import (
	"cmp"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// The plan's seat counts and the account's overrides are seats the
// account has, counted like the ones bought explicitly:
//
//	seats of a type = (override "licence:<type>" if set, else the seats of
//	                   the type in the account's plan, or in the default
//	                   plan when it has none) + seats purchased explicitly
//
// SeatsOf reads what decides them for one write.

// SeatsOf reads the seats of licence in each account (one batch for the
// plans and pools; one Query of members per account whose metered pool does
// not exist yet, to start it with the members holding the type).
func SeatsOf(ctx context.Context, s *store.Store, t table.Tenant, cat licences.Catalogue, accs []accounts.Account, licence string) ([]licences.Seats, error) {
	var keys []table.Key
	seen := map[table.Key]bool{}
	for _, a := range accs {
		keys = append(keys, t.LicencePool(a.ID, licence))
		plan := t.Plan(cmp.Or(a.PlanID, DefaultPlanID))
		if !seen[plan] {
			seen[plan] = true
			keys = append(keys, plan)
		}
	}
	items, err := s.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read seats of %s: %w", licence, err)
	}
	out := make([]licences.Seats, len(accs))
	for i, a := range accs {
		st := licences.Seats{AccountID: a.ID, Licence: licence}
		// Seats come from the account's plan, or the default plan (a
		// default plan not written yet has no seats).
		var p Plan
		if it, ok := items[t.Plan(cmp.Or(a.PlanID, DefaultPlanID))]; ok {
			if err := attributevalue.UnmarshalMap(it, &p); err != nil {
				return nil, apperr.Internal("decode plan", err)
			}
		}
		e := EffectiveOf(p, a.PlanOverrides, nil)
		planned, hasPlanned := e.Licences[licence]
		st.Planned = planned
		if it, ok := items[t.LicencePool(a.ID, licence)]; ok {
			if err := attributevalue.UnmarshalMap(it, &st.Pool); err != nil {
				return nil, apperr.Internal("decode licence pool", err)
			}
			st.Exists = true
		}
		st.Metered = st.Exists || hasPlanned || cat.Metered(licence)
		if st.Metered && !st.Exists {
			if st.Holders, err = countHolders(ctx, s, t, a.ID, licence); err != nil {
				return nil, err
			}
		}
		out[i] = st
	}
	return out, nil
}

// SeatsIn is SeatsOf for one account read by id.
func SeatsIn(ctx context.Context, s *store.Store, t table.Tenant, cat licences.Catalogue, accountID, licence string) (licences.Seats, error) {
	var a accounts.Account
	ok, err := s.Get(ctx, t.Account(accountID), &a)
	if err != nil {
		return licences.Seats{}, err
	}
	if !ok {
		return licences.Seats{}, apperr.ErrNotFound.Withf("no account %s", accountID)
	}
	out, err := SeatsOf(ctx, s, t, cat, []accounts.Account{a}, licence)
	if err != nil {
		return licences.Seats{}, err
	}
	return out[0], nil
}

// countHolders counts the members of accountID holding licence.
func countHolders(ctx context.Context, s *store.Store, t table.Tenant, accountID, licence string) (int64, error) {
	holds := accounts.HoldsLicence(licence)
	items, err := s.QueryAll(ctx, store.Query{Partition: t.AccountPartition(accountID), SKPrefix: table.MembershipPrefix, Filter: &holds}, 0)
	if err != nil {
		return 0, fmt.Errorf("count holders of %s: %w", licence, err)
	}
	return int64(len(items)), nil
}

// TakeIn is the seat writes for one new holder of licence in each of
// accountIDs, for the transaction that makes the holder (an association,
// a user added by an administrator): a seat of each account's plan,
// override or purchase where the type is metered there (409 no_free_seat
// up front when none is free; the write's condition decides for good), and
// a check that no pool appeared meanwhile where it is not. purchaseURL goes
// into the 409.
func TakeIn(ctx context.Context, s *store.Store, t table.Tenant, cat licences.Catalogue, purchaseURL string, accountIDs []string, licence string) ([]*store.Write, error) {
	keys := make([]table.Key, len(accountIDs))
	for i, id := range accountIDs {
		keys[i] = t.Account(id)
	}
	items, err := s.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read accounts for seats: %w", err)
	}
	accs := make([]accounts.Account, len(accountIDs))
	for i, id := range accountIDs {
		it, ok := items[t.Account(id)]
		if !ok {
			return nil, apperr.ErrNotFound.Withf("no account %s", id)
		}
		if err := attributevalue.UnmarshalMap(it, &accs[i]); err != nil {
			return nil, apperr.Internal("decode account", err)
		}
	}
	seats, err := SeatsOf(ctx, s, t, cat, accs, licence)
	if err != nil {
		return nil, err
	}
	writes := make([]*store.Write, 0, len(seats))
	for _, st := range seats {
		if st.Metered && st.Free() == 0 {
			return nil, st.NoFreeSeat(purchaseURL)
		}
		writes = append(writes, st.Take(t, purchaseURL))
	}
	return writes, nil
}
