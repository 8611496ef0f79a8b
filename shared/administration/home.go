package administration

import (
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
)

// A user always has a home account while they are a member anywhere. When
// they leave it (removed from it, or it is wiped), their home moves to the
// membership newHome chooses, by homeMoveWrites, in the transaction that
// takes them out; a user who is a member nowhere else is deleted instead.

// homeMoveWrites move user u's home from account from to their membership
// home: the user's home changes (conditional on it still being from), that
// membership exists and is no longer external, and the new home account's
// change log records the move, with reason.
func (s *Service) homeMoveWrites(c access.Caller, u identity.User, from string, home accounts.Membership, reason string) []*store.Write {
	t, now := c.Tenant, s.now()
	return []*store.Write{
		identity.MoveHome(t, u.ID, from, home.AccountID, now).OrFail(ErrChanged),
		accounts.BecomeHome(t, home.AccountID, u.ID, now, ErrChanged),
		changelog.New(t, s.IDs.NewID(), now, home.AccountID, changelog.ActorOf(c), "user.home_moved", "user", u.ID,
			map[string]any{"homeAccountId": from}, map[string]any{"homeAccountId": home.AccountID, "reason": reason}).Write(),
	}
}
