package identity

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// The writes and checks of the user, email-claim and session items that
// other packages compose into their transactions. Each names no domain
// error: the caller adds the one its condition means (OrFail).

// UserDeleted is the status of a deleted user's tombstone.
const UserDeleted = "deleted"

// Tombstone turns u into a deleted user's tombstone at the version read:
// status deleted, every session revoked (the epoch moves), and the
// password, phone, home account and email-directory keys removed. The item
// stays so that content the user owned still shows whose it was.
func Tombstone(t table.Tenant, u User, now time.Time) *store.Write {
	upd := store.BumpVersion().
		Set(expression.Name("status"), expression.Value(UserDeleted)).
		Set(expression.Name("deletedAt"), expression.Value(now)).
		Set(expression.Name("sessionEpoch"), expression.Value(u.SessionEpoch+1)).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Remove(expression.Name("passwordHash")).Remove(expression.Name("phone")).
		Remove(expression.Name("homeAccountId")).
		Remove(expression.Name(table.AttrGSI2PK)).Remove(expression.Name(table.AttrGSI2SK))
	return store.Update(t.User(u.ID), upd).If(store.AtVersion(u.Version))
}

// ReleaseEmail deletes the claim of email, only while it is still userID's:
// a claim taken over meanwhile is not another user's to lose.
func ReleaseEmail(t table.Tenant, email, userID string) *store.Write {
	return store.Delete(t.EmailClaim(email)).If(emailClaimedBy(userID))
}

// EmailStillClaimed checks that email is still claimed by userID (no email
// change since it was read).
func EmailStillClaimed(t table.Tenant, email, userID string) *store.Write {
	return store.Check(t.EmailClaim(email), emailClaimedBy(userID))
}

func emailClaimedBy(userID string) expression.ConditionBuilder { return store.Is("userId", userID) }

