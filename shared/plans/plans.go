// Package plans holds a tenant's subscription plans and computes an
// account's effective limits: its plan's limits, each replaced by the
// account's override when it has one.
//
// A plan (table.Plan) names its limits per billing period — tasks, webhook
// invocations, the tenant's own billing unit (BillingUnit names which limit
// that is) — and the seats of each licence type it includes. An account
// points at its plan (accounts.Account.PlanID) and carries its overrides
// (accounts.Account.PlanOverrides: "tasks" for a limit, "licence:office" for
// the seats of a licence type), so an account's effective limits are the
// account and one GetItem of its plan.
//
// Terms adapts plans to shared/usage (usage.TermsSource), so the usage
// counters are measured against the plan: wire it as usage.Service.Terms.
package plans

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/usage"
)

// Plan is one of a tenant's subscription plans.
type Plan struct {
	PK          string           `dynamodbav:"PK" json:"-"`
	SK          string           `dynamodbav:"SK" json:"-"`
	Type        string           `dynamodbav:"type" json:"-"`
	ID          string           `dynamodbav:"id" json:"id"`
	Name        string           `dynamodbav:"name" json:"name"`
	Limits      map[string]int64 `dynamodbav:"limits" json:"limits"`
	BillingUnit string           `dynamodbav:"billingUnit,omitempty" json:"billingUnit,omitempty"`
	Licences    map[string]int64 `dynamodbav:"licences,omitempty" json:"licences"`
	Version     int64            `dynamodbav:"version" json:"version"`
	UpdatedAt   time.Time        `dynamodbav:"updatedAt" json:"updatedAt"`
}

// NewPlan fills a plan's keys.
func NewPlan(t table.Tenant, p Plan) Plan {
	k := t.Plan(p.ID)
	p.PK, p.SK, p.Type = k.PK, k.SK, "PLAN"
	if p.Licences == nil {
		p.Licences = map[string]int64{}
	}
	return p
}

// LicencePrefix marks an override of a licence type's seats.
const LicencePrefix = "licence:"

// Bounds.
const (
	MaxLimits = 20
	MaxLimit  = 1_000_000_000
)

var planID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`) }) // compiled on first use, not at init

// ValidID reports whether id can name a plan (lower-case, like "pro-2026").
func ValidID(id string) bool { return planID().MatchString(id) }

// Validate checks limits and licence counts, naming each bad one.
func Validate(f *apperr.Fields, field string, limits, seats map[string]int64) {
	f.Check(len(limits)+len(seats) <= MaxLimits, field, "too_many", fmt.Sprintf("at most %d limits", MaxLimits))
	for name, v := range limits {
		f.Check(usage.ValidMetric(name), field+"."+name, "invalid_metric", "a limit is named like tasks, webhooks or the billing unit")
		f.Check(v >= 0 && v <= MaxLimit, field+"."+name, "out_of_range", "a limit is from 0 to 1000000000")
	}
	for name, v := range seats {
		f.Check(licences.ValidType(name), field+".licences."+name, "invalid_licence", "not a licence type")
		f.Check(v >= 0 && v <= licences.MaxSeats, field+".licences."+name, "out_of_range", "seats are from 0 to 1000000")
	}
}

// Effective is an account's plan with its overrides applied.
type Effective struct {
	PlanID      string           `json:"planId,omitempty"`
	PlanName    string           `json:"planName,omitempty"`
	BillingUnit string           `json:"billingUnit,omitempty"`
	Limits      map[string]int64 `json:"limits"`
	Licences    map[string]int64 `json:"licences"`
	Overridden  []string         `json:"overridden"` // the keys an override replaced or added
}

// EffectiveOf applies overrides to plan (which may be the zero Plan).
func EffectiveOf(p Plan, overrides map[string]int64) Effective {
	e := Effective{PlanID: p.ID, PlanName: p.Name, BillingUnit: p.BillingUnit, Limits: maps.Clone(p.Limits),
		Licences: maps.Clone(p.Licences), Overridden: []string{}}
	if e.Limits == nil {
		e.Limits = map[string]int64{}
	}
	if e.Licences == nil {
		e.Licences = map[string]int64{}
	}
	for k, v := range overrides {
		if lic, ok := strings.CutPrefix(k, LicencePrefix); ok {
			e.Licences[lic] = v
		} else {
			e.Limits[k] = v
		}
		e.Overridden = append(e.Overridden, k)
	}
	slices.Sort(e.Overridden)
	return e
}

// Load reads account a's plan (one GetItem) and returns a's effective limits.
func Load(ctx context.Context, s *store.Store, t table.Tenant, a accounts.Account) (Effective, error) {
	if a.PlanID == "" {
		return EffectiveOf(Plan{}, a.PlanOverrides), nil
	}
	var p Plan
	ok, err := s.Get(ctx, t.Plan(a.PlanID), &p)
	if err != nil {
		return Effective{}, fmt.Errorf("read plan %s: %w", a.PlanID, err)
	}
	if !ok {
		p = Plan{ID: a.PlanID, Name: "(deleted plan)"}
	}
	return EffectiveOf(p, a.PlanOverrides), nil
}

// List reads the tenant's plans (one Query on the tenant's partition).
func List(ctx context.Context, s *store.Store, t table.Tenant) ([]Plan, error) {
	items, err := s.QueryAll(ctx, store.Query{Partition: t.Settings().PK, SKPrefix: table.PlanPrefix}, 500)
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	out := []Plan{}
	if err := attributevalue.UnmarshalListOfMaps(items, &out); err != nil {
		return nil, apperr.Internal("decode plans", err)
	}
	return out, nil
}

// Terms measures usage against an account's effective limits: a metric
// with a limit is allowed up to it; an account without a plan falls back to
// Fallback (e.g. usage.StoredAllowances).
type Terms struct {
	Store    *store.Store
	Fallback usage.TermsSource
}

// Terms implements usage.TermsSource.
func (p Terms) Terms(ctx context.Context, t table.Tenant, accountID string) (usage.Terms, error) {
	var a accounts.Account
	ok, err := p.Store.Get(ctx, t.Account(accountID), &a)
	if err != nil {
		return usage.Terms{}, err
	}
	if !ok {
		return usage.Terms{}, apperr.ErrNotFound.Withf("no account %s", accountID)
	}
	if a.PlanID == "" && p.Fallback != nil {
		return p.Fallback.Terms(ctx, t, accountID)
	}
	e, err := Load(ctx, p.Store, t, a)
	if err != nil {
		return usage.Terms{}, err
	}
	out := usage.Terms{Anchor: a.CreatedAt, Allowances: map[string]usage.Allowance{}}
	for m, v := range e.Limits {
		out.Allowances[m] = usage.Allowance{Limit: v}
	}
	return out, nil
}
