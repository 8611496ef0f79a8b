package administration

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// IsActiveAdmin reports whether m, of a user with status userStatus, makes
// that user an active Admin of m's account: the Admin role, a licence (so
// they can sign in there) and an active user.
func IsActiveAdmin(m accounts.Membership, userStatus string) bool {
	return slices.Contains(m.Roles, access.RoleAdmin) && m.Licence != "" && userStatus == identity.UserActive
}

// adminMembership is the condition IsActiveAdmin puts on a membership.
func adminMembership() expression.ConditionBuilder {
	return expression.Name("roles").Contains(access.RoleAdmin).And(expression.AttributeExists(expression.Name("licence")))
}

// adminGuard collects the checks that keep accounts administrable, once per
// item (a transaction may name an item only once).
type adminGuard struct {
	t      table.Tenant
	checks []*store.Write
	seen   map[table.Key]bool
}

func newAdminGuard(t table.Tenant) *adminGuard { return &adminGuard{t: t, seen: map[table.Key]bool{}} }

func (g *adminGuard) add(k table.Key, w *store.Write) {
	if !g.seen[k] {
		g.seen[k] = true
		g.checks = append(g.checks, w)
	}
}

// keep finds an active Admin of accountID other than the leaving users and
// adds the checks that prove at commit that they still are one: their
// membership still holds Admin and a licence, and their user is active. If
// there is none, the change would leave the account without one: 409.
//
// Finding one reads the account's members that hold Admin and a licence
// (a filtered Query on the account's partition) and their users, page by
// page until one is active; admins are few, and this runs only when an
// admin is about to stop being one.
func (s *Service) keep(ctx context.Context, g *adminGuard, accountID string, leaving ...string) error {
	t := g.t
	filter := adminMembership()
	q := store.Query{Partition: t.AccountPartition(accountID), SKPrefix: table.MembershipPrefix, Filter: &filter, Limit: 200}
	for {
		page, err := s.Store.QueryPage(ctx, q)
		if err != nil {
			return fmt.Errorf("find another admin of %s: %w", accountID, err)
		}
		var ms []accounts.Membership
		if err := page.Decode(&ms); err != nil {
			return fmt.Errorf("find another admin of %s: %w", accountID, err)
		}
		var keys []table.Key
		for _, m := range ms {
			if !slices.Contains(leaving, m.UserID) {
				keys = append(keys, t.User(m.UserID))
			}
		}
		users, err := s.Store.GetMany(ctx, keys)
		if err != nil {
			return fmt.Errorf("find another admin of %s: %w", accountID, err)
		}
		for _, m := range ms {
			var u identity.User
			ok, err := decode(users, t.User(m.UserID), &u)
			if err != nil {
				return err
			}
			if ok && !slices.Contains(leaving, m.UserID) && IsActiveAdmin(m, u.Status) {
				g.add(t.Membership(accountID, u.ID), store.Check(t.Membership(accountID, u.ID), adminMembership()).OrFail(ErrLastAdmin))
				g.add(t.User(u.ID), store.Check(t.User(u.ID), store.Is("status", identity.UserActive)).OrFail(ErrLastAdmin))
				return nil
			}
		}
		if page.Cursor == "" {
			return ErrLastAdmin
		}
		q.Cursor = page.Cursor
	}
}
