// Package accounts holds customer accounts and the memberships that put users
// in them.
package accounts

import (
	"strings"
	"time"

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
}

// NewAccount fills the keys of an account item.
func NewAccount(t table.Tenant, a Account) Account {
	k := t.Account(a.ID)
	ix := t.AccountsByName(strings.ToLower(a.Name), a.ID)
	a.PK, a.SK, a.Type = k.PK, k.SK, "ACCOUNT"
	a.GSI2PK, a.GSI2SK = ix.PK, ix.SK
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
}

// NewMembership fills the keys of a membership item.
func NewMembership(t table.Tenant, m Membership) Membership {
	k := t.Membership(m.AccountID, m.UserID)
	ix := t.UserAccounts(m.UserID, m.AccountID)
	m.PK, m.SK, m.Type = k.PK, k.SK, "MEMBERSHIP"
	m.GSI1PK, m.GSI1SK = ix.PK, ix.SK
	if m.Version == 0 {
		m.Version = 1
	}
	return m
}
