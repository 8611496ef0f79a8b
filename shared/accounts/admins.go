package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// An account can never be left without an active Admin: a user with status
// active whose membership there holds the Admin role and a licence (so they
// can sign in to it). The rule of what makes a membership an admin one lives
// here, once: HoldsAdmin decides it, AdminIndex and WithAdminIndex keep the
// sparse index of an account's admins (table.AccountAdmins) in step with it
// in the same write that creates a membership or changes its roles or
// licence, AdminCondition re-checks it at commit, and AdminGuard uses all
// three to refuse (409) whatever would take the last active Admin away.

// HoldsAdmin reports whether m gives its user the Admin role with a licence
// in m's account; with an active user, that makes them an active Admin.
func (m Membership) HoldsAdmin() bool {
	return slices.Contains(m.Roles, RoleAdmin) && m.Licence != ""
}

// IsActiveAdmin reports whether m, of a user with status userStatus, makes
// that user an active Admin of m's account.
func IsActiveAdmin(m Membership, userStatus string) bool {
	return m.HoldsAdmin() && userStatus == identity.UserActive
}

// AdminIndex is the admin index key m carries: the account's admins
// partition when m holds Admin and a licence, else none (zero, omitted).
func (m Membership) AdminIndex(t table.Tenant) table.IndexKey {
	if !m.HoldsAdmin() {
		return table.IndexKey{}
	}
	return t.AccountAdmins(m.AccountID, m.UserID)
}

// WithAdminIndex adds to upd the index keys of m as it will be after the
// update (its new roles and licence): set when it holds Admin and a
// licence, removed otherwise. Every update of a membership's roles or
// licence goes through it, so the index never drifts from the rule; the
// update's version condition guarantees that the attributes not changed
// are still those m was read with.
func (m Membership) WithAdminIndex(t table.Tenant, upd expression.UpdateBuilder) expression.UpdateBuilder {
	ix := m.AdminIndex(t)
	if ix.PK == "" {
		return upd.Remove(expression.Name(table.AttrGSI3PK)).Remove(expression.Name(table.AttrGSI3SK))
	}
	return upd.Set(expression.Name(table.AttrGSI3PK), expression.Value(ix.PK)).Set(expression.Name(table.AttrGSI3SK), expression.Value(ix.SK))
}

// AdminCondition holds on a membership item that holds Admin and a
// licence: HoldsAdmin, checked by DynamoDB at commit.
func AdminCondition() expression.ConditionBuilder {
	return expression.Name("roles").Contains(RoleAdmin).And(expression.AttributeExists(expression.Name("licence")))
}

// adminPage is how many admin index keys one Query reads; accounts rarely
// have more admins than that.
const adminPage = 25

// AdminGuard collects, for one transaction, the checks that keep accounts
// administrable: for each account that is losing an active Admin, another
// active Admin whose membership (still Admin with a licence) and user
// (still active) are ConditionChecked at commit. DynamoDB serialises
// transactions that touch the same items, so of two admins demoting or
// removing each other at the same moment exactly one succeeds: the other's
// check finds its chosen admin changed. Each item is checked once (a
// transaction may name an item only once).
type AdminGuard struct {
	store     *store.Store
	tenant    table.Tenant
	lastAdmin error // no other active Admin exists
	changed   error // the chosen admin stopped being one before commit
	checks    []*store.Write
	seen      map[table.Key]bool
}

// NewAdminGuard returns a guard of tenant t's accounts. Keep returns
// lastAdmin when an account has no other active Admin; the commit checks
// fail with changed (callers that retry pass their own error, the others
// lastAdmin again).
func NewAdminGuard(s *store.Store, t table.Tenant, lastAdmin, changed error) *AdminGuard {
	return &AdminGuard{store: s, tenant: t, lastAdmin: lastAdmin, changed: changed, seen: map[table.Key]bool{}}
}

// Checks are the ConditionChecks to add to the transaction.
func (g *AdminGuard) Checks() []*store.Write { return g.checks }

func (g *AdminGuard) add(w *store.Write, k table.Key) {
	if !g.seen[k] {
		g.seen[k] = true
		g.checks = append(g.checks, w)
	}
}

// Keep finds an active Admin of accountID other than the leaving users and
// adds the checks that prove at commit that they still are one; with none,
// the change would leave the account without one: lastAdmin.
//
// It reads only the account's admins, never its members: a Query of the
// sparse admin index (GSI3, keys only), then one BatchGetItem of those
// memberships and users, strongly consistent. The index is eventually
// consistent: an admin demoted a moment ago may still be listed (their
// membership, read again, says so and they are skipped), one promoted a
// moment ago may not be yet (a 409 that a retry clears); the commit checks
// are what make the guard safe.
func (g *AdminGuard) Keep(ctx context.Context, accountID string, leaving ...string) error {
	t := g.tenant
	q := store.Query{Index: table.GSI3, Partition: t.AccountAdmins(accountID, "").PK, Limit: adminPage}
	for {
		page, err := g.store.QueryPage(ctx, q)
		if err != nil {
			return fmt.Errorf("find another admin of %s: %w", accountID, err)
		}
		var candidates []string
		var keys []table.Key
		for _, it := range page.Items {
			userID := strings.TrimPrefix(store.KeyOf(it).SK, table.MembershipPrefix)
			if !slices.Contains(leaving, userID) {
				candidates = append(candidates, userID)
				keys = append(keys, t.Membership(accountID, userID), t.User(userID))
			}
		}
		items, err := g.store.GetMany(ctx, keys)
		if err != nil {
			return fmt.Errorf("find another admin of %s: %w", accountID, err)
		}
		for _, userID := range candidates {
			mi, okM := items[t.Membership(accountID, userID)]
			ui, okU := items[t.User(userID)]
			if !okM || !okU {
				continue
			}
			var m Membership
			var u identity.User
			if err := attributevalue.UnmarshalMap(mi, &m); err != nil {
				return fmt.Errorf("decode membership of %s in %s: %w", userID, accountID, err)
			}
			if err := attributevalue.UnmarshalMap(ui, &u); err != nil {
				return fmt.Errorf("decode user %s: %w", userID, err)
			}
			if IsActiveAdmin(m, u.Status) {
				g.add(store.Check(t.Membership(accountID, userID), AdminCondition()).OrFail(g.changed), t.Membership(accountID, userID))
				g.add(identity.StillActive(t, userID).OrFail(g.changed), t.User(userID))
				return nil
			}
		}
		if page.Cursor == "" {
			return g.lastAdmin
		}
		q.Cursor = page.Cursor
	}
}
