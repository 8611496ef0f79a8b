package administration

import (
	"context"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/twofactor"
)

// ErrNoSecondFactor: there is nothing to reset.
var ErrNoSecondFactor = apperr.New(apperr.KindNotFound, "two_factor_not_enrolled", "this user has no second factor")

// ResetTwoFactor removes a user's second factors (authenticator, verified
// mobile, recovery codes): they enrol again at their next sign-in where one
// is required. Authorised exactly as an admin's password set is (users.edit
// over the user, operators administered only by operators); nobody resets
// their own. Logged with the methods removed, never a secret.
func (s *Service) ResetTwoFactor(ctx context.Context, c access.Caller, userID string) error {
	t := c.Tenant
	if userID == c.UserID {
		return ErrSelf.Withf("you cannot reset your own second factor; ask an administrator")
	}
	u, err := identity.LoadUser(ctx, s.Store, t, userID)
	if err != nil {
		return err
	}
	if err := access.RequireOverUser(ctx, s.Store, s.Access, c, access.EditUsers, u); err != nil {
		return err
	}
	var f twofactor.Factors
	found, err := s.Store.Get(ctx, t.TwoFactor(u.ID), &f)
	if err != nil {
		return err
	}
	if !found {
		return ErrNoSecondFactor
	}
	now := s.now()
	writes := []*store.Write{
		twofactor.Reset(t, u.ID, f.Version).OrFail(ErrChanged),
		changelog.New(t, s.IDs.NewID(), now, logAccount(u.HomeAccountID, c), changelog.ActorOf(c), "user.two_factor_reset", "user", u.ID,
			map[string]any{"methods": f.Methods(u)}, map[string]any{"methods": []string{}}).Write(),
	}
	writes = append(writes, homeOpen(c, u)...)
	return s.transact(ctx, "reset second factor of "+u.ID, writes)
}
