package invitations

import (
	"context"
	"slices"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// Seats. A pending invitation reserves a seat of its licence in each target
// account where the licence is metered (shared/licences): the write that
// creates it (or brings an expired one back with a resend) adds one to the
// pool's "reserved" and "held" under the condition held < seats, so an
// account is never invited beyond its free seats (409 no_free_seat, with the
// pool's figures and the tenant's purchaseUrl) and an accept never fails for
// seats. The write that accepts converts the reservation into a used seat
// (or releases it where the invitee was a member already); revoke and
// expiry release it; each in the transaction that changes the status.

// licenceOf is the licence an invitation gives.
func licenceOf(inv Invitation, settings tenancy.Settings) string {
	if inv.Licence != "" {
		return inv.Licence
	}
	return settings.Licence()
}

// seatsFor reads the seats of licence in the target accounts.
func (s *Service) seatsFor(ctx context.Context, t table.Tenant, settings tenancy.Settings, accs map[string]accounts.Account,
	targets []string, licence string) (map[string]licences.Seats, error) {
	list := make([]accounts.Account, 0, len(targets))
	for _, a := range targets {
		list = append(list, accs[a])
	}
	seats, err := plans.SeatsOf(ctx, s.Store, t, settings.Catalogue(), list, licence)
	if err != nil {
		return nil, err
	}
	out := make(map[string]licences.Seats, len(seats))
	for _, st := range seats {
		out[st.AccountID] = st
	}
	return out, nil
}

// enoughSeats refuses up front (409 no_free_seat) when an account has fewer
// free seats than the invitations a request would make there; the
// reservations' conditions decide for good.
func enoughSeats(seats map[string]licences.Seats, needed map[string]int, purchaseURL string) error {
	ids := make([]string, 0, len(needed))
	for a := range needed {
		ids = append(ids, a)
	}
	slices.Sort(ids)
	for _, a := range ids {
		if st, ok := seats[a]; ok && st.Metered && st.Free() < int64(needed[a]) {
			return st.NoFreeSeat(purchaseURL)
		}
	}
	return nil
}

// reservations are the writes that reserve a seat in each metered target,
// and the accounts reserved.
func reservations(t table.Tenant, seats map[string]licences.Seats, targets []string, purchaseURL string) ([]*store.Write, []string) {
	var writes []*store.Write
	var reserved []string
	for _, a := range targets {
		st, ok := seats[a]
		if !ok || !st.Metered {
			continue
		}
		writes = append(writes, st.Reserve(t, purchaseURL))
		reserved = append(reserved, a)
	}
	return writes, reserved
}

// releases are the writes that give back a pending invitation's seats.
// (Only invitations that name their licence hold seats.)
func releases(t table.Tenant, inv Invitation) []*store.Write {
	var out []*store.Write
	for _, a := range inv.Reserved {
		out = append(out, licences.Unreserve(t, a, inv.Licence))
	}
	return out
}
