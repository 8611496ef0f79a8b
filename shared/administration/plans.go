package administration

import (
	"context"
	"errors"
	"strings"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// Plans and account plans are billing: tenant operators set them.

// PlanRequest is the body of PUT /plans/{planId} (PUT /plans/default edits
// the tenant's default plan). Each limit is a plans.Allowance: a number,
// {"usageBased": true[, "limit": included]} or {"unlimited": true}.
type PlanRequest struct {
	Name        string                     `json:"name"`
	Limits      map[string]plans.Allowance `json:"limits"`
	BillingUnit string                     `json:"billingUnit,omitempty"`
	Licences    map[string]int64           `json:"licences,omitempty"`
}

// PutPlan is a validated plan definition.
type PutPlan struct {
	Caller  access.Caller
	Plan    plans.Plan
	IfMatch int64
}

// Command validates the request.
func (r PlanRequest) Command(c access.Caller, planID string, ifMatch int64) (PutPlan, error) {
	var f apperr.Fields
	f.Check(plans.ValidID(planID), "planId", "invalid_plan", "a plan id is lower-case letters, digits, '-' or '_'")
	name := ValidName(&f, "name", r.Name, plans.MaxNameLength)
	plans.Validate(&f, "limits", r.Limits, r.Licences)
	unit := strings.TrimSpace(r.BillingUnit)
	if unit != "" {
		_, ok := r.Limits[unit]
		f.Check(ok, "billingUnit", "unknown_limit", "the billing unit names one of the plan's limits")
	}
	p := plans.Plan{ID: planID, Name: name, Limits: r.Limits, BillingUnit: unit, Licences: r.Licences}
	if p.Limits == nil {
		p.Limits = map[string]plans.Allowance{}
	}
	return PutPlan{Caller: c, Plan: p, IfMatch: ifMatch}, f.Err()
}

// PutPlan creates or redefines a plan (at its version when it exists).
func (s *Service) PutPlan(ctx context.Context, cmd PutPlan) (plans.Plan, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if err := access.RequireOperator(c, access.ManageTenant); err != nil {
		if !c.Operator {
			return plans.Plan{}, access.ErrOperatorsOnly.Withf("plans are the tenant's billing: only tenant operators define them")
		}
		return plans.Plan{}, err
	}
	if err := s.knownLicences(ctx, t, "licences.", cmd.Plan.Licences); err != nil {
		return plans.Plan{}, err
	}
	var old plans.Plan
	exists, err := s.Store.Get(ctx, t.Plan(cmd.Plan.ID), &old)
	if err != nil {
		return plans.Plan{}, err
	}
	now := s.now()
	p := plans.NewPlan(t, cmd.Plan)
	p.UpdatedAt, p.Version = now, 1
	put := store.Put(p).If(store.NotExists()).OrFail(apperr.ErrVersionConflict)
	var before map[string]any
	if exists {
		v, err := expect(cmd.IfMatch, old.Version)
		if err != nil {
			return plans.Plan{}, err
		}
		p.Version = v + 1
		put = store.Put(p).If(store.AtVersion(v)).OrFail(apperr.ErrVersionConflict)
		before = map[string]any{"name": old.Name, "limits": old.Limits, "licences": old.Licences, "billingUnit": old.BillingUnit}
	} else if cmd.IfMatch != 0 {
		return plans.Plan{}, apperr.ErrVersionConflict
	} else if p.ID == plans.DefaultPlanID { // its first write replaces the allowances it had unwritten
		d, err := plans.DefaultPlan(ctx, s.Store, t)
		if err != nil {
			return plans.Plan{}, err
		}
		before = map[string]any{"name": d.Name, "limits": d.Limits, "licences": d.Licences, "billingUnit": d.BillingUnit}
	}
	entry := changelog.New(t, s.IDs.NewID(), now, c.AccountID, changelog.ActorOf(c), "plan.defined", "plan", p.ID, before,
		map[string]any{"name": p.Name, "limits": p.Limits, "licences": p.Licences, "billingUnit": p.BillingUnit})
	if err := s.transact(ctx, "define plan "+p.ID, []*store.Write{put, entry.Write()}); err != nil {
		return plans.Plan{}, err
	}
	return p, nil
}

// AccountPlanRequest is the body of PUT /accounts/{accountId}/plan.
type AccountPlanRequest struct {
	PlanID string `json:"planId"` // "" leaves the account without a plan: the default plan applies
	// Overrides replace the plan's: a metric ("tasks") takes an allowance of
	// any shape, "licence:office" a seat count.
	Overrides map[string]plans.Allowance `json:"overrides,omitempty"`
}

// SetAccountPlan is a validated plan change of one account.
type SetAccountPlan struct {
	Caller    access.Caller
	AccountID string
	PlanID    string
	Limits    map[string]plans.Allowance // metric overrides
	Seats     map[string]int64           // "licence:<type>" overrides, by their full key
	IfMatch   int64                      // the account's version
}

// Command validates the request.
func (r AccountPlanRequest) Command(c access.Caller, accountID string, ifMatch int64) (SetAccountPlan, error) {
	var f apperr.Fields
	f.Check(r.PlanID == "" || plans.ValidID(r.PlanID), "planId", "invalid_plan", "not a plan id")
	limits, seats, keyed := map[string]plans.Allowance{}, map[string]int64{}, map[string]int64{}
	for k, v := range r.Overrides {
		if lic, ok := strings.CutPrefix(k, plans.LicencePrefix); ok {
			f.Check(v.Limited(), "overrides."+k, "invalid_seats", "a licence override is a number of seats")
			seats[lic], keyed[k] = v.Limit, v.Limit
		} else {
			limits[k] = v
		}
	}
	plans.Validate(&f, "overrides", limits, seats)
	return SetAccountPlan{Caller: c, AccountID: accountID, PlanID: r.PlanID, Limits: limits, Seats: keyed, IfMatch: ifMatch}, f.Err()
}

// SetAccountPlan sets an account's plan and overrides at the account's
// version; the plan must exist at commit.
func (s *Service) SetAccountPlan(ctx context.Context, cmd SetAccountPlan) (accounts.Account, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if err := s.Access.Require(ctx, c, access.ManagePlans, cmd.AccountID); err != nil {
		if errors.Is(err, access.ErrOperatorsOnly) {
			return accounts.Account{}, access.ErrOperatorsOnly.Withf("an account's plan is the tenant's billing: ask a tenant operator")
		}
		return accounts.Account{}, err
	}
	seats := map[string]int64{}
	for k, n := range cmd.Seats {
		seats[strings.TrimPrefix(k, plans.LicencePrefix)] = n
	}
	if err := s.knownLicences(ctx, t, "overrides.licence:", seats); err != nil {
		return accounts.Account{}, err
	}
	a, err := accounts.Load(ctx, s.Store, t, cmd.AccountID)
	if err != nil {
		return accounts.Account{}, err
	}
	v, err := expect(cmd.IfMatch, a.Version)
	if err != nil {
		return accounts.Account{}, err
	}
	now := s.now()
	// Seat overrides live on the account, metric overrides in its overrides
	// item (plans.OverridesWrite), both written here.
	upd := accounts.WithPlanOverrides(accounts.WithPlan(accounts.Edited(now), cmd.PlanID), cmd.Seats)
	before, err := plans.Load(ctx, s.Store, t, a)
	if err != nil {
		return accounts.Account{}, err
	}
	writes := []*store.Write{plans.OverridesWrite(t, a.ID, cmd.Limits, now)}
	if cmd.PlanID != "" && cmd.PlanID != plans.DefaultPlanID { // the default plan exists, written or not
		writes = append(writes, store.Check(t.Plan(cmd.PlanID), store.Exists()).
			OrFail(apperr.Validation(apperr.FieldError{Field: "planId", Code: "unknown_plan", Detail: "no such plan in this tenant"})))
	}
	writes = append(writes,
		store.Update(t.Account(a.ID), upd).If(store.AtVersion(v)).OrFail(apperr.ErrVersionConflict),
		accounts.Open(t, a.ID), // folded into the update above: a close meanwhile is told apart below
		changelog.New(t, s.IDs.NewID(), now, a.ID, changelog.ActorOf(c), "account.plan_changed", "account", a.ID,
			map[string]any{"planId": a.PlanID, "overrides": overridesOf(before)},
			map[string]any{"planId": cmd.PlanID, "overrides": overridesOf(plans.EffectiveOf(plans.Plan{}, cmd.Seats, cmd.Limits))}).Write())
	if err := s.transact(ctx, "set plan of "+a.ID, writes); err != nil {
		return accounts.Account{}, accounts.ClosedMeanwhile(ctx, s.Store, t, a.ID, err)
	}
	a.PlanID, a.PlanOverrides, a.Version, a.UpdatedAt = cmd.PlanID, cmd.Seats, v+1, now
	return a, nil
}

// overridesOf is the overrides within e, as the change log records them.
func overridesOf(e plans.Effective) map[string]any {
	out := map[string]any{}
	for _, k := range e.Overridden {
		if lic, ok := strings.CutPrefix(k, plans.LicencePrefix); ok {
			out[k] = e.Licences[lic]
		} else {
			out[k] = e.Limits[k]
		}
	}
	return out
}

// knownLicences refuses (422) seat counts of licence types the tenant's
// catalogue does not have; field prefixes each type in the error.
func (s *Service) knownLicences(ctx context.Context, t table.Tenant, field string, seats map[string]int64) error {
	if len(seats) == 0 {
		return nil
	}
	settings, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return err
	}
	cat := settings.Catalogue()
	for lic := range seats {
		if err := cat.Known(field+lic, lic); err != nil {
			return err
		}
	}
	return nil
}
