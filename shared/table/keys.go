package table

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/ids"
)

// Every key the service reads or writes is built here, by pure functions, each
// with the access pattern it serves. Keys are built from a Tenant, so no code
// can address an item without naming its tenant. The one exception is the due
// index (GSI3), a per-day bucket read by the scheduled jobs across tenants; its
// sort key carries the tenant and the item it points to is tenant-keyed.
// GSI3 is overloaded with one more sparse, tenant-keyed partition per
// account: its admin memberships (AccountAdmins), which the jobs never read
// (their partitions all start with "DUE#"). The other exception is the
// lease of a scheduled job (JobLease): a job runs across tenants, so its
// lease belongs to none.
//
// Layout ("t" tenant, "a" account, "u" user, "i" invitation):
//
//	PK                     SK                 what                        GSIs
//	T#t                    TENANT             tenant settings             -
//	T#t#CAP                INVITE#hour        invitations sent in t/hour  -
//	T#t#CAP                ACCOUNT#hour       accounts created in t/hour  -
//	T#t#CAP                ADMIN#hour         Admins made in t per hour   -
//	T#t                    ROLE#name          custom role                 -
//	T#t#EMAIL#email        EMAIL              email uniqueness -> user    -
//	T#t#U#u                USER               user profile                GSI2 users by email
//	T#t#U#u                ACCESS#id          access history entry        GSI1 an account's access history
//	T#t#U#u                QUOTA#INVITE#hour  invitations u sent per hour -
//	T#t#U#u                EMAILPROOF         the pending code proving u's address -
//	T#t#U#u                TWOFACTOR          u's second factors (sealed TOTP key, verified mobile, recovery hashes) -
//	T#t#U#u                QUOTA#SMS#hour     SMS codes sent to u per hour -
//	T#t#CAP                SMS#hour           SMS codes sent in t per hour -
//	T#t#CHALLENGE#hash     CHALLENGE          a sign-in's second step, by token hash -
//	T#t#S#hash             SESSION            session by token hash       GSI1 a user's sessions
//	T#t#SIGNIN#email       THROTTLE           failed sign-in counter      -
//	T#t#A#a                ACCOUNT            account                     GSI2 accounts by name
//	T#t#A#a                MEMBER#u           membership                  GSI1 a user's accounts
//	  (the same two items)  ACCOUNT, MEMBER#u  also GSI1 accounts by creation instant; GSI2 an account's members by email
//	  (admin memberships)   MEMBER#u           also GSI3 an account's admins (only memberships holding Admin and a licence)
//	  (memberships)         MEMBER#u           also GSI4 an account's users by name; GSI5 members by first name (named ones)
//	T#t#A#a                LICENCE#type       seats purchased/used        -
//	T#t                    CLOSED#ACCOUNT#n#a closed accounts by name     -
//	T#t                    PLAN#id            subscription plan           -
//	T#t                    PLAN#default       the default plan (reserved id; may be unwritten) -
//	T#t#A#a                LOG#id             change-log entry            GSI1 changes about a user
//	T#t#TENANTLOG          LOG#id             tenant-level change log     -
//	T#t#A#a                INVITE#i           invitation in an account    GSI1 by account+status
//	  (while pending)       INVITE#i           also GSI2 the account's users by email; GSI4 by name (no name: after named rows)
//	T#t#A#a                PENDING#email      one pending invite/email    -
//	T#t#A#a                QUOTA#INVITE#hour  invitations to a per hour   -
//	T#t#I#i                INVITATION         invitation                  GSI3 due by expiry day
//	T#t#IDEM#scope#key     IDEMPOTENCY        stored first response       -
//	T#t                    USAGE#ALLOWANCES   usage defaults of an older version (read only) -
//	T#t#A#a                USAGE#ALLOWANCES   account's allowance overrides -
//	T#t#A#a                USAGE#PERIOD#start usage counters of a period  GSI3 due at period end, until finalised
//	T#t#A#p                CHILD#c            account c is linked to p    -
//	T#t#A#a                CONTENT#id         content item                GSI1 an owner's content in a
//	T#t#A#a                REASSIGNING#u      one running job per source  -
//	T#t#REASSIGN#j         REASSIGNMENT       content reassignment job    GSI3 due at lease expiry while running
//	T#t#K#hash             APIKEY             API key by secret hash      -
//	T#t#KEYS#scope         KEY#id             API key in its scope's list -
//	T#t#KEYS#scope         NAME#name          the active keys of a name   -
//	T#t#KEYUSE#keyId       ACCESS#id          a minute of a key's use     GSI1 an account's access history
//	T#t#SUPPRESSED         EMAIL#email        a suppressed address        GSI1 the suppression list, newest first
//	JOB#name               LEASE              the run of a job holding it -

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

