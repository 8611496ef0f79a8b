package access

import (
	"errors"
	"testing"

	"github.com/acme/accountadmin/shared/apperr"
)

// A closed account (its data kept): operators read it and reopen it;
// nobody writes to it; its own users read nothing; operator actions stay
// operators only (403, not 409).
func TestClosedAccountRule(t *testing.T) {
	for _, c := range []struct {
		operator bool
		action   Action
		code     string // "" when allowed
	}{
		{true, ReadAccount, ""},
		{true, ReadUsers, ""},
		{true, ReadContent, ""},
		{true, ReadAudit, ""},
		{true, ReopenAccount, ""},
		{true, EditAccount, "account_closed"},
		{true, InviteUsers, "account_closed"},
		{true, RecordUsage, "account_closed"},
		{true, ResetUsage, "account_closed"},
		{true, ManagePlans, "account_closed"},
		{true, ManageLinks, "account_closed"},
		{true, PurchaseSeats, "account_closed"},
		{false, ReadAccount, "account_closed"},
		{false, ReadUsers, "account_closed"},
		{false, EditUsers, "account_closed"},
		{false, ReopenAccount, "operators_only"},
	} {
		err := closedRefusal(c.operator, c.action)
		var e *apperr.Error
		got := ""
		if errors.As(err, &e) {
			got = e.Code
		}
		if got != c.code {
			t.Errorf("operator=%v %s on a closed account: %q, want %q (%v)", c.operator, c.action, got, c.code, err)
		}
	}
}
