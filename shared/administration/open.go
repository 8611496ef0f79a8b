package administration

import (
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
)

// homeOpen is the account-active rule of a change to user u made by
// authority over u's home account (access.RequireOverUser: every caller
// but an operator changing an operator, or a user without a home): the
// home account, whose change log records the change, must still be open
// when the change commits (accounts.Open). Nil when no home account
// decided.
func homeOpen(c access.Caller, u identity.User) []*store.Write {
	if u.HomeAccountID == "" || u.Operator && c.Operator {
		return nil
	}
	return []*store.Write{accounts.Open(c.Tenant, u.HomeAccountID)}
}
