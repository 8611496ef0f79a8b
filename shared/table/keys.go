package table

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Every key the service reads or writes is built here, by pure functions, each
// with the access pattern it serves. Keys are built from a Tenant, so no code
// can address an item without naming its tenant. The one exception is the due
// index (GSI3), a per-day bucket read by the scheduled jobs across tenants; its
// sort key carries the tenant and the item it points to is tenant-keyed.
//
// Layout ("t" tenant, "a" account, "u" user, "i" invitation):
//
//	PK                     SK                 what                        GSIs
//	T#t                    TENANT             tenant settings             -
//	T#t                    ROLE#name          custom role                 -
//	T#t#EMAIL#email        EMAIL              email uniqueness -> user    -
//	T#t#U#u                USER               user profile                GSI2 users by email
//	T#t#U#u                ACCESS#id          access history entry        -
//	T#t#S#hash             SESSION            session by token hash       GSI1 a user's sessions
//	T#t#SIGNIN#email       THROTTLE           failed sign-in counter      -
//	T#t#A#a                ACCOUNT            account                     GSI2 accounts by name
//	T#t#A#a                MEMBER#u           membership                  GSI1 a user's accounts
//	T#t#A#a                LOG#id             change-log entry            GSI1 changes about a user
//	T#t#A#a                INVITE#i           invitation in an account    GSI1 by account+status
//	T#t#A#a                PENDING#email      one pending invite/email    -
//	T#t#I#i                INVITATION         invitation                  GSI3 due by expiry day
//	T#t#IDEM#scope#key     IDEMPOTENCY        stored first response       -

// Key is an item's primary key.
type Key struct{ PK, SK string }

// AV is the key as DynamoDB attribute values.
func (k Key) AV() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: k.PK},
		AttrSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

// IndexKey is the pair of index attributes an item carries for one GSI.
type IndexKey struct{ PK, SK string }

// Tenant builds the keys of one tenant's items.
type Tenant struct{ id string }

// ErrNoTenant is returned when a key is requested without a tenant.
var ErrNoTenant = errors.New("table: a tenant id is required to build a key")

// ForTenant returns the key builder of tenant id. The id must be non-empty
// and must not contain '#', the key separator.
func ForTenant(id string) (Tenant, error) {
	if id == "" || strings.ContainsAny(id, "#.") || len(id) > 64 {
		return Tenant{}, fmt.Errorf("%w (got %q)", ErrNoTenant, id)
	}
	return Tenant{id: id}, nil
}

// MustTenant is ForTenant for ids already validated (tests, seeds, authorizer output).
func MustTenant(id string) Tenant {
	t, err := ForTenant(id)
	if err != nil {
		panic(err)
	}
	return t
}

// ID is the tenant id.
func (t Tenant) ID() string { return t.id }

func (t Tenant) prefix() string { return "T#" + t.id }

// Settings: read the tenant's policy (default role, password policy). GetItem.
func (t Tenant) Settings() Key { return Key{t.prefix(), "TENANT"} }

// Role: read one custom role; Query begins_with(SK, "ROLE#") lists them.
func (t Tenant) Role(name string) Key { return Key{t.prefix(), "ROLE#" + name} }

// EmailClaim: the uniqueness item of an email address inside the tenant. Put
// with attribute_not_exists(PK) in the transaction that creates or re-emails a
// user, so two users can never share an email. GetItem resolves email -> user.
func (t Tenant) EmailClaim(email string) Key { return Key{t.prefix() + "#EMAIL#" + email, "EMAIL"} }

// User: read or update a user by id. GetItem.
func (t Tenant) User(userID string) Key { return Key{t.prefix() + "#U#" + userID, "USER"} }

// UsersByEmail: the directory of users ordered by email (GSI2); Query with
// begins_with on the sort key searches by email prefix.
func (t Tenant) UsersByEmail(email string) IndexKey {
	return IndexKey{t.prefix() + "#USERS", "EMAIL#" + email}
}

// AccessEntry: one sign-in or account switch of a user; Query begins_with(SK,
// "ACCESS#") newest first reads the access history.
func (t Tenant) AccessEntry(userID, entryID string) Key {
	return Key{t.prefix() + "#U#" + userID, "ACCESS#" + entryID}
}

// AccessHistoryPrefix is the SK prefix of access history entries.
const AccessHistoryPrefix = "ACCESS#"

// Session: the authorizer's GetItem on every request, by the token's SHA-256.
func (t Tenant) Session(tokenHash string) Key { return Key{t.prefix() + "#S#" + tokenHash, "SESSION"} }

