package administration

import (
	"context"
	"errors"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/table"
)

// adminGuard is the last-admin guard of this package's changes: the one
// shared implementation, accounts.AdminGuard (shared/associates uses it
// too). It reads only the account's admins (the sparse admin index), never
// its members. Both "no other active Admin" and "the Admin it found
// stopped being one before commit" answer 409 last_admin.
func (s *Service) adminGuard(t table.Tenant) *accounts.AdminGuard {
	return accounts.NewAdminGuard(s.Store, t, ErrLastAdmin, errAdminChanged)
}

// errAdminChanged: the other Admin the guard chose stopped being one
// before the change committed. The change is then decided again (another
// Admin may remain), at most maxAdminRetries times, then 409 last_admin.
var errAdminChanged = errors.New("the other admin changed meanwhile")

const maxAdminRetries = 4

// retryAdmin runs a change guarded by the last-admin guard, again while the
// Admin it chose changes under it.
func retryAdmin[T any](change func() (T, error)) (T, error) {
	for range maxAdminRetries {
		v, err := change()
		if !errors.Is(err, errAdminChanged) {
			return v, err
		}
	}
	var zero T
	return zero, ErrLastAdmin
}

// keepAdmins has g keep an active Admin in every account of ms where u is
// one. The refusal names the account; when the caller does not administer
// it (u is an Admin of an account outside the caller's reach), it says that
// a tenant operator can resolve it, so that the home account's Admins know
// whom to ask.
func (s *Service) keepAdmins(ctx context.Context, c access.Caller, g *accounts.AdminGuard, u identity.User, ms []accounts.Membership) error {
	for _, m := range ms {
		if !accounts.IsActiveAdmin(m, u.Status) {
			continue
		}
		err := g.Keep(ctx, m.AccountID, u.ID)
		if !errors.Is(err, ErrLastAdmin) {
			if err != nil {
				return err
			}
			continue
		}
		if s.Access.Require(ctx, c, access.EditUsers, m.AccountID) != nil {
			return ErrLastAdmin.Withf("%s is the last active Admin of account %s, which you do not administer: a tenant operator can resolve this (make someone else Admin there first)",
				u.Email, m.AccountID).With("accountId", m.AccountID)
		}
		return ErrLastAdmin.Withf("%s is the last active Admin of account %s: make someone else Admin first", u.Email, m.AccountID).With("accountId", m.AccountID)
	}
	return nil
}
