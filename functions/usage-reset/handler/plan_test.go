package handler_test

import (
	"context"
	"testing"

	"github.com/acme/accountadmin/functions/usage-reset/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/testkit"
)

// The deployed usage function measures usage against the account's plan
// plus its overrides, as the administration API defines them.
func TestUsageIsMeasuredAgainstThePlan(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	ctx := context.Background()
	op := access.Caller{Tenant: ten.Tenant, UserID: env.AddOperator(t, ten).ID, SessionID: "s", AccountID: ten.AccountID, Operator: true}
	adm := administration.New(env.Service())
	plan, err := administration.PlanRequest{Name: "Starter", Limits: map[string]plans.Allowance{"tasks": {Limit: 5}}}.Command(op, "starter", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.PutPlan(ctx, plan); err != nil {
		t.Fatal(err)
	}
	set, err := administration.AccountPlanRequest{PlanID: "starter", Overrides: map[string]plans.Allowance{"tasks": {Limit: 3}}}.Command(op, ten.AccountID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.SetAccountPlan(ctx, set); err != nil {
		t.Fatal(err)
	}

	h := handler.NewHTTP(env.Service())
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	path := "/accounts/" + ten.AccountID + "/usage"
	resp, _ := h(ctx, request(t, admin, "POST", path, ten.AccountID, `{"metric":"tasks","amount":3}`, nil))
	if body := decode(t, resp); resp.StatusCode != 200 || body["limit"] != float64(3) {
		t.Fatalf("within the overridden limit: %d %s", resp.StatusCode, resp.Body)
	}
	resp, _ = h(ctx, request(t, admin, "POST", path, ten.AccountID, `{"metric":"tasks","amount":1}`, nil))
	if body := decode(t, resp); resp.StatusCode != 429 || body["limit"] != float64(3) {
		t.Fatalf("past the overridden limit: %d %s", resp.StatusCode, resp.Body)
	}
}