// UserSessions: a user's sessions (GSI1), newest last, to list or revoke them.
func (t Tenant) UserSessions(userID string, created time.Time) IndexKey {
	return IndexKey{t.prefix() + "#U#" + userID, "SESSION#" + created.UTC().Format(time.RFC3339Nano)}
}

// SignInThrottle: the failed sign-in counter of an email, existing or not, so
// throttling reveals nothing about which emails have accounts. UpdateItem ADD.
func (t Tenant) SignInThrottle(email string) Key {
	return Key{t.prefix() + "#SIGNIN#" + email, "THROTTLE"}
}

// Account: read or update an account by id. GetItem.
func (t Tenant) Account(accountID string) Key { return Key{t.accountPK(accountID), "ACCOUNT"} }

// AccountsByName: the tenant's accounts ordered by lower-cased name (GSI2).
func (t Tenant) AccountsByName(lowerName, accountID string) IndexKey {
	return IndexKey{t.prefix() + "#ACCOUNTS", "NAME#" + lowerName + "#" + accountID}
}

// Membership: the authorizer's and the permission check's GetItem (is user u
// a member of a, with which roles and licence); Query begins_with(SK,
// "MEMBER#") lists an account's members.
func (t Tenant) Membership(accountID, userID string) Key {
	return Key{t.accountPK(accountID), "MEMBER#" + userID}
}

// MembershipPrefix is the SK prefix of an account's memberships.
const MembershipPrefix = "MEMBER#"

// UserAccounts: a user's memberships (GSI1), to list the accounts they can
// switch to.
func (t Tenant) UserAccounts(userID, accountID string) IndexKey {
	return IndexKey{t.prefix() + "#U#" + userID, "MEMBER#" + accountID}
}

// ChangeLogEntry: an account's change log, newest first with Query
// begins_with(SK, "LOG#") descending (ids are time ordered).
func (t Tenant) ChangeLogEntry(accountID, entryID string) Key {
	return Key{t.accountPK(accountID), "LOG#" + entryID}
}

// ChangeLogPrefix is the SK prefix of change-log entries.
const ChangeLogPrefix = "LOG#"

// UserChangeLog: the changes whose subject is a user, across accounts (GSI1).
func (t Tenant) UserChangeLog(userID, entryID string) IndexKey {
	return IndexKey{t.prefix() + "#U#" + userID, "LOG#" + entryID}
}

// Invitation: the invitation itself (token hash, status, expiry). The accept
// path reads it by id (the id travels in the link beside the secret) and
// accepts it with one conditional transaction.
func (t Tenant) Invitation(invitationID string) Key {
	return Key{t.prefix() + "#I#" + invitationID, "INVITATION"}
}

// AccountInvitation: an invitation seen from one of its target accounts.
func (t Tenant) AccountInvitation(accountID, invitationID string) Key {
	return Key{t.accountPK(accountID), "INVITE#" + invitationID}
}

// AccountInvitationsByStatus: an account's invitations in one status, newest
// first (GSI1, Query descending).
func (t Tenant) AccountInvitationsByStatus(accountID, status, invitationID string) IndexKey {
	return IndexKey{t.accountPK(accountID) + "#INVITES#" + status, invitationID}
}

// PendingInvitation: at most one pending invitation per email and account.
// Put with attribute_not_exists(PK) when inviting, deleted when the
// invitation leaves the pending state.
func (t Tenant) PendingInvitation(accountID, email string) Key {
	return Key{t.accountPK(accountID), "PENDING#" + email}
}

// Idempotency: the first response to a POST with an Idempotency-Key, scoped to
// the caller (a user id, or "public" for unauthenticated routes).
func (t Tenant) Idempotency(scope, key string) Key {
	return Key{t.prefix() + "#IDEM#" + scope + "#" + key, "IDEMPOTENCY"}
}

func (t Tenant) accountPK(accountID string) string { return t.prefix() + "#A#" + accountID }

// DueInvitation: the sparse due index (GSI3). Only pending invitations carry
// it; the expiry job queries the buckets of the days up to now and reads only
// what is due. The sort key starts with the expiry epoch so a day's bucket is
// read in order and can stop at "now".
func (t Tenant) DueInvitation(expiresAt time.Time, invitationID string) IndexKey {
	return IndexKey{DueBucket("INVITATION", expiresAt), DueSortKey(expiresAt) + "#" + t.id + "#" + invitationID}
}

// DueBucket is the GSI3 partition of one kind of job for one UTC day.
func DueBucket(kind string, at time.Time) string {
	return "DUE#" + kind + "#" + at.UTC().Format("2006-01-02")
}

// DueSortKey orders a bucket by instant: fixed-width epoch seconds.
func DueSortKey(at time.Time) string { return fmt.Sprintf("%012d", at.Unix()) }
