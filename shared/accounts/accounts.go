// Package accounts holds customer accounts and the memberships that put users
// in them.
package accounts

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Account statuses.
const (
	StatusActive = "active"
	StatusClosed = "closed"
)

// Account is a customer organisation inside a tenant.
type Account struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Type      string    `dynamodbav:"type"`
	ID        string    `dynamodbav:"id"`
	Name      string    `dynamodbav:"name"`
	Status    string    `dynamodbav:"status"`
	ParentID  string    `dynamodbav:"parentId,omitempty"`
	PlanID    string    `dynamodbav:"planId,omitempty"`
	Version   int64     `dynamodbav:"version"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
	GSI2PK    string    `dynamodbav:"GSI2PK"`
	GSI2SK    string    `dynamodbav:"GSI2SK"`
	// The directory by creation instant (table.AccountsByCreated).
	GSI1PK string `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK string `dynamodbav:"GSI1SK,omitempty"`
	// ClosedAt is when the account was closed (status closed).
	ClosedAt *time.Time `dynamodbav:"closedAt,omitempty"`
	// PlanOverrides replace the plan's limits one by one (shared/plans).
	PlanOverrides map[string]int64 `dynamodbav:"planOverrides,omitempty"`

	// ChildCount is how many linked children the account has (shared/links
	// keeps it in the link transactions; their conditions read it: a child
	// cannot be a parent).
	ChildCount int64 `dynamodbav:"childCount,omitempty"`
}

// NewAccount fills the keys of an account item.
func NewAccount(t table.Tenant, a Account) Account {
	k := t.Account(a.ID)
	ix := t.AccountsByName(strings.ToLower(a.Name), a.ID)
	a.PK, a.SK, a.Type = k.PK, k.SK, "ACCOUNT"
	a.GSI2PK, a.GSI2SK = ix.PK, ix.SK
	byCreated := t.AccountsByCreated(a.CreatedAt, a.ID)
	a.GSI1PK, a.GSI1SK = byCreated.PK, byCreated.SK
	if a.Status == "" {
		a.Status = StatusActive
	}
	if a.Version == 0 {
		a.Version = 1
	}
	return a
}

// Membership is a user in an account, with roles and a licence.
type Membership struct {
	PK        string   `dynamodbav:"PK"`
	SK        string   `dynamodbav:"SK"`
	Type      string   `dynamodbav:"type"`
	AccountID string   `dynamodbav:"accountId"`
	UserID    string   `dynamodbav:"userId"`
	Email     string   `dynamodbav:"email"`
	FirstName string   `dynamodbav:"firstName,omitempty"` // the user's name, copied for the users list (see NameIndex)
	LastName  string   `dynamodbav:"lastName,omitempty"`
	Roles     []string `dynamodbav:"roles,stringset"`
	// Licence is the licence type the member holds here; "" means none, and
	// then the member cannot sign in to this account.
	Licence   string    `dynamodbav:"licence,omitempty"`
	External  bool      `dynamodbav:"external,omitempty"` // the user's home account is elsewhere
	Version   int64     `dynamodbav:"version"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
	GSI1PK    string    `dynamodbav:"GSI1PK"`
	GSI1SK    string    `dynamodbav:"GSI1SK"`
	// An account's members by email (table.AccountMembersByEmail).
	GSI2PK string `dynamodbav:"GSI2PK,omitempty"`
	GSI2SK string `dynamodbav:"GSI2SK,omitempty"`
	// An account's admins (table.AccountAdmins): only while the membership
	// holds Admin and a licence (see AdminIndex, admins.go).
	GSI3PK string `dynamodbav:"GSI3PK,omitempty"`
	GSI3SK string `dynamodbav:"GSI3SK,omitempty"`
	// An account's users by name, and named members by first name
	// (table.AccountMembersByName, AccountMembersByFirstName; see NameIndex).
	GSI4PK string `dynamodbav:"GSI4PK,omitempty"`
	GSI4SK string `dynamodbav:"GSI4SK,omitempty"`
	GSI5PK string `dynamodbav:"GSI5PK,omitempty"`
	GSI5SK string `dynamodbav:"GSI5SK,omitempty"`
}

// NameIndex is the name keys of a membership of userID in accountID with
// this email and name: by "last first" name (or, without a name, by email
// after the named rows), and by "first last" name, which only a membership
// with a name carries (byFirst is zero then).
func NameIndex(t table.Tenant, accountID, userID, email, firstName, lastName string) (byName, byFirst table.IndexKey) {
	byName = t.AccountMembersByName(accountID, table.MemberName(lastName, firstName), email, userID)
	if first := table.MemberName(firstName, lastName); first != "" {
		byFirst = t.AccountMembersByFirstName(accountID, first, userID)
	}
	return byName, byFirst
}

// MemberOf is the write that goes with every new membership of user u: a
// membership copies its user's email and names (for the users list), and a
// profile edit copies changes to the memberships it finds, so the new one
// must not slip in beside an edit. The user must still be active and at the
// version read, which this bumps: of an edit and the new membership racing,
// one fails on the version (fail, a 409 to retry), and neither leaves a
// stale copy.
func MemberOf(t table.Tenant, userID string, version int64, fail error) *store.Write {
	return store.Update(t.User(userID), store.BumpVersion()).
		If(store.Is("status", identity.UserActive).And(store.AtVersion(version))).OrFail(fail)
}

// MemberAsCopied is MemberOf for a membership that copied u as read, for
// writers whose callers hold no ETag of the user (creating an account for
// its first Admin): the user must still be active with the email and names
// copied, rather than at the version read, and the version is bumped as
// MemberOf does. Racing creations for one user thus all succeed (a bump
// does not change what they copied), while a profile edit racing with one
// of them still cannot leave a stale copy: an edit committed first changes
// a copied field (this fails with fail; the writer re-reads the user and
// copies again), and an edit that read the user before this commits fails
// on the version this bumps.
func MemberAsCopied(t table.Tenant, u identity.User, fail error) *store.Write {
	cond := store.Is("status", identity.UserActive).
		And(copied("email", u.Email)).And(copied("firstName", u.FirstName)).And(copied("lastName", u.LastName))
	return store.Update(t.User(u.ID), store.BumpVersion()).If(cond).OrFail(fail)
}

// copied holds when attribute name still has value (an empty value also
// matches an absent attribute).
func copied(name, value string) expression.ConditionBuilder {
	if value == "" {
		return expression.AttributeNotExists(expression.Name(name)).Or(store.Is(name, ""))
	}
	return store.Is(name, value)
}

// NewMembership fills the keys of a membership item.
func NewMembership(t table.Tenant, m Membership) Membership {
	k := t.Membership(m.AccountID, m.UserID)
	ix := t.UserAccounts(m.UserID, m.AccountID)
	m.PK, m.SK, m.Type = k.PK, k.SK, "MEMBERSHIP"
	m.GSI1PK, m.GSI1SK = ix.PK, ix.SK
	byEmail := t.AccountMembersByEmail(m.AccountID, m.Email, m.UserID)
	m.GSI2PK, m.GSI2SK = byEmail.PK, byEmail.SK
	admins := m.AdminIndex(t)
	m.GSI3PK, m.GSI3SK = admins.PK, admins.SK
	byName, byFirst := NameIndex(t, m.AccountID, m.UserID, m.Email, m.FirstName, m.LastName)
	m.GSI4PK, m.GSI4SK, m.GSI5PK, m.GSI5SK = byName.PK, byName.SK, byFirst.PK, byFirst.SK
	if m.Version == 0 {
		m.Version = 1
	}
	return m
}
