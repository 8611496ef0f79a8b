// Package identity holds users, their passwords and their sessions: sign-in,
// sign-out and the session check of every authorized request.
package identity

import (
	"strings"
	"time"

	"github.com/acme/accountadmin/shared/apperr"
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
	// EmailUnverified marks an address nobody has proven yet: a user an
	// administrator added without an invitation (POST
	// /accounts/{a}/users). The user proves it with a code sent to it at
	// their first sign-in (shared/auth), which removes the attribute. An
	// absent attribute is a proven address: an invitation's accept proves
	// it by the link, so every earlier user is verified without migration.
	EmailUnverified bool `dynamodbav:"emailUnverified,omitempty"`
	// SessionEpoch invalidates every session issued before it changed:
	// suspension, password change and "sign out everywhere" bump it.
	SessionEpoch int64 `dynamodbav:"sessionEpoch"`
	// MembershipEpoch counts the memberships created that copy the user's
	// email and names (MembershipCopy). A profile edit copying a
	// new name to the memberships it read commits only at the epoch it
	// read, so a membership created meanwhile is never left with the old
	// name; and creating one leaves Version, the profile's ETag, alone.
	MembershipEpoch int64     `dynamodbav:"membershipEpoch,omitempty"`
	Version         int64     `dynamodbav:"version"`
	CreatedAt       time.Time `dynamodbav:"createdAt"`
	UpdatedAt       time.Time `dynamodbav:"updatedAt"`
	GSI2PK          string    `dynamodbav:"GSI2PK"`
	GSI2SK          string    `dynamodbav:"GSI2SK"`
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

// ErrEmailUnverified refuses what needs a proven address (inviting others)
// to a user who has not proven theirs yet.
var ErrEmailUnverified = apperr.New(apperr.KindForbidden, "email_unverified",
	"confirm your email address first: sign in again and enter the code we send to it")

// RequireVerifiedEmail is nil once u has proven their address.
func (u User) RequireVerifiedEmail() error {
	if u.EmailUnverified {
		return ErrEmailUnverified
	}
	return nil
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
