// Package plans holds a tenant's subscription plans and computes an
// account's effective limits, the one answer that both the API shows
// (GET /accounts/{id}, GET /accounts/{id}/usage, the plan answers) and usage
// enforces (POST /accounts/{id}/usage):
//
//	plan      = the account's plan, or the tenant's default plan (id
//	            "default") when the account has none
//	allowance = the account's override of the metric when it has one,
//	            else the plan's allowance of it
//	seats     = the account's "licence:<type>" override, else the plan's
//
// A plan (Plan) names its allowances per billing period (Allowance: a
// limit, usage-based or unlimited) for tasks, webhook invocations and the
// tenant's own billing unit (BillingUnit names which metric that is), and
// the seats of each licence type it includes. The default plan is a plan
// like the others, listed by GET /plans and edited by PUT /plans/default;
// until an operator first writes it, it reads as DefaultAllowances (with
// the tenant's stored usage defaults, if an older version saved some, over
// them), which are the allowances enforced before plans existed.
//
// An account points at its plan (accounts.Account.PlanID); its metric
// overrides are one item (table.UsageAllowances), its seat overrides
// "licence:<type>" entries of accounts.Account.PlanOverrides. Load reads
// them with one BatchGetItem.
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
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Plan is one of a tenant's subscription plans.
type Plan struct {
	PK          string               `dynamodbav:"PK" json:"-"`
	SK          string               `dynamodbav:"SK" json:"-"`
	Type        string               `dynamodbav:"type" json:"-"`
	ID          string               `dynamodbav:"id" json:"id"`
	Name        string               `dynamodbav:"name" json:"name"`
	Limits      map[string]Allowance `dynamodbav:"limits" json:"limits"`
	BillingUnit string               `dynamodbav:"billingUnit,omitempty" json:"billingUnit,omitempty"`
	Licences    map[string]int64     `dynamodbav:"licences,omitempty" json:"licences"`
	// Version is 0 for the default plan until it is first written.
	Version   int64     `dynamodbav:"version" json:"version"`
	UpdatedAt time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
}

// DefaultPlanID is the reserved id of the tenant's default plan: the plan of
// every account that has none of its own.
const DefaultPlanID = "default"

// MaxNameLength bounds a plan's display name.
const MaxNameLength = 100

// DefaultAllowances are the default plan's allowances until an operator
// first writes it (PUT /plans/default).
var DefaultAllowances = map[string]Allowance{
	MetricTasks:    {Limit: 1000},
	MetricWebhooks: {Limit: 10000},
}

