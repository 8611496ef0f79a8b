// Package accounts holds customer accounts and the memberships that put users
// in them.
package accounts

import (
	"strings"
	"time"

	"github.com/acme/accountadmin/shared/table"
)

// RoleAdmin is the built-in role that may do everything in an account
// (access.RoleAdmin): the admin index and the guard that never leaves an
// account without an active Admin follow it.
const RoleAdmin = "Admin"

// Account statuses.
const (
	StatusActive = "active"
	StatusClosed = "closed"
)

// Account is a customer organisation inside a tenant.
type Account struct {
	PK       string `dynamodbav:"PK"`
	SK       string `dynamodbav:"SK"`
	Type     string `dynamodbav:"type"`
	ID       string `dynamodbav:"id"`
	Name     string `dynamodbav:"name"`
	Status   string `dynamodbav:"status"`
	ParentID string `dynamodbav:"parentId,omitempty"`
	PlanID   string `dynamodbav:"planId,omitempty"`
	// TwoFactorRequired: no session in this account without a second factor.
	TwoFactorRequired bool      `dynamodbav:"twoFactorRequired,omitempty"`
	Version           int64     `dynamodbav:"version"`
	CreatedAt         time.Time `dynamodbav:"createdAt"`
	UpdatedAt         time.Time `dynamodbav:"updatedAt"`
	GSI2PK            string    `dynamodbav:"GSI2PK"`
	GSI2SK            string    `dynamodbav:"GSI2SK"`
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