// ForTenant returns the key builder of tenant id, which must be an
// identifier (ids.Valid): never '#', the key separator, nor '.', the one
// of session tokens.
func ForTenant(id string) (Tenant, error) {
	if !ids.Valid(id) {
		return Tenant{}, fmt.Errorf("%w (got %q)", ErrNoTenant, id)
	}
	return Tenant{id: id}, nil
}

// MustTenant is ForTenant for ids already validated (tests, seeds).
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

// AccountAccess: the sign-ins to and switches into one account, by anyone
// (GSI1), newest first with Query begins_with(GSI1SK, AccessHistoryPrefix)
// descending (entry ids are time ordered). Every access entry carries it
// from its write (identity.NewAccessEntry); entries written before it
// existed do not, and are only in their user's history.
func (t Tenant) AccountAccess(accountID, entryID string) IndexKey {
	return IndexKey{t.accountPK(accountID) + "#ACCESS", AccessHistoryPrefix + entryID}
}

// Session: the session check's GetItem on every authorized request, by the token's SHA-256.
func (t Tenant) Session(tokenHash string) Key { return Key{t.prefix() + "#S#" + tokenHash, "SESSION"} }

// UserSessions: a user's sessions (GSI1), newest last, to list or revoke them.
func (t Tenant) UserSessions(userID string, created time.Time) IndexKey {
	return IndexKey{t.prefix() + "#U#" + userID, "SESSION#" + created.UTC().Format(time.RFC3339Nano)}
}

// Attempts: the counter of password (or code) checks of one scope, read in
// one BatchGetItem with the other scopes of a check and reserved in one
// TransactWriteItems before the check runs (shared/attempts): per email
// and client address, per email (existing or not, so throttling reveals
// nothing about which emails have accounts), per client address across
// emails. subject is the email and/or the address.
func (t Tenant) Attempts(scope, subject string) Key {
	return Key{t.prefix() + "#ATTEMPTS#" + scope + "#" + subject, "ATTEMPTS"}
}

// EmailProof: the one pending code that proves a user's unverified address
// at their first sign-in (its hash, and its expiry). Put when sign-in sends
// a code (replacing an earlier one), read and deleted under the condition
// that it is the very code checked when it proves the address. GetItem.
func (t Tenant) EmailProof(userID string) Key { return Key{t.prefix() + "#U#" + userID, "EMAILPROOF"} }

// TwoFactor: a user's second factors, read with the membership and account
// at sign-in (BatchGetItem), updated under conditions by enrolment, by the
// verify that uses a code once (last TOTP step, recovery code) and deleted by
// an admin's reset. GetItem.
func (t Tenant) TwoFactor(userID string) Key { return Key{t.prefix() + "#U#" + userID, "TWOFACTOR"} }

// SMSUserQuota / SMSTenantQuota: SMS codes sent to a user, and in the whole
// tenant, in one hour; a conditional ADD before each send. UpdateItem.
func (t Tenant) SMSUserQuota(userID string, hour time.Time) Key {
	return Key{t.prefix() + "#U#" + userID, "QUOTA#SMS#" + hourID(hour)}
}

// SMSTenantQuota: see SMSUserQuota.
func (t Tenant) SMSTenantQuota(hour time.Time) Key { return Key{t.capPK(), "SMS#" + hourID(hour)} }

// SignInChallenge: the second step of a sign-in whose password was right,
// by the SHA-256 of its token (as sessions): put by the sign-in, read,
// counted and consumed under conditions by POST /auth/sign-in/verify. GetItem.
func (t Tenant) SignInChallenge(tokenHash string) Key {
	return Key{t.prefix() + "#CHALLENGE#" + tokenHash, "CHALLENGE"}
}

