package accounts

import (
	"context"
	"fmt"
	"slices"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// MaxNameLength bounds an account's name (and the name an account's closing
// is confirmed with, and a name searched for in the account directory).
const MaxNameLength = 100

// Load reads an account of tenant t; none is 404.
func Load(ctx context.Context, s *store.Store, t table.Tenant, accountID string) (Account, error) {
	var a Account
	if !ids.Valid(accountID) {
		return a, apperr.ErrNotFound.Withf("no account %q", accountID)
	}
	ok, err := s.Get(ctx, t.Account(accountID), &a)
	if err != nil {
		return a, fmt.Errorf("read account %s: %w", accountID, err)
	}
	if !ok {
		return a, apperr.ErrNotFound.Withf("no account %s", accountID)
	}
	return a, nil
}

// MembershipView is one membership as the API shows it; Version is its ETag.
type MembershipView struct {
	AccountID string   `json:"accountId"`
	UserID    string   `json:"userId"`
	Email     string   `json:"email"`
	Roles     []string `json:"roles"`
	Licence   string   `json:"licence,omitempty"`
	External  bool     `json:"external"`
	Version   int64    `json:"version"`
}

// MembershipViewOf shows m.
func MembershipViewOf(m Membership) MembershipView {
	roles := slices.Sorted(slices.Values(m.Roles))
	if roles == nil {
		roles = []string{}
	}
	return MembershipView{AccountID: m.AccountID, UserID: m.UserID, Email: m.Email, Roles: roles, Licence: m.Licence,
		External: m.External, Version: m.Version}
}
