// Package identity holds users, their passwords and their sessions: sign-in,
// sign-out and the authorizer's session check.
package identity

import (
	"strings"
	"time"

	"github.com/acme/accountadmin/shared/table"
)

// User statuses.
const (
	UserPending   = "pending"
	UserActive    = "active"
	UserSuspended = "suspended"
)

// User is a person who can sign in, unique by email inside a tenant.
type User struct {
	PK            string `dynamodbav:"PK"`
	SK            string `dynamodbav:"SK"`
	Type          string `dynamodbav:"type"`
	ID            string `dynamodbav:"id"`
	Email         string `dynamodbav:"email"`
	FirstName     string `dynamodbav:"firstName"`
	LastName      string `dynamodbav:"lastName"`
	Phone         string `dynamodbav:"phone,omitempty"`
	TimeZone      string `dynamodbav:"timeZone,omitempty"`
	PasswordHash  string `dynamodbav:"passwordHash,omitempty"`
	Status        string `dynamodbav:"status"`
	Operator      bool   `dynamodbav:"operator,omitempty"` // tenant support staff
	HomeAccountID string `dynamodbav:"homeAccountId,omitempty"`
	// SessionEpoch invalidates every session issued before it changed:
	// suspension, password change and "sign out everywhere" bump it.
	SessionEpoch int64     `dynamodbav:"sessionEpoch"`
	Version      int64     `dynamodbav:"version"`
	CreatedAt    time.Time `dynamodbav:"createdAt"`
	UpdatedAt    time.Time `dynamodbav:"updatedAt"`
	GSI2PK       string    `dynamodbav:"GSI2PK"`
	GSI2SK       string    `dynamodbav:"GSI2SK"`
}

// NewUser fills the keys of a user item.
func NewUser(t table.Tenant, u User) User {
	k := t.User(u.ID)
	ix := t.UsersByEmail(u.Email)
	u.PK, u.SK, u.Type = k.PK, k.SK, "USER"
	u.GSI2PK, u.GSI2SK = ix.PK, ix.SK
	if u.Version == 0 {
		u.Version = 1
	}
	return u
}

// Name is the user's display name.
func (u User) Name() string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

// EmailClaim reserves an email address for one user of a tenant.
type EmailClaim struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	UserID string `dynamodbav:"userId"`
}

// NewEmailClaim fills the keys of an email's uniqueness item.
func NewEmailClaim(t table.Tenant, email, userID string) EmailClaim {
	k := t.EmailClaim(email)
	return EmailClaim{PK: k.PK, SK: k.SK, Type: "EMAIL", UserID: userID}
}
