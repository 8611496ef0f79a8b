package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// The account a sign-in names is an identifier (ids.Valid): anything else is
// 422 on accountId before the password is checked, so it counts no attempt
// and opens no session.
func TestSignInRefusesAnAccountThatIsNotAnID(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	c := client{t, srv.URL}
	signIn := func(accountID string) (int, map[string]any) {
		status, body, _ := c.do("POST", "/auth/sign-in", "", toJSON(map[string]string{
			"tenant": ten.ID(), "email": ten.AdminEmail, "password": ten.AdminPassword, "accountId": accountID}))
		return status, body
	}
	for _, bad := range []struct{ accountID, code string }{
		{ten.AccountID + "#M", "invalid"},
		{ten.AccountID + "/x", "invalid"},
		{"Ä" + ten.AccountID, "invalid"},
		{strings.Repeat("a", 65), "too_long"},
		{"a#", "invalid"}, {"a.b", "invalid"}, {"a b", "invalid"}, // more than the limiter's 5 per client
	} {
		status, prob := signIn(bad.accountID)
		errs, _ := prob["errors"].([]any)
		var field map[string]any
		if len(errs) == 1 {
			field, _ = errs[0].(map[string]any)
		}
		if status != 422 || prob["code"] != "validation_failed" || field["field"] != "accountId" || field["code"] != bad.code {
			t.Errorf("accountId %q: %d %v, want 422 with accountId %s", bad.accountID, status, prob, bad.code)
		}
	}
	sessions, err := env.Store.QueryAll(context.Background(), store.Query{Index: table.GSI1,
		Partition: ten.UserSessions(ten.AdminID, time.Time{}).PK, SKPrefix: "SESSION#"}, 0)
	if err != nil || len(sessions) != 0 {
		t.Fatalf("%d sessions after refused sign-ins (%v)", len(sessions), err)
	}
	if status, body := signIn(ten.AccountID); status != 201 {
		t.Fatalf("sign-in after the refusals: %d %v", status, body)
	}
}
