package administration

import (
	"context"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
)

// Suspend stops a user everywhere: status suspended (sign-in refused) and
// the session epoch moved, so every session is refused on its next request.
// Not yourself; not the last active Admin of any account they administer
// (each such account's other admin is checked in the same transaction).
// Needs users.edit over the user (their home account's Admins, operators).
// Suspending a suspended user changes nothing.
func (s *Service) Suspend(ctx context.Context, c access.Caller, userID string) (identity.User, error) {
	return retryAdmin(func() (identity.User, error) { return s.suspend(ctx, c, userID) })
}

func (s *Service) suspend(ctx context.Context, c access.Caller, userID string) (identity.User, error) {
	t := c.Tenant
	if userID == c.UserID {
		return identity.User{}, ErrSelf.Withf("you cannot suspend yourself")
	}
	u, err := identity.LoadUser(ctx, s.Store, t, userID)
	if err != nil {
		return identity.User{}, err
	}
	if err := access.RequireOverUser(ctx, s.Store, s.Access, c, access.EditUsers, u); err != nil {
		return identity.User{}, err
	}
	if u.Status == identity.UserSuspended {
		return u, nil
	}
	var writes []*store.Write
	if u.Status == identity.UserActive {
		ms, err := s.memberships(ctx, t, u.ID)
		if err != nil {
			return identity.User{}, err
		}
		g := s.adminGuard(t)
		if err := s.keepAdmins(ctx, c, g, u, ms); err != nil {
			return identity.User{}, err
		}
		writes = g.Checks()
	}
	now := s.now()
	writes = append(writes,
		identity.Suspend(t, u, now).OrFail(ErrChanged),
		changelog.New(t, s.IDs.NewID(), now, logAccount(u.HomeAccountID, c), changelog.ActorOf(c), "user.suspended", "user", u.ID,
			map[string]any{"status": u.Status}, map[string]any{"status": identity.UserSuspended}).Write())
	writes = append(writes, homeOpen(c, u)...)
	if err := s.transact(ctx, "suspend "+u.ID, writes); err != nil {
		return identity.User{}, err
	}
	u.Status, u.SessionEpoch, u.Version, u.UpdatedAt = identity.UserSuspended, u.SessionEpoch+1, u.Version+1, now
	return u, nil
}

// Reactivate lets a suspended user sign in again (their old sessions stay
// revoked). Reactivating an active user changes nothing.
func (s *Service) Reactivate(ctx context.Context, c access.Caller, userID string) (identity.User, error) {
	t := c.Tenant
	u, err := identity.LoadUser(ctx, s.Store, t, userID)
	if err != nil {
		return identity.User{}, err
	}
	if err := access.RequireOverUser(ctx, s.Store, s.Access, c, access.EditUsers, u); err != nil {
		return identity.User{}, err
	}
	switch u.Status {
	case identity.UserActive:
		return u, nil
	case identity.UserSuspended:
	default:
		return identity.User{}, apperr.New(apperr.KindConflict, "not_suspended", "only a suspended user can be reactivated")
	}
	now := s.now()
	err = s.transact(ctx, "reactivate "+u.ID, append([]*store.Write{
		identity.Reactivate(t, u, now).OrFail(ErrChanged),
		changelog.New(t, s.IDs.NewID(), now, logAccount(u.HomeAccountID, c), changelog.ActorOf(c), "user.reactivated", "user", u.ID,
			map[string]any{"status": u.Status}, map[string]any{"status": identity.UserActive}).Write(),
	}, homeOpen(c, u)...))
	if err != nil {
		return identity.User{}, err
	}
	u.Status, u.Version, u.UpdatedAt = identity.UserActive, u.Version+1, now
	return u, nil
}

// SignOutEverywhere revokes every session of a user at once (the session
// epoch moves; the session check compares it on every request). Users sign
// themselves out everywhere; others need users.edit over them.
func (s *Service) SignOutEverywhere(ctx context.Context, c access.Caller, userID string) error {
	t := c.Tenant
	u, err := identity.LoadUser(ctx, s.Store, t, userID)
	if err != nil {
		return err
	}
	if u.ID != c.UserID {
		if err := access.RequireOverUser(ctx, s.Store, s.Access, c, access.EditUsers, u); err != nil {
			return err
		}
	}
	now := s.now()
	writes := []*store.Write{
		identity.SignOutEverywhere(t, u.ID, now).OrFail(apperr.ErrNotFound),
		changelog.New(t, s.IDs.NewID(), now, logAccount(u.HomeAccountID, c), changelog.ActorOf(c), "user.signed_out_everywhere", "user", u.ID,
			nil, map[string]any{"sessions": "revoked"}).Write(),
	}
	if u.ID != c.UserID {
		writes = append(writes, homeOpen(c, u)...)
	}
	return s.transact(ctx, "sign out "+u.ID+" everywhere", writes)
}
