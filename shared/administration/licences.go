package administration

import (
	"context"
	"errors"
	"fmt"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// SeatsRequest is the body of PUT /accounts/{accountId}/licences/{licence}.
type SeatsRequest struct {
	Purchased *int64 `json:"purchased"`
}

// SetSeats is a validated change of an account's purchased seats.
type SetSeats struct {
	Caller    access.Caller
	AccountID string
	Licence   string
	Purchased int64
	IfMatch   int64 // the pool's version, when it exists
}

// Command validates the request.
func (r SeatsRequest) Command(c access.Caller, accountID, licence string, ifMatch int64) (SetSeats, error) {
	var f apperr.Fields
	f.Check(licences.ValidType(licence), "licence", "invalid_licence", "a licence type is lower-case letters, digits, '-' or '_', at most 40")
	f.Check(r.Purchased != nil, "purchased", "required", "purchased is required")
	cmd := SetSeats{Caller: c, AccountID: accountID, Licence: licence, IfMatch: ifMatch}
	if r.Purchased != nil {
		cmd.Purchased = *r.Purchased
		f.Check(cmd.Purchased >= 0 && cmd.Purchased <= licences.MaxSeats, "purchased", "out_of_range",
			fmt.Sprintf("purchased is from 0 to %d", licences.MaxSeats))
	}
	return cmd, f.Err()
}

// ErrSeatsInUse refuses to buy fewer seats than are in use.
var ErrSeatsInUse = apperr.New(apperr.KindConflict, "seats_in_use", "more seats are in use than that: remove licences first")

// SetSeats records how many seats of a licence type an account bought
// explicitly, beside the seats its plan (or override) gives: the account
// has plan seats + purchased. Purchases are billing: tenant operators
// record them (or a custom role holding licences.purchase, which operators
// may define). The type must be in the tenant's catalogue (422); a retired
// type may only be bought down. The first time a type is bought for an
// account, its pool starts with the members who hold that licence already;
// fewer seats than are used or reserved are refused, and the condition on
// "held" makes that hold against racing assignments and invitations.
func (s *Service) SetSeats(ctx context.Context, cmd SetSeats) (licences.Pool, error) {
	v, err := s.SetSeatsView(ctx, cmd)
	return v.Pool, err
}

// SetSeatsView is SetSeats answering the seats with the plan's share.
func (s *Service) SetSeatsView(ctx context.Context, cmd SetSeats) (licences.Seats, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if !ids.Valid(cmd.AccountID) {
		return licences.Seats{}, apperr.ErrNotFound.Withf("no account %q", cmd.AccountID)
	}
	if err := s.Access.Require(ctx, c, access.PurchaseSeats, cmd.AccountID); err != nil {
		if errors.Is(err, apperr.ErrForbidden) {
			return licences.Seats{}, apperr.ErrForbidden.Withf("seats are bought through the tenant's billing: ask a tenant operator")
		}
		return licences.Seats{}, err
	}
	settings, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return licences.Seats{}, err
	}
	cat := settings.Catalogue()
	if err := cat.Known("licence", cmd.Licence); err != nil {
		return licences.Seats{}, err
	}
	seats, err := plans.SeatsIn(ctx, s.Store, t, cat, cmd.AccountID, cmd.Licence)
	if err != nil {
		return licences.Seats{}, err
	}
	if typ, _ := cat.Find(cmd.Licence); typ.Retired && cmd.Purchased > seats.Pool.Purchased {
		return licences.Seats{}, cat.Check("licence", cmd.Licence)
	}
	now := s.now()
	pool := seats.Pool
	var write *store.Write
	var before map[string]any
	if seats.Exists {
		v, err := expect(cmd.IfMatch, pool.Version)
		if err != nil {
			return licences.Seats{}, err
		}
		if pool.Held > seats.Planned+cmd.Purchased {
			return licences.Seats{}, ErrSeatsInUse.Withf("%d seats of %s are used or reserved (the plan gives %d): remove licences or revoke invitations before buying fewer",
				pool.Held, cmd.Licence, seats.Planned)
		}
		before = map[string]any{"purchased": pool.Purchased}
		write = licences.Buy(t, cmd.AccountID, cmd.Licence, v, seats.Planned, cmd.Purchased, now).OrFail(apperr.ErrVersionConflict)
		pool.Purchased, pool.Version, pool.UpdatedAt = cmd.Purchased, v+1, now
	} else {
		if cmd.IfMatch != 0 {
			return licences.Seats{}, apperr.ErrVersionConflict
		}
		holders, err := s.countHolders(ctx, t, cmd.AccountID, cmd.Licence)
		if err != nil {
			return licences.Seats{}, err
		}
		pool = licences.NewPool(t, cmd.AccountID, cmd.Licence, cmd.Purchased, holders, now)
		write = store.Put(pool).If(store.NotExists()).OrFail(apperr.ErrVersionConflict)
	}
	entry := changelog.New(t, s.IDs.NewID(), now, cmd.AccountID, changelog.ActorOf(c), "licence.seats_changed", "licence", cmd.Licence,
		before, map[string]any{"purchased": cmd.Purchased})
	if err := s.transact(ctx, "set seats of "+cmd.Licence, []*store.Write{write, entry.Write(), accounts.Open(t, cmd.AccountID)}); err != nil {
		return licences.Seats{}, err
	}
	seats.Pool, seats.Exists, seats.Metered = pool, true, true
	return seats, nil
}

