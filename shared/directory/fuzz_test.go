package directory_test

import (
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/directory"
)

// FuzzListParameters feeds hostile query parameters to the account and user
// lists: each one is accepted within bounds (a limit between 1 and the
// maximum, search terms lower-cased and bounded) or refused as 422 naming
// the field, never a panic nor another kind of error.
func FuzzListParameters(f *testing.F) {
	f.Add("name", "asc", "acme", "ann@x.example", "50", "Admin", "true")
	f.Add("created", "desc", "", "", "0", "", "false")
	f.Add("status", "sideways", "%00", "\xff", "-1", "Viewer,Admin", "maybe")
	f.Add("email", "", "ÄÖÜ", "=cmd", "99999999999999999999", "", "")
	f.Add("name; DROP", "DESC", "a\x00b", "b@", "1e3", "x", "TRUE")
	caller := access.Caller{UserID: "01USER", AccountID: "01ACCOUNT", Roles: []string{access.RoleAdmin}}
	f.Fuzz(func(t *testing.T, sort, order, q, member, limit, role, external string) {
		params := map[string]string{"sort": sort, "order": order, "q": q, "member": member, "limit": limit, "role": role, "external": external}
		accounts, err := directory.ParseAccountQuery(caller, params, 50, 100)
		check(t, "accounts", err, accounts.Limit, accounts.Name, accounts.Member)
		for _, p := range []map[string]string{params, {"sort": sort, "name": q, "limit": limit}, {"q": member, "kind": role, "licence": external}} {
			users, err := directory.ParseMemberQuery(caller, "01ACCOUNT", p, 50, 100)
			check(t, "users", err, users.Limit, users.Email)
		}
	})
}

func check(t *testing.T, list string, err error, limit int32, terms ...string) {
	t.Helper()
	if err != nil {
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindUnprocessable || len(e.Fields) == 0 {
			t.Fatalf("%s: refused with %v, want 422 naming the field", list, err)
		}
		return
	}
	if limit < 1 || limit > 100 {
		t.Fatalf("%s: limit %d accepted", list, limit)
	}
	for _, term := range terms {
		if len(term) > 400 {
			t.Fatalf("%s: a search term of %d bytes accepted", list, len(term))
		}
	}
}