// Account: read or update an account by id. GetItem. Its status (active,
// closed) is the account-active rule: every transaction that writes into
// the account's data holds a ConditionCheck on this item (accounts.Open),
// and the close, the reopen and the wipe update it, so a write racing a
// close conflicts with it and never lands after it.
func (t Tenant) Account(accountID string) Key { return Key{t.accountPK(accountID), "ACCOUNT"} }

// AccountsCreated: how many accounts were created in the tenant in one
// UTC hour (POST /accounts and new linked children). UpdateItem ADD, with
// the condition that it stays within tenancy.Limits.AccountsPerHour, inside
// the transaction that creates the account; the TTL cleans it up.
func (t Tenant) AccountsCreated(hour time.Time) Key {
	return Key{t.capPK(), "ACCOUNT#" + hourID(hour)}
}

// AccountsByName: the tenant's accounts ordered by lower-cased name (GSI2).
func (t Tenant) AccountsByName(lowerName, accountID string) IndexKey {
	return IndexKey{t.prefix() + "#ACCOUNTS", "NAME#" + lowerName + "#" + accountID}
}

// Membership: the session check's and the permission check's GetItem (is user u
// a member of a, with which roles and licence); Query begins_with(SK,
// "MEMBER#") lists an account's members.
func (t Tenant) Membership(accountID, userID string) Key {
	return Key{t.accountPK(accountID), "MEMBER#" + userID}
}

// MembershipPrefix is the SK prefix of an account's memberships.
const MembershipPrefix = "MEMBER#"

// AccountAdmins: the sparse index (GSI3, KEYS_ONLY) of an account's admin
// memberships. Only a membership that holds the Admin role and a licence
// carries it (accounts.Membership.AdminIndex decides, for NewMembership and
// for every update of roles or licence), so the last-admin guard Queries the
// account's admins, reading a few keys however many members the account
// has, and then reads those memberships and users to find an active one.
// The partition is tenant-keyed and never starts with "DUE#", so the
// scheduled jobs that read GSI3's due buckets never see it.
func (t Tenant) AccountAdmins(accountID, userID string) IndexKey {
	return IndexKey{t.accountPK(accountID) + "#ADMINS", MembershipPrefix + userID}
}

// AdminsCreated: how many memberships gained the Admin role in the tenant
// in one UTC hour (a first Admin, a grant of Admin, an association as
// Admin, an invitation offering Admin when it is created). Updated like
// AccountsCreated, in the transaction of the change, under
// tenancy.Limits.AdminsPerHour.
func (t Tenant) AdminsCreated(hour time.Time) Key {
	return Key{t.capPK(), "ADMIN#" + hourID(hour)}
}

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

// TenantChangeLogEntry: the tenant-level change log, what happens to
// accounts as a whole (closed, reopened, wiped), which outlives the
// account's own log: written in the transaction of the change, read newest
// first (GET /tenant/changes) with Query begins_with(SK, ChangeLogPrefix)
// descending on TenantChangeLog (ids are time ordered). Its own partition,
// apart from the settings and roles, so reading it never contends with
// them.
func (t Tenant) TenantChangeLogEntry(entryID string) Key {
	return Key{t.TenantChangeLog(), ChangeLogPrefix + entryID}
}

// TenantChangeLog is the partition of the tenant-level change log.
func (t Tenant) TenantChangeLog() string { return t.prefix() + "#TENANTLOG" }

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

// InviterQuota: how many invitations a user sent in one UTC hour. UpdateItem
// ADD with a condition that the count stays within the limit, so the service
// cannot be used to spam; the item's TTL cleans it up after the hour.
func (t Tenant) InviterQuota(userID string, hour time.Time) Key {
	return Key{t.prefix() + "#U#" + userID, "QUOTA#INVITE#" + hour.UTC().Format("2006-01-02T15")}
}

// AccountInviteQuota: how many invitations went to one account in one UTC
// hour, whoever sent them. Updated like InviterQuota, in the same transaction.
func (t Tenant) AccountInviteQuota(accountID string, hour time.Time) Key {
	return Key{t.accountPK(accountID), "QUOTA#INVITE#" + hour.UTC().Format("2006-01-02T15")}
}

