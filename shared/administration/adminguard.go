package administration

import (
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/table"
)

// adminGuard is the last-admin guard of this package's changes: the one
// shared implementation, accounts.AdminGuard (shared/associates uses it
// too). It reads only the account's admins (the sparse admin index), never
// its members. Both "no other active Admin" and "the Admin it found
// stopped being one before commit" answer 409 last_admin.
func (s *Service) adminGuard(t table.Tenant) *accounts.AdminGuard {
	return accounts.NewAdminGuard(s.Store, t, ErrLastAdmin, ErrLastAdmin)
}
