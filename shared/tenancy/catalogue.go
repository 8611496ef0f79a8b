package tenancy

import (
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// DefineLicenceTypes replaces the tenant's catalogue of licence types by
// cat, conditioned on the settings being at version as read (the default
// licence was checked against that version).
func DefineLicenceTypes(t table.Tenant, version int64, cat licences.Catalogue) *store.Write {
	upd := store.BumpVersion().Set(expression.Name("licenceTypes"), expression.Value(cat))
	return store.Update(t.Settings(), upd).If(store.AtVersion(version))
}