// TenantInviteQuota: how many invitations were sent (and resent) in the
// whole tenant in one UTC hour, whoever sent them, to whichever account.
// Updated like InviterQuota, in the same transaction, under the tenant's
// cap (tenancy.Limits.InvitationsPerHour), so that helpers and accounts an
// Admin creates cannot multiply the per-inviter and per-account limits.
func (t Tenant) TenantInviteQuota(hour time.Time) Key {
	return Key{t.capPK(), "INVITE#" + hourID(hour)}
}

// Idempotency: the first response to a POST with an Idempotency-Key, scoped to
// the caller (a user id, or "public" for unauthenticated routes).
func (t Tenant) Idempotency(scope, key string) Key {
	return Key{t.prefix() + "#IDEM#" + scope + "#" + key, "IDEMPOTENCY"}
}

// AccountLink: child account c linked to parent p, in the parent's
// partition. Put with attribute_not_exists in the link transaction (beside
// the conditions on both accounts); Query begins_with(SK, ChildPrefix) on
// the parent lists its children (the family view).
func (t Tenant) AccountLink(parentID, childID string) Key {
	return Key{t.accountPK(parentID), ChildPrefix + childID}
}

// ChildPrefix is the SK prefix of a parent's links to its children.
const ChildPrefix = "CHILD#"

// Content: one content item (automation, assembly, report...) an account's
// product registered. GetItem; Query begins_with(SK, ContentPrefix) lists
// an account's content.
func (t Tenant) Content(accountID, contentID string) Key {
	return Key{t.accountPK(accountID), ContentPrefix + contentID}
}

// ContentPrefix is the SK prefix of an account's content.
const ContentPrefix = "CONTENT#"

// ContentByOwner: one owner's content in one account (GSI1), oldest first:
// the list by owner, and the pages a reassignment moves (an item leaves the
// partition when its owner changes).
func (t Tenant) ContentByOwner(accountID, ownerID, contentID string) IndexKey {
	return IndexKey{t.accountPK(accountID) + "#OWNER#" + ownerID, ContentPrefix + contentID}
}

// Reassignment: a content reassignment job, read by id for its progress.
func (t Tenant) Reassignment(jobID string) Key {
	return Key{t.prefix() + "#REASSIGN#" + jobID, "REASSIGNMENT"}
}

// RunningReassignment: the guard that allows one running reassignment per
// source user and account; Put with attribute_not_exists when a job starts,
// deleted in the transaction that ends it. Registering content for the
// source reads it to hand the new item to the target instead.
func (t Tenant) RunningReassignment(accountID, sourceUserID string) Key {
	return Key{t.accountPK(accountID), "REASSIGNING#" + sourceUserID}
}

// DueReassignment: the due index (GSI3) entry of a running reassignment at
// the expiry of its runner's lease; the resume job reads the buckets up to
// now and continues the jobs whose runner stopped (a crash or a timeout).
func (t Tenant) DueReassignment(leaseUntil time.Time, jobID string) IndexKey {
	return IndexKey{DueBucket("REASSIGN", leaseUntil), DueSortKey(leaseUntil) + "#" + t.id + "#" + jobID}
}

// DefaultUsageAllowances: the tenant's usage defaults as an older version
// stored them, before the default plan (Plan(DefaultPlanID)) existed. Only
// read, never written by a request: while the default plan has not been
// written, its allowances are shared/plans' DefaultAllowances with these
// over them. Read in the one BatchGetItem of an account's limits (with the
// default plan, the account and its overrides: plans.Load, when usage is
// recorded or reported and when an account is shown), and by GET /plans.
// The default plan's first write (PUT /plans/default) logs the allowances
// it replaces; the item then no longer matters.
func (t Tenant) DefaultUsageAllowances() Key { return Key{t.prefix(), "USAGE#ALLOWANCES"} }

// UsageAllowances: one account's metric overrides (tasks, webhook
// invocations, the tenant's billing unit), each an allowance that replaces
// the plan's for that metric; seat overrides live on the account item
// (planOverrides "licence:<type>"). Put, or deleted when there are none, in
// the transaction of PUT /accounts/{id}/plan; read in the BatchGetItem of
// the account's limits (plans.Load). Wiped with the account's partition.
func (t Tenant) UsageAllowances(accountID string) Key {
	return Key{t.accountPK(accountID), "USAGE#ALLOWANCES"}
}

