package accounts

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// The typed writes of accounts and memberships: the other packages compose
// these into their transactions and never name an attribute of either item.

// Edited starts the update of an account or a membership edited at now:
// its version bumped and updatedAt set.
func Edited(now time.Time) expression.UpdateBuilder {
	return store.BumpVersion().Set(expression.Name("updatedAt"), expression.Value(now))
}

// WithName adds an account's new name to upd (its by-name index key is the
// caller's to set, with table.Tenant.AccountsByName).
func WithName(upd expression.UpdateBuilder, name string) expression.UpdateBuilder {
	return upd.Set(expression.Name("name"), expression.Value(name))
}

// WithTwoFactorRequired adds to upd whether the account refuses sessions
// without a second factor.
func WithTwoFactorRequired(upd expression.UpdateBuilder, required bool) expression.UpdateBuilder {
	return upd.Set(expression.Name("twoFactorRequired"), expression.Value(required))
}

// WithPlan adds the account's plan to upd; "" removes it (the tenant's
// default plan applies).
func WithPlan(upd expression.UpdateBuilder, planID string) expression.UpdateBuilder {
	if planID == "" {
		return upd.Remove(expression.Name("planId"))
	}
	return upd.Set(expression.Name("planId"), expression.Value(planID))
}

// WithPlanOverrides adds the account's seat overrides ("licence:<type>") to
// upd; none removes them.
func WithPlanOverrides(upd expression.UpdateBuilder, seats map[string]int64) expression.UpdateBuilder {
	if len(seats) == 0 {
		return upd.Remove(expression.Name("planOverrides"))
	}
	return upd.Set(expression.Name("planOverrides"), expression.Value(seats))
}

// IsClosed holds while an account is closed: the condition of whatever
// may only happen to a closed account (a wipe, a reopen).
func IsClosed() expression.ConditionBuilder { return store.Is("status", StatusClosed) }

// HasParent holds while an account is parentID's linked child.
func HasParent(parentID string) expression.ConditionBuilder { return store.Is("parentId", parentID) }

// Close closes account id at now (status closed, closedAt), with the
// caller's own marks in with (an update that at least bumps the version),
// conditioned on the account being active, so a close is done once.
func Close(t table.Tenant, id string, now time.Time, with expression.UpdateBuilder) *store.Write {
	upd := with.
		Set(expression.Name("status"), expression.Value(StatusClosed)).
		Set(expression.Name("closedAt"), expression.Value(now)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	return store.Update(t.Account(id), upd).If(store.Is("status", StatusActive))
}

// Reopen makes closed account a active again at now (closedAt removed,
// reopenedAt set), conditioned on the account being as read (its version)
// and still closed, and on still (the caller's own condition).
func Reopen(t table.Tenant, a Account, now time.Time, still expression.ConditionBuilder) *store.Write {
	upd := store.BumpVersion().
		Set(expression.Name("status"), expression.Value(StatusActive)).
		Set(expression.Name("reopenedAt"), expression.Value(now)).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Remove(expression.Name("closedAt"))
	return store.Update(t.Account(a.ID), upd).If(store.AtVersion(a.Version).And(IsClosed()).And(still))
}

// WithRoles adds a membership's roles to upd (its admin index follows with
// WithAdminIndex).
func WithRoles(upd expression.UpdateBuilder, roles []string) expression.UpdateBuilder {
	return upd.Set(expression.Name("roles"), expression.Value(types.AttributeValueMemberSS{Value: roles}))
}

// WithLicence adds a membership's licence type to upd; "" removes it (the
// member can no longer sign in to the account).
func WithLicence(upd expression.UpdateBuilder, licence string) expression.UpdateBuilder {
	if licence == "" {
		return upd.Remove(expression.Name("licence"))
	}
	return upd.Set(expression.Name("licence"), expression.Value(licence))
}

// HoldsLicence holds for a membership holding licence (a filter of an
// account's memberships).
func HoldsLicence(licence string) expression.ConditionBuilder {
	return expression.Name("licence").Equal(expression.Value(licence))
}

// BecomeHome makes userID's membership of accountID their home membership
// at now (no longer external), conditioned on the membership existing,
// else fail.
func BecomeHome(t table.Tenant, accountID, userID string, now time.Time, fail error) *store.Write {
	return store.Update(t.Membership(accountID, userID), Edited(now).Remove(expression.Name("external"))).
		If(store.Exists()).OrFail(fail)
}

// IsActive holds while an account is active (not closed).
func IsActive() expression.ConditionBuilder { return store.Is("status", StatusActive) }

// NoParent holds while an account is nobody's linked child.
func NoParent() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name("parentId"))
}

