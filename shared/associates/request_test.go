package associates_test

import (
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/associates"
)

// Account ids in an association or a switch follow the one identifier rule:
// anything else is 422 invalid on the field, before any read.
func TestAccountIDsAreIdentifiers(t *testing.T) {
	caller := access.Caller{UserID: "op", AccountID: "home", Operator: true}
	for _, c := range []struct {
		id    string
		valid bool
	}{
		{"A1", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{"A#1", false},
		{"A/1", false},
		{"A.1", false},
		{"Ä1", false},
		{strings.Repeat("a", 65), false},
	} {
		_, err := associates.AssociateRequest{Accounts: []associates.AccountRoles{{AccountID: c.id, Roles: []string{"Viewer"}}}}.Command(caller, "u1")
		checkField(t, "associate", c.id, c.valid, err, "accounts[0].accountId")
		_, err = associates.SwitchRequest{AccountID: c.id, Reason: "ticket 1"}.Command(caller, "tok", "", "")
		checkField(t, "switch", c.id, c.valid, err, "accountId")
	}
}

func checkField(t *testing.T, what, id string, valid bool, err error, field string) {
	t.Helper()
	if valid {
		if err != nil {
			t.Errorf("%s %q: %v", what, id, err)
		}
		return
	}
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindUnprocessable || len(e.Fields) != 1 || e.Fields[0].Field != field || e.Fields[0].Code != "invalid" {
		t.Errorf("%s %q: want 422 invalid on %s, got %v", what, id, field, err)
	}
}
