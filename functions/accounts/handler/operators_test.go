package handler_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/acme/accountadmin/functions/accounts/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/testkit"
)

// TestOperatorsReadUsersOnlySwitchedIn: a tenant operator not switched
// into a customer account lists, searches and exports the accounts and
// reads the account's summary and change log (tenant administration), but
// its users, their export and a user's profile are 403 switch_required;
// switched into the account with a reason, they read them.
func TestOperatorsReadUsersOnlySwitchedIn(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	h := handler.New(env.Service())
	desk := env.AddAccount(t, ten, "Support desk")
	op := access.Caller{Tenant: ten.Tenant, UserID: env.AddOperator(t, ten).ID, SessionID: "s-op", AccountID: desk, Operator: true}
	customer := ten.AccountID

	call := func(c access.Caller, name string, query map[string]string, path map[string]string) (int, string) {
		t.Helper()
		req := sample(t, name, c, query)
		for k, v := range path {
			req.PathParameters[k] = v
		}
		resp, err := h(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Body
	}
	inAccount := map[string]string{"accountId": customer}
	theAdmin := map[string]string{"userId": ten.AdminID}
	for _, tc := range []struct {
		name  string
		query map[string]string
		path  map[string]string
	}{
		{"list", map[string]string{}, nil},
		{"search-by-member", map[string]string{"member": "admin"}, nil},
		{"export", map[string]string{}, nil},
		{"get", nil, inAccount},
		{"changes", nil, inAccount},
		{"user-changes", nil, theAdmin},
		{"access-history", nil, theAdmin},
	} {
		if status, body := call(op, tc.name, tc.query, tc.path); status != http.StatusOK {
			t.Errorf("unswitched operator, %s: %d %s", tc.name, status, body)
		}
	}
	for _, tc := range []struct {
		name string
		path map[string]string
	}{{"members", inAccount}, {"members-export", inAccount}, {"user", theAdmin}} {
		status, body := call(op, tc.name, map[string]string{}, tc.path)
		if status != http.StatusForbidden || !strings.Contains(body, "switch_required") {
			t.Errorf("unswitched operator, %s: %d %s", tc.name, status, body)
		}
	}
	switched := op
	switched.AccountID, switched.SupportReason = customer, "ticket 42"
	for _, tc := range []struct {
		name string
		path map[string]string
	}{{"members", inAccount}, {"members-export", inAccount}, {"user", theAdmin}} {
		if status, body := call(switched, tc.name, map[string]string{}, tc.path); status != http.StatusOK || !strings.Contains(body, ten.AdminEmail) {
			t.Errorf("switched operator, %s: %d %s", tc.name, status, body)
		}
	}
}
