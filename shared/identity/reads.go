package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// LoadUser reads a user of tenant t; a user of another tenant, a deleted
// user's tombstone, or none, is 404.
func LoadUser(ctx context.Context, s *store.Store, t table.Tenant, userID string) (User, error) {
	var u User
	if !ids.Valid(userID) {
		return u, apperr.ErrNotFound.Withf("no user %q", userID)
	}
	ok, err := s.Get(ctx, t.User(userID), &u)
	if err != nil {
		return u, fmt.Errorf("read user %s: %w", userID, err)
	}
	if !ok || u.Status == UserDeleted {
		return u, apperr.ErrNotFound.Withf("no user %s", userID)
	}
	return u, nil
}

// UserView is a user's profile as the API shows it (never the password
// hash); its Version is the ETag.
type UserView struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	FirstName     string    `json:"firstName"`
	LastName      string    `json:"lastName"`
	Phone         string    `json:"phone,omitempty"`
	TimeZone      string    `json:"timeZone,omitempty"`
	Status        string    `json:"status"`
	HomeAccountID string    `json:"homeAccountId,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	Version       int64     `json:"version"`
}

// UserViewOf shows a user.
func UserViewOf(u User) UserView {
	return UserView{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Phone: u.Phone, TimeZone: u.TimeZone,
		Status: u.Status, HomeAccountID: u.HomeAccountID, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version}
}