// countHolders counts the members of accountID holding licence.
func (s *Service) countHolders(ctx context.Context, t table.Tenant, accountID, licence string) (int64, error) {
	holds := accounts.HoldsLicence(licence)
	items, err := s.Store.QueryAll(ctx, store.Query{Partition: t.AccountPartition(accountID), SKPrefix: table.MembershipPrefix, Filter: &holds}, 0)
	if err != nil {
		return 0, fmt.Errorf("count holders of %s: %w", licence, err)
	}
	return int64(len(items)), nil
}

// LicenceRequest is the body of PUT /accounts/{accountId}/users/{userId}/licence.
type LicenceRequest struct {
	Licence *string `json:"licence"` // a licence type, or "" / null to remove it
}

// AssignLicence is a validated licence change of one member.
type AssignLicence struct {
	Caller    access.Caller
	AccountID string
	UserID    string
	Licence   string // "" removes it
	IfMatch   int64  // the membership's version
}

// Command validates the request.
func (r LicenceRequest) Command(c access.Caller, accountID, userID string, ifMatch int64) (AssignLicence, error) {
	var f apperr.Fields
	cmd := AssignLicence{Caller: c, AccountID: accountID, UserID: userID, IfMatch: ifMatch}
	if r.Licence != nil {
		cmd.Licence = *r.Licence
	}
	f.Check(cmd.Licence == "" || licences.ValidType(cmd.Licence), "licence", "invalid_licence", "not a licence type")
	return cmd, f.Err()
}

// AssignLicence gives a member a licence, changes it or removes it, in one
// transaction with the seat bookkeeping and the change-log entry. The new
// licence is a type of the tenant's catalogue, not retired (else 422); where
// it is metered it takes a seat of the account's (plan seats or override,
// plus purchased) only if one is neither used nor reserved by a pending
// invitation (409 no_free_seat with the figures and the tenant's purchase
// link; racing assignments succeed exactly as many times as there are free
// seats); the old one frees its seat. A member without a licence cannot sign in to the
// account (their next request is refused), so removing the
// last active Admin's licence is refused too. Needs licences.manage
// (Admins).
func (s *Service) AssignLicence(ctx context.Context, cmd AssignLicence) (accounts.Membership, error) {
	return retryAdmin(func() (accounts.Membership, error) { return s.assignLicence(ctx, cmd) })
}

func (s *Service) assignLicence(ctx context.Context, cmd AssignLicence) (accounts.Membership, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if !ids.Valid(cmd.AccountID) || !ids.Valid(cmd.UserID) {
		return accounts.Membership{}, apperr.ErrNotFound
	}
	if cmd.UserID == c.UserID {
		return accounts.Membership{}, access.ErrOwnRoles
	}
	if err := s.Access.Require(ctx, c, access.ManageLicences, cmd.AccountID); err != nil {
		return accounts.Membership{}, err
	}
	m, u, err := s.member(ctx, t, cmd.AccountID, cmd.UserID)
	if err != nil {
		return accounts.Membership{}, err
	}
	if u.Operator && !c.Operator {
		return accounts.Membership{}, access.ErrOperatorProtected.Withf("%s is tenant support staff: only tenant operators change their licence", u.Email)
	}
	v, err := expect(cmd.IfMatch, m.Version)
	if err != nil {
		return accounts.Membership{}, err
	}
	if m.Licence == cmd.Licence {
		return m, nil
	}
	var writes []*store.Write
	if cmd.Licence != "" {
		// The new type: in the catalogue and not retired (422), and a seat
		// of the account's (plan, override and purchased) if it is metered.
		settings, err := tenancy.Load(ctx, s.Store, t)
		if err != nil {
			return accounts.Membership{}, err
		}
		cat := settings.Catalogue()
		if err := cat.Check("licence", cmd.Licence); err != nil {
			return accounts.Membership{}, err
		}
		seats, err := plans.SeatsIn(ctx, s.Store, t, cat, m.AccountID, cmd.Licence)
		if err != nil {
			return accounts.Membership{}, err
		}
		if seats.Metered && seats.Free() == 0 {
			return accounts.Membership{}, seats.NoFreeSeat(settings.PurchaseURL)
		}
		writes = append(writes, seats.Take(t, settings.PurchaseURL))
	}
	releases, err := licences.Releases(ctx, s.Store, t, []licences.Held{{AccountID: m.AccountID, Licence: m.Licence}})
	if err != nil {
		return accounts.Membership{}, err
	}
	writes = append(writes, releases...)
	if cmd.Licence == "" && accounts.IsActiveAdmin(m, u.Status) {
		g := s.adminGuard(t)
		if err := g.Keep(ctx, m.AccountID, u.ID); err != nil {
			return accounts.Membership{}, err
		}
		writes = append(writes, g.Checks()...)
	}
	now := s.now()
	upd := accounts.WithLicence(accounts.Edited(now), cmd.Licence)
	next := m
	next.Licence = cmd.Licence
	upd = next.WithAdminIndex(t, upd)
	writes = append(writes,
		store.Update(t.Membership(m.AccountID, u.ID), upd).If(store.AtVersion(v)).OrFail(apperr.ErrVersionConflict),
		changelog.New(t, s.IDs.NewID(), now, m.AccountID, changelog.ActorOf(c), "membership.licence_changed", "user", u.ID,
			map[string]any{"licence": m.Licence}, map[string]any{"licence": cmd.Licence}).Write(),
		accounts.Open(t, m.AccountID))
	if err := s.transact(ctx, "assign licence to "+u.ID+" in "+m.AccountID, writes); err != nil {
		return accounts.Membership{}, err
	}
	m.Licence, m.Version, m.UpdatedAt = cmd.Licence, v+1, now
	return m, nil
}