// SetPassword sets u's password hash and revokes all their sessions (the
// epoch moves), at the version read.
func SetPassword(t table.Tenant, u User, hash string, now time.Time) *store.Write {
	upd := store.BumpVersion().
		Set(expression.Name("passwordHash"), expression.Value(hash)).
		Set(expression.Name("sessionEpoch"), expression.Value(u.SessionEpoch+1)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	return store.Update(t.User(u.ID), upd).If(store.AtVersion(u.Version))
}

// MoveHome makes to the home account of userID, only while it is still
// from (the home read).
func MoveHome(t table.Tenant, userID, from, to string, now time.Time) *store.Write {
	return store.Update(t.User(userID), store.BumpVersion().
		Set(expression.Name("homeAccountId"), expression.Value(to)).
		Set(expression.Name("updatedAt"), expression.Value(now))).
		If(store.Is("homeAccountId", from))
}

// Suspend stops u signing in and revokes all their sessions (the epoch
// moves), at the version read.
func Suspend(t table.Tenant, u User, now time.Time) *store.Write {
	upd := store.BumpVersion().
		Set(expression.Name("status"), expression.Value(UserSuspended)).
		Set(expression.Name("sessionEpoch"), expression.Value(u.SessionEpoch+1)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	return store.Update(t.User(u.ID), upd).If(store.AtVersion(u.Version))
}

// Reactivate lets suspended u sign in again, at the version read; their
// old sessions stay revoked.
func Reactivate(t table.Tenant, u User, now time.Time) *store.Write {
	upd := store.BumpVersion().
		Set(expression.Name("status"), expression.Value(UserActive)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	return store.Update(t.User(u.ID), upd).If(store.AtVersion(u.Version))
}

// SignOutEverywhere revokes every session of userID (the epoch moves by
// one, whatever it was), if the user exists.
func SignOutEverywhere(t table.Tenant, userID string, now time.Time) *store.Write {
	upd := store.BumpVersion().
		Add(expression.Name("sessionEpoch"), expression.Value(1)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	return store.Update(t.User(userID), upd).If(store.Exists())
}

// AtEpoch checks that userID's session epoch is still epoch: no password
// change, suspension or sign-out everywhere since it was read.
func AtEpoch(t table.Tenant, userID string, epoch int64) *store.Write {
	return store.Check(t.User(userID), atEpoch(epoch))
}

// StillActive checks that userID is still an active user.
func StillActive(t table.Tenant, userID string) *store.Write {
	return store.Check(t.User(userID), isActive())
}

// ActiveAtEpoch checks that userID is still active at session epoch epoch.
func ActiveAtEpoch(t table.Tenant, userID string, epoch int64) *store.Write {
	return store.Check(t.User(userID), isActive().And(atEpoch(epoch)))
}

func atEpoch(epoch int64) expression.ConditionBuilder { return store.Is("sessionEpoch", epoch) }

func isActive() expression.ConditionBuilder { return store.Is("status", UserActive) }

// VerifyEmail marks u's address as proven, while u is still active, at the
// session epoch read and with the address email the proof was sent to.
func VerifyEmail(t table.Tenant, u User, email string, now time.Time) *store.Write {
	return store.Update(t.User(u.ID), store.BumpVersion().
		Remove(expression.Name("emailUnverified")).
		Set(expression.Name("updatedAt"), expression.Value(now))).
		If(isActive().And(atEpoch(u.SessionEpoch)).And(store.Is("email", email)))
}

// StillOperator checks that userID is still a tenant operator.
func StillOperator(t table.Tenant, userID string) *store.Write {
	return store.Check(t.User(userID), store.Is("operator", true))
}

// RevokeSession signs out the session of token hash, only while it is the
// session sessionID.
func RevokeSession(t table.Tenant, tokenHash, sessionID string) *store.Write {
	upd := expression.Set(expression.Name("revoked"), expression.Value(true))
	return store.Update(t.Session(tokenHash), upd).If(store.Exists().And(store.Is("id", sessionID)))
}

// SwitchSession moves the session of token hash into accountID, with the
// reason an operator gave when they enter it as support (kept only then),
// only while it is the session sessionID and not revoked.
func SwitchSession(t table.Tenant, tokenHash, sessionID, accountID string, asSupport bool, reason string) *store.Write {
	upd := expression.Set(expression.Name("accountId"), expression.Value(accountID))
	if asSupport {
		upd = upd.Set(expression.Name("supportReason"), expression.Value(reason))
	} else {
		upd = upd.Remove(expression.Name("supportReason"))
	}
	return store.Update(t.Session(tokenHash), upd).
		If(store.Is("id", sessionID).And(expression.AttributeNotExists(expression.Name("revoked")).
			Or(store.Is("revoked", false))))
}

// ProfileUpdate writes edited's names, phone, time zone and email where
// they differ from u's (an emptied phone or time zone is removed; a new
// email also moves the user in the directory by email; the email claim is
// the caller's to move, with ReleaseEmail and NewEmailClaim). It holds at
// version v and at u's status read, so another edit, a suspension or a
// deletion meanwhile fails it, and at the conditions also.
func ProfileUpdate(t table.Tenant, u, edited User, v int64, now time.Time, also ...expression.ConditionBuilder) *store.Write {
	upd := store.BumpVersion().Set(expression.Name("updatedAt"), expression.Value(now))
	for _, f := range []struct {
		attr      string
		old, val  string
		clearable bool
	}{
		{"firstName", u.FirstName, edited.FirstName, false},
		{"lastName", u.LastName, edited.LastName, false},
		{"phone", u.Phone, edited.Phone, true},
		{"timeZone", u.TimeZone, edited.TimeZone, true},
	} {
		switch {
		case f.val == f.old:
		case f.val == "" && f.clearable:
			upd = upd.Remove(expression.Name(f.attr))
		default:
			upd = upd.Set(expression.Name(f.attr), expression.Value(f.val))
		}
	}
	if edited.Email != u.Email {
		ix := t.UsersByEmail(edited.Email)
		upd = upd.Set(expression.Name("email"), expression.Value(edited.Email)).
			Set(expression.Name(table.AttrGSI2PK), expression.Value(ix.PK)).
			Set(expression.Name(table.AttrGSI2SK), expression.Value(ix.SK))
	}
	cond := store.AtVersion(v).And(store.Is("status", u.Status))
	for _, c := range also {
		cond = cond.And(c)
	}
	return store.Update(t.User(u.ID), upd).If(cond)
}

// MembershipCopy goes in the transaction that creates a membership copying
// u's email and names as read: the user must still be active with the
// values copied, and its MembershipEpoch is bumped (never its version, the
// profile's ETag). Racing creations for one user thus all succeed (a bump
// does not change what they copied), and a profile edit racing with one of
// them still cannot leave a stale copy: an edit committed first changes a
// copied field (this fails; the writer re-reads the user and copies
// again), and an edit that read the user before this commits fails on the
// epoch this bumps (AtMembershipEpoch) and copies again, while the ETag
// its caller holds stays valid.
func MembershipCopy(t table.Tenant, u User) *store.Write {
	cond := isActive().
		And(copied("email", u.Email)).And(copied("firstName", u.FirstName)).And(copied("lastName", u.LastName))
	return store.Update(t.User(u.ID), expression.Add(expression.Name("membershipEpoch"), expression.Value(1))).If(cond)
}

// AtMembershipEpoch holds while no membership copying the user was created
// since u was read: the condition of a write that copies u's email or names
// to the memberships read with u.
func AtMembershipEpoch(u User) expression.ConditionBuilder {
	if u.MembershipEpoch == 0 {
		return expression.AttributeNotExists(expression.Name("membershipEpoch")).Or(store.Is("membershipEpoch", 0))
	}
	return store.Is("membershipEpoch", u.MembershipEpoch)
}

// copied holds when attribute name still has value (an empty value also
// matches an absent attribute).
func copied(name, value string) expression.ConditionBuilder {
	if value == "" {
		return expression.AttributeNotExists(expression.Name(name)).Or(store.Is(name, ""))
	}
	return store.Is(name, value)
}