// UsagePeriod: an account's usage counters in one billing period, keyed by
// the period's start, so a new period needs no reset. Recording usage is one
// ADD in a single-item TransactWriteItems (its ClientRequestToken makes an
// SDK retry count once) whose condition keeps the counter within its
// allowance, then a consistent GetItem of the counter;
// Query begins_with(SK, UsagePeriodPrefix) descending lists the current and
// past periods, newest first.
func (t Tenant) UsagePeriod(accountID string, start time.Time) Key {
	return Key{t.accountPK(accountID), UsagePeriodPrefix + UsagePeriodID(start)}
}

// UsagePeriodPrefix is the SK prefix of an account's usage periods.
const UsagePeriodPrefix = "USAGE#PERIOD#"

// UsagePeriodID names a period by its start: fixed-width UTC, so periods sort
// by time.
func UsagePeriodID(start time.Time) string { return start.UTC().Format("20060102T150405Z") }

// DueUsagePeriod: the due index (GSI3) entry of a usage period that has not
// been finalised, in the bucket of the day it ends; the rollover job reads
// the buckets up to now, so its cost grows with the periods that ended.
func (t Tenant) DueUsagePeriod(end time.Time, accountID string, start time.Time) IndexKey {
	return IndexKey{DueBucket("USAGE", end), DueSortKey(end) + "#" + t.id + "#" + accountID + "#" + UsagePeriodID(start)}
}

// AccountsByCreated: the tenant's accounts ordered by creation instant
// (GSI1, one partition per tenant; every account item carries it, see
// accounts.NewAccount). Query ascending or descending pages the directory
// sorted by "created": a page of n reads n index items, whatever the
// number of accounts.
func (t Tenant) AccountsByCreated(created time.Time, accountID string) IndexKey {
	return IndexKey{t.prefix() + "#ACCOUNTS#CREATED", AccountsCreatedPrefix + SortableInstant(created) + "#" + accountID}
}

// AccountsCreatedPrefix is the GSI1 sort key prefix of AccountsByCreated.
const AccountsCreatedPrefix = "CREATED#"

// AccountsNamePrefix is the GSI2 sort key prefix of AccountsByName: Query
// begins_with(GSI2SK, AccountsNamePrefix+lower(prefix)) searches the
// directory by name prefix, case-insensitively, in name order.
const AccountsNamePrefix = "NAME#"

