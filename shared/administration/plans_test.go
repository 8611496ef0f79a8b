package administration_test

import (
	"maps"
	"testing"

	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/usage"
)

func TestEffectiveLimitsArePlanPlusOverrides(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	req := administration.PlanRequest{Name: "Pro", Limits: map[string]plans.Allowance{"tasks": {Limit: 1000}, "webhooks": {Limit: 5000}, "invoices": {Limit: 200}},
		BillingUnit: "invoices", Licences: map[string]int64{"office": 10, "guest": 5}}
	cmd, err := req.Command(op, "pro", 0)
	wantKind(t, "plan command", err, ok)
	_, err = w.adm.PutPlan(ctx, administration.PutPlan{Caller: w.admin(), Plan: cmd.Plan})
	wantKind(t, "an account admin defines a plan", err, apperr.KindForbidden)
	_, err = w.adm.PutPlan(ctx, cmd)
	wantKind(t, "define", err, ok)
	_, err = administration.PlanRequest{Name: "Bad", Limits: map[string]plans.Allowance{"Tasks!": {Limit: -1}}, BillingUnit: "coins"}.Command(op, "Bad Id", 0)
	if e, _ := apperr.As(err); e == nil || len(e.Fields) != 4 {
		t.Fatalf("bad plan: %v", err)
	}

	set := func(planID string, overrides map[string]plans.Allowance) error {
		cmd, err := administration.AccountPlanRequest{PlanID: planID, Overrides: overrides}.Command(op, w.ten.AccountID, 0)
		if err != nil {
			return err
		}
		_, err = w.adm.SetAccountPlan(ctx, cmd)
		return err
	}
	wantKind(t, "an unknown plan", set("gold", nil), apperr.KindUnprocessable)
	wantKind(t, "pro with overrides", set("pro", map[string]plans.Allowance{"tasks": {Limit: 2500}, "licence:office": {Limit: 12}, "reports": {Limit: 3}}), ok)
	view, err := w.dir.Account(ctx, w.admin(), w.ten.AccountID)
	wantKind(t, "view", err, ok)
	wantLimits := map[string]plans.Allowance{"tasks": {Limit: 2500}, "webhooks": {Limit: 5000}, "invoices": {Limit: 200}, "reports": {Limit: 3}}
	if !maps.Equal(view.Limits.Limits, wantLimits) || view.Limits.Licences["office"] != 12 || view.Limits.Licences["guest"] != 5 ||
		view.Limits.BillingUnit != "invoices" || view.PlanID != "pro" || len(view.Limits.Overridden) != 3 {
		t.Fatalf("effective %+v", view.Limits)
	}
	if len(w.changes(t, w.ten.AccountID, "account.plan_changed")) != 1 {
		t.Fatal("not logged")
	}
	// Usage is measured against the plan.
	terms, err := usage.PlanTerms{Store: w.env.Store}.Terms(ctx, w.ten.Tenant, w.ten.AccountID)
	wantKind(t, "terms", err, ok)
	if terms.Allowances["tasks"].Limit != 2500 || terms.Allowances["invoices"].Limit != 200 {
		t.Fatalf("terms %+v", terms)
	}
	// A redefinition with a stale ETag changes nothing.
	cmd.IfMatch = 7
	_, err = w.adm.PutPlan(ctx, cmd)
	wantKind(t, "stale plan", err, apperr.KindPreconditionFailed)
}

// Plans and overrides count seats only of the tenant's licence types.
func TestPlansNameKnownLicenceTypes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	cmd, err := administration.PlanRequest{Name: "Typo", Limits: map[string]plans.Allowance{"tasks": {Limit: 10}}, Licences: map[string]int64{"ofice": 5}}.Command(op, "typo", 0)
	wantKind(t, "command", err, ok)
	_, err = w.adm.PutPlan(ctx, cmd)
	wantKind(t, "a plan with an unknown licence type", err, apperr.KindUnprocessable)
	if e, _ := apperr.As(err); len(e.Fields) != 1 || e.Fields[0].Field != "licences.ofice" || e.Fields[0].Code != "unknown_licence" {
		t.Fatalf("fields %+v", e.Fields)
	}
	_, err = w.adm.SetAccountPlan(ctx, administration.SetAccountPlan{Caller: op, AccountID: w.ten.AccountID, Seats: map[string]int64{"licence:gest": 2}})
	wantKind(t, "an override of an unknown licence type", err, apperr.KindUnprocessable)
	cmd.Plan.Licences = map[string]int64{"office": 5}
	_, err = w.adm.PutPlan(ctx, cmd)
	wantKind(t, "a known type", err, ok)
}