// WithParent adds an account's parent to upd; "" removes it (unlinked).
func WithParent(upd expression.UpdateBuilder, parentID string) expression.UpdateBuilder {
	if parentID == "" {
		return upd.Remove(expression.Name("parentId"))
	}
	return upd.Set(expression.Name("parentId"), expression.Value(parentID))
}

// NoChildren holds while an account has no linked child (a child cannot be
// a parent).
func NoChildren() expression.ConditionBuilder {
	n := expression.Name("childCount")
	return expression.AttributeNotExists(n).Or(n.Equal(expression.Value(0)))
}

// FewerChildrenThan holds while an account has fewer than max linked
// children, so one more fits.
func FewerChildrenThan(max int) expression.ConditionBuilder {
	n := expression.Name("childCount")
	return expression.AttributeNotExists(n).Or(n.LessThan(expression.Value(max)))
}

// HasChildren holds while an account counts at least one linked child, so
// taking one away never makes the count negative.
func HasChildren() expression.ConditionBuilder {
	return expression.Name("childCount").GreaterThan(expression.Value(0))
}

// WithChildren adds delta (one more child, or one fewer) to an account's
// count of linked children in upd.
func WithChildren(upd expression.UpdateBuilder, delta int) expression.UpdateBuilder {
	return upd.Add(expression.Name("childCount"), expression.Value(delta))
}

// CountsChildren holds while an account's count of linked children is n
// as read (an absent count is not 0 here).
func CountsChildren(n int64) expression.ConditionBuilder { return store.Is("childCount", n) }

// WithChildCount sets an account's count of linked children to n in upd;
// 0 removes it, so the account is no longer a parent.
func WithChildCount(upd expression.UpdateBuilder, n int64) expression.UpdateBuilder {
	if n == 0 {
		return upd.Remove(expression.Name("childCount"))
	}
	return upd.Set(expression.Name("childCount"), expression.Value(n))
}

// HoldsALicence holds while a membership holds some licence: without one
// the member cannot sign in to the account.
func HoldsALicence() expression.ConditionBuilder {
	return expression.AttributeExists(expression.Name("licence"))
}

// HoldsNoLicence holds for a membership without a licence.
func HoldsNoLicence() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name("licence"))
}

// HasRole holds for a membership holding role (and for an invitation's
// entry in the account, which names the roles it offers alike: the users
// list filters both).
func HasRole(role string) expression.ConditionBuilder {
	return expression.Name("roles").Contains(role)
}

// IsExternal holds for a membership whose user's home account is elsewhere.
func IsExternal() expression.ConditionBuilder {
	return expression.Name("external").Equal(expression.Value(true))
}

// IsNotExternal holds for a membership in its user's home account.
func IsNotExternal() expression.ConditionBuilder {
	n := expression.Name("external")
	return expression.AttributeNotExists(n).Or(n.Equal(expression.Value(false)))
}

// WithEmail adds the email a membership copies from its user to upd (its
// by-email and by-name index keys are the caller's to set, with
// table.Tenant.AccountMembersByEmail and NameIndex).
func WithEmail(upd expression.UpdateBuilder, email string) expression.UpdateBuilder {
	return upd.Set(expression.Name("email"), expression.Value(email))
}