// SortableInstant is an instant as fixed-width UTC text, so it sorts as time.
func SortableInstant(at time.Time) string { return at.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// ClosedAccount: the register of closed accounts, in the tenant's partition,
// by lower-cased name. Put in the transaction that closes an account,
// deleted in the transaction that reopens it (POST
// /accounts/{id}/reopen) or that deletes its account item at the end of a
// wipe. Query begins_with(SK, ClosedAccountPrefix+prefix)
// lists closed accounts by name (the "closed" half of the directory sorted
// by status) reading only closed accounts.
func (t Tenant) ClosedAccount(lowerName, accountID string) Key {
	return Key{t.prefix(), ClosedAccountPrefix + lowerName + "#" + accountID}
}

// ClosedAccountPrefix is the SK prefix of the closed-account register.
const ClosedAccountPrefix = "CLOSED#ACCOUNT#"

// AccountMembersByEmail: an account's members ordered by email (GSI2; every
// membership carries it, see accounts.NewMembership). Query begins_with(
// GSI2SK, MembersEmailPrefix+prefix) lists or searches the members of one
// account by email prefix, ascending or descending, a page of n reading n
// items. An email change re-keys it in the same transaction.
func (t Tenant) AccountMembersByEmail(accountID, email, userID string) IndexKey {
	return IndexKey{t.accountPK(accountID) + "#MEMBERS", MembersEmailPrefix + email + "#" + userID}
}

// MembersEmailPrefix is the GSI2 sort key prefix of AccountMembersByEmail.
const MembersEmailPrefix = "EMAIL#"

// AccountInvitationByEmail: a pending invitation in the same GSI2 partition
// as the account's members, so that one Query lists members and pending
// invitations interleaved by email (the users list). The sort key is the
// email then "#INVITE#" and the invitation id, which no user id contains.
// Only the account's index entry of a pending invitation carries it: the
// write that moves the invitation out of pending removes it.
func (t Tenant) AccountInvitationByEmail(accountID, email, invitationID string) IndexKey {
	return IndexKey{t.accountPK(accountID) + "#MEMBERS", MembersEmailPrefix + email + "#INVITE#" + invitationID}
}

// AccountMembersByName: an account's users ordered by name (GSI4), the
// lower-cased "last first" name (see MemberName). Every membership carries
// it (accounts.NewMembership; a name or email change re-keys it in the
// same transaction, shared/administration/profiles.go), and so does the
// index entry of a pending invitation while it is pending. Rows without a
// name (pending invitations, members who gave none) sort after every named
// row, by email (MembersNoNamePrefix). Query the partition for sort=name;
// begins_with(GSI4SK, MembersNamePrefix+prefix) searches by last name (or
// "last first") prefix, reading n items for a page of n.
func (t Tenant) AccountMembersByName(accountID, name, email, rowID string) IndexKey {
	if name == "" {
		return IndexKey{t.accountPK(accountID) + "#MEMBERS", MembersNoNamePrefix + email + "#" + rowID}
	}
	return IndexKey{t.accountPK(accountID) + "#MEMBERS", MembersNamePrefix + name + "#" + rowID}
}

// AccountMembersByFirstName: a named member in the account's members by
// lower-cased "first last" name (GSI5, sparse: only memberships with a
// name carry it). begins_with(GSI5SK, MembersNamePrefix+prefix) searches
// members by first name prefix, n items read for a page of n; it is kept
// in step with AccountMembersByName.
func (t Tenant) AccountMembersByFirstName(accountID, firstLast, userID string) IndexKey {
	return IndexKey{t.accountPK(accountID) + "#MEMBERS", MembersNamePrefix + firstLast + "#" + userID}
}

// Sort key prefixes of AccountMembersByName and AccountMembersByFirstName:
// named rows, then ("NAME#" < "NONAME#") rows without a name.
const (
	MembersNamePrefix   = "NAME#"
	MembersNoNamePrefix = "NONAME#"
)

// MemberName is the sort form of a name: lower-cased, its words separated
// by one space ("van Dyke", "Ann" gives "van dyke ann"); "" when both parts
// are blank.
func MemberName(first, second string) string {
	return strings.Join(strings.Fields(strings.ToLower(first+" "+second)), " ")
}

// LicencePool: the seats of one licence type in one account (purchased,
// used). Every assignment is an UpdateItem ADD used 1 with the condition
// used < purchased inside the transaction that gives a member the licence,
// so racing assignments never exceed the purchased seats; Query
// begins_with(SK, LicencePoolPrefix) lists an account's licence types.
func (t Tenant) LicencePool(accountID, licence string) Key {
	return Key{t.accountPK(accountID), LicencePoolPrefix + licence}
}

// LicencePoolPrefix is the SK prefix of an account's licence pools.
const LicencePoolPrefix = "LICENCE#"

// Plan: one of the tenant's subscription plans. GetItem by id (with the
// account when its effective limits are computed); Query begins_with(SK,
// PlanPrefix) lists the tenant's plans. The id "default" is reserved
// (plans.DefaultPlanID): PLAN#default is the plan of every account without
// a plan of its own, read in every account's limits BatchGetItem whether or
// not it was ever written (absent, it reads as the built-in allowances,
// see DefaultUsageAllowances), and written by PUT /plans/default like any
// plan, at its version (0 until the first write). It is never deleted.
func (t Tenant) Plan(planID string) Key { return Key{t.prefix(), PlanPrefix + planID} }

// PlanPrefix is the SK prefix of the tenant's plans.
const PlanPrefix = "PLAN#"

// AccountPartition is the partition key of everything an account owns
// (account, memberships, invitation entries, change log, usage, licences):
// closing an account with wipe Queries it page by page and deletes what it
// finds, then Queries it again to prove it empty.
func (t Tenant) AccountPartition(accountID string) string { return t.accountPK(accountID) }

func (t Tenant) accountPK(accountID string) string { return t.prefix() + "#A#" + accountID }

// capPK is the partition of the tenant's hourly counters, apart from its
// settings and roles so that counting never contends with reading them.
func (t Tenant) capPK() string { return t.prefix() + "#CAP" }

// hourID names a UTC hour.
func hourID(hour time.Time) string { return hour.UTC().Format("2006-01-02T15") }

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

// JobLease: the lease a scheduled job's run holds while it works, so that
// two runs of one job never overlap. Put with attribute_not_exists(PK) OR
// leaseUntil < now when a run starts; deleted, on its owner, when it ends.
// A job runs over every tenant, so this key is built from the job's name
// alone (jobs.Lease).
func JobLease(job string) Key { return Key{JobLeasePrefix + job, "LEASE"} }

// JobLeasePrefix starts the partition of every job's lease.
const JobLeasePrefix = "JOB#"

// DueSortKey orders a bucket by instant: fixed-width epoch seconds.
func DueSortKey(at time.Time) string { return fmt.Sprintf("%012d", at.Unix()) }

// APIKeyPrefix starts every API key secret ("aak_<tenant>_<256 random
// bits>"), so that secret scanners recognise a leaked key and the request
// path tells a key from a session token without a read.
const APIKeyPrefix = "aak_"

// APIKey is an API key by the SHA-256 of its secret: the one GetItem that
// resolves a request presented with a key (apikeys.Service.Authorize).
func (t Tenant) APIKey(secretHash string) Key { return Key{t.prefix() + "#K#" + secretHash, "APIKEY"} }

// APIKeyScopeTenant is the scope of the tenant's own keys (operators').
const APIKeyScopeTenant = "TENANT"

// APIKeyScopeAccount is the scope of the keys of one account.
func APIKeyScopeAccount(accountID string) string { return "A#" + accountID }

// APIKeys is the partition listing the keys of one scope (the tenant's, or
// an account's): GET /tenant/api-keys and GET /accounts/{a}/api-keys are
// one Query of it. It is not the account's partition, so that a wipe of the
// account leaves the record of its keys (all refused, the account gone).
func (t Tenant) APIKeys(scope string) string { return t.prefix() + "#KEYS#" + scope }

// APIKeyEntry is one key in its scope's list, by key id: revoke finds the
// key's hash item from it.
func (t Tenant) APIKeyEntry(scope, keyID string) Key { return Key{t.APIKeys(scope), "KEY#" + keyID} }

// APIKeyEntryPrefix is the sort-key prefix of a scope's key entries.
const APIKeyEntryPrefix = "KEY#"

// APIKeyName holds the ids of the active keys of one name in a scope: at
// most two (rotation), a condition of the transaction that creates one.
func (t Tenant) APIKeyName(scope, name string) Key { return Key{t.APIKeys(scope), "NAME#" + name} }

// APIKeyAccess is one access-history entry of an account's API key: the
// first request of each minute it is used (written with its lastUsedAt).
// It lives in the key's own partition, never a user's, so that no user's
// history shows it; GSI1 (AccountAccess) puts it in its account's history.
func (t Tenant) APIKeyAccess(keyID, entryID string) Key {
	return Key{t.prefix() + "#KEYUSE#" + keyID, AccessHistoryPrefix + entryID}
}

// Suppression: one address of the tenant's suppression list (a permanent
// bounce or a complaint reported by SES), by its normalised form. Put with
// attribute_not_exists by functions/ses-events (a second notification adds
// nothing); read by GetItem in the batch that invites or resends, and
// checked with attribute_not_exists in their transaction, so no invitation
// goes to it; deleted (attribute_exists) by an operator's DELETE
// /tenant/suppressions/{email}. Its own partition, apart from the settings.
func (t Tenant) Suppression(email string) Key {
	return Key{t.Suppressions(), SuppressionPrefix + email}
}

// Suppressions is the partition of the tenant's suppression list.
func (t Tenant) Suppressions() string { return t.prefix() + "#SUPPRESSED" }

// SuppressionPrefix is the SK prefix of suppressed addresses.
const SuppressionPrefix = "EMAIL#"

// SuppressionsByTime: the suppression list newest first (GSI1, GET
// /tenant/suppressions: Query descending on Suppressions(), a page of n
// reading n items). Every suppression item carries it.
func (t Tenant) SuppressionsByTime(at time.Time, email string) IndexKey {
	return IndexKey{t.Suppressions(), SuppressedAtPrefix + SortableInstant(at) + "#" + email}
}

// SuppressedAtPrefix is the GSI1 sort key prefix of SuppressionsByTime.
const SuppressedAtPrefix = "AT#"