// AllowanceSettings is a stored set of allowances: one account's metric
// overrides (table.UsageAllowances) or, from before the default plan, a
// tenant's usage defaults (table.DefaultUsageAllowances), which the default
// plan starts from until it is first written.
type AllowanceSettings struct {
	PK         string               `dynamodbav:"PK"`
	SK         string               `dynamodbav:"SK"`
	Type       string               `dynamodbav:"type"`
	Allowances map[string]Allowance `dynamodbav:"allowances"`
	UpdatedAt  time.Time            `dynamodbav:"updatedAt"`
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

// Validate checks allowances and licence counts, naming each bad one.
func Validate(f *apperr.Fields, field string, limits map[string]Allowance, seats map[string]int64) {
	f.Check(len(limits)+len(seats) <= MaxLimits, field, "too_many", fmt.Sprintf("at most %d limits", MaxLimits))
	for _, name := range slices.Sorted(maps.Keys(limits)) {
		f.Check(ValidMetric(name), field+"."+name, "invalid_metric", "a limit is named like tasks, webhooks or the billing unit")
		ValidateAllowance(f, field+"."+name, limits[name])
	}
	for _, name := range slices.Sorted(maps.Keys(seats)) {
		v := seats[name]
		f.Check(licences.ValidType(name), field+".licences."+name, "invalid_licence", "not a licence type")
		f.Check(v >= 0 && v <= licences.MaxSeats, field+".licences."+name, "out_of_range", "seats are from 0 to 1000000")
	}
}

// Effective is an account's effective limits: its plan (or the default
// plan) with its overrides applied.
type Effective struct {
	PlanID   string `json:"planId"`
	PlanName string `json:"planName,omitempty"`
	// DefaultPlan: the account has no plan of its own; these are the
	// tenant's default plan's.
	DefaultPlan bool                 `json:"defaultPlan"`
	BillingUnit string               `json:"billingUnit,omitempty"`
	Limits      map[string]Allowance `json:"limits"`
	Licences    map[string]int64     `json:"licences"`
	Overridden  []string             `json:"overridden"` // the keys an override replaced or added
}

// EffectiveOf applies an account's overrides to plan p: accountOverrides
// are accounts.Account.PlanOverrides ("licence:<type>" seats; a plain
// metric there is an override from before the overrides item), metric
// overrides the account's overrides item, which wins.
func EffectiveOf(p Plan, accountOverrides map[string]int64, metricOverrides map[string]Allowance) Effective {
	e := Effective{PlanID: p.ID, PlanName: p.Name, BillingUnit: p.BillingUnit, Limits: maps.Clone(p.Limits),
		Licences: maps.Clone(p.Licences), Overridden: []string{}}
	if e.Limits == nil {
		e.Limits = map[string]Allowance{}
	}
	if e.Licences == nil {
		e.Licences = map[string]int64{}
	}
	seen := map[string]bool{}
	for k, v := range accountOverrides {
		if lic, ok := strings.CutPrefix(k, LicencePrefix); ok {
			e.Licences[lic] = v
		} else {
			e.Limits[k] = Allowance{Limit: v}
		}
		seen[k] = true
	}
	for k, v := range metricOverrides {
		e.Limits[k] = v
		seen[k] = true
	}
	e.Overridden = slices.Sorted(maps.Keys(seen))
	return e
}

// Load computes account a's effective limits: the one function behind
// every limit shown and enforced. One BatchGetItem: the account's plan, the
// default plan, the tenant's stored usage defaults (the default plan's
// start until it is written) and the account's overrides item.
func Load(ctx context.Context, s *store.Store, t table.Tenant, a accounts.Account) (Effective, error) {
	keys := limitKeys(t, a.ID)
	if own(a) {
		keys = append(keys, t.Plan(a.PlanID))
	}
	items, err := s.GetMany(ctx, keys)
	if err != nil {
		return Effective{}, fmt.Errorf("read limits of account %s: %w", a.ID, err)
	}
	return effectiveIn(t, a, items)
}

// LoadAccount reads account accountID and computes its effective limits as
// Load does: one BatchGetItem, and one GetItem more for an account with a
// plan of its own.
func LoadAccount(ctx context.Context, s *store.Store, t table.Tenant, accountID string) (accounts.Account, Effective, error) {
	items, err := s.GetMany(ctx, append(limitKeys(t, accountID), t.Account(accountID)))
	if err != nil {
		return accounts.Account{}, Effective{}, fmt.Errorf("read limits of account %s: %w", accountID, err)
	}
	it, ok := items[t.Account(accountID)]
	if !ok {
		return accounts.Account{}, Effective{}, apperr.ErrNotFound.Withf("no account %s", accountID)
	}
	var a accounts.Account
	if err := attributevalue.UnmarshalMap(it, &a); err != nil {
		return accounts.Account{}, Effective{}, apperr.Internal("decode account", err)
	}
	if own(a) {
		var p Plan
		ok, err := s.Get(ctx, t.Plan(a.PlanID), &p)
		if err != nil {
			return accounts.Account{}, Effective{}, fmt.Errorf("read plan %s: %w", a.PlanID, err)
		}
		if ok {
			items[t.Plan(a.PlanID)], err = attributevalue.MarshalMap(p)
			if err != nil {
				return accounts.Account{}, Effective{}, apperr.Internal("encode plan", err)
			}
		}
	}
	e, err := effectiveIn(t, a, items)
	return a, e, err
}

// limitKeys are the items every account's limits depend on.
func limitKeys(t table.Tenant, accountID string) []table.Key {
	return []table.Key{t.Plan(DefaultPlanID), t.DefaultUsageAllowances(), t.UsageAllowances(accountID)}
}

// own reports whether a has a plan of its own (not the default plan).
func own(a accounts.Account) bool { return a.PlanID != "" && a.PlanID != DefaultPlanID }

// effectiveIn computes a's effective limits from the items read.
func effectiveIn(t table.Tenant, a accounts.Account, items map[table.Key]map[string]types.AttributeValue) (Effective, error) {
	var p Plan
	var err error
	switch it, ok := items[t.Plan(a.PlanID)]; {
	case own(a) && ok:
		if err := attributevalue.UnmarshalMap(it, &p); err != nil {
			return Effective{}, apperr.Internal("decode plan", err)
		}
	case own(a):
		p = Plan{ID: a.PlanID, Name: "(deleted plan)"}
	default:
		if p, err = defaultPlanOf(t, items); err != nil {
			return Effective{}, err
		}
	}
	var overrides AllowanceSettings
	if it, ok := items[t.UsageAllowances(a.ID)]; ok {
		if err := attributevalue.UnmarshalMap(it, &overrides); err != nil {
			return Effective{}, apperr.Internal("decode allowance overrides", err)
		}
	}
	e := EffectiveOf(p, a.PlanOverrides, overrides.Allowances)
	e.DefaultPlan = !own(a)
	return e, nil
}

// defaultPlanOf is the default plan among items read: the stored one, else
// DefaultAllowances with the tenant's stored usage defaults over them.
func defaultPlanOf(t table.Tenant, items map[table.Key]map[string]types.AttributeValue) (Plan, error) {
	var p Plan
	if it, ok := items[t.Plan(DefaultPlanID)]; ok {
		if err := attributevalue.UnmarshalMap(it, &p); err != nil {
			return Plan{}, apperr.Internal("decode default plan", err)
		}
		return p, nil
	}
	p = NewPlan(t, Plan{ID: DefaultPlanID, Name: "Default", Limits: maps.Clone(DefaultAllowances)})
	if it, ok := items[t.DefaultUsageAllowances()]; ok {
		var legacy AllowanceSettings
		if err := attributevalue.UnmarshalMap(it, &legacy); err != nil {
			return Plan{}, apperr.Internal("decode usage defaults", err)
		}
		maps.Copy(p.Limits, legacy.Allowances)
	}
	return p, nil
}

// DefaultPlan reads the tenant's default plan (one BatchGetItem); its
// Version is 0 until it is first written.
func DefaultPlan(ctx context.Context, s *store.Store, t table.Tenant) (Plan, error) {
	items, err := s.GetMany(ctx, []table.Key{t.Plan(DefaultPlanID), t.DefaultUsageAllowances()})
	if err != nil {
		return Plan{}, fmt.Errorf("read default plan: %w", err)
	}
	return defaultPlanOf(t, items)
}

// List reads the tenant's plans (one Query on the tenant's partition), the
// default plan among them, stored or not yet (then one more read), by id.
func List(ctx context.Context, s *store.Store, t table.Tenant) ([]Plan, error) {
	items, err := s.QueryAll(ctx, store.Query{Partition: t.Settings().PK, SKPrefix: table.PlanPrefix}, 500)
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	out := []Plan{}
	if err := attributevalue.UnmarshalListOfMaps(items, &out); err != nil {
		return nil, apperr.Internal("decode plans", err)
	}
	if !slices.ContainsFunc(out, func(p Plan) bool { return p.ID == DefaultPlanID }) {
		d, err := DefaultPlan(ctx, s, t)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		slices.SortFunc(out, func(a, b Plan) int { return strings.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// OverridesWrite stores account accountID's metric overrides (none deletes
// them), for the transaction that sets the account's plan.
func OverridesWrite(t table.Tenant, accountID string, overrides map[string]Allowance, now time.Time) *store.Write {
	k := t.UsageAllowances(accountID)
	if len(overrides) == 0 {
		return store.Delete(k)
	}
	return store.Put(AllowanceSettings{PK: k.PK, SK: k.SK, Type: "USAGE_ALLOWANCES", Allowances: overrides, UpdatedAt: now})
}

// SaveAllowances stores one account's metric overrides, or with accountID
// "" the tenant's usage defaults that the default plan starts from until
// it is written. For seeds and tests; it validates what it stores.
func SaveAllowances(ctx context.Context, s *store.Store, t table.Tenant, accountID string, allowances map[string]Allowance, now time.Time) error {
	var f apperr.Fields
	f.Check(len(allowances) <= MaxMetrics, "allowances", "too_many", fmt.Sprintf("at most %d metrics", MaxMetrics))
	for _, name := range slices.Sorted(maps.Keys(allowances)) {
		f.Check(ValidMetric(name), "allowances."+name, "invalid_metric", "a metric is lower-case letters, digits, '-' or '_'")
		ValidateAllowance(&f, "allowances."+name, allowances[name])
	}
	if err := f.Err(); err != nil {
		return err
	}
	if accountID != "" {
		return s.Do(ctx, "save allowance overrides", OverridesWrite(t, accountID, allowances, now))
	}
	k := t.DefaultUsageAllowances()
	return s.Do(ctx, "save usage defaults", store.Put(AllowanceSettings{PK: k.PK, SK: k.SK, Type: "USAGE_ALLOWANCES", Allowances: allowances, UpdatedAt: now}))
}
