package usage

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Allowance is how much of one metric an account may use per billing period.
type Allowance struct {
	Limit     int64 `dynamodbav:"limit" json:"limit"`
	Unlimited bool  `dynamodbav:"unlimited,omitempty" json:"unlimited,omitempty"`
	// UsageBased: usage beyond Limit is recorded and billed as overage
	// instead of being refused.
	UsageBased bool `dynamodbav:"usageBased,omitempty" json:"usageBased,omitempty"`
}

// Terms are what an account's usage is measured against: when its billing
// periods start and its allowance per metric. A metric without an allowance
// cannot be recorded.
type Terms struct {
	Anchor     time.Time // periods start on its day of the month, at its time of day
	Allowances map[string]Allowance
}

// TermsSource tells an account's terms. StoredAllowances is the minimal one
// this package ships; the administration work's plans (plan allowances plus
// the account's overrides) plug in here by implementing it.
type TermsSource interface {
	Terms(ctx context.Context, t table.Tenant, accountID string) (Terms, error)
}

// Built-in metrics. A tenant adds its own billing unit (e.g. "invoices") by
// giving it an allowance.
const (
	MetricTasks    = "tasks"
	MetricWebhooks = "webhooks"
)

// DefaultAllowances apply to a tenant that set none.
var DefaultAllowances = map[string]Allowance{
	MetricTasks:    {Limit: 1000},
	MetricWebhooks: {Limit: 10000},
}

// MaxMetrics bounds the metrics of one account, so a period's counters stay
// one small item.
const MaxMetrics = 20

var metricName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`) }) // compiled on first use, not at init

// ValidMetric reports whether name can be a metric: lower-case letters,
// digits, '-' and '_', starting with a letter, at most 40 characters.
func ValidMetric(name string) bool { return metricName().MatchString(name) }

// AllowanceSettings is the stored form of a tenant's default allowances or
// of one account's overrides.
type AllowanceSettings struct {
	PK         string               `dynamodbav:"PK"`
	SK         string               `dynamodbav:"SK"`
	Type       string               `dynamodbav:"type"`
	Allowances map[string]Allowance `dynamodbav:"allowances"`
	UpdatedAt  time.Time            `dynamodbav:"updatedAt"`
}

// StoredAllowances reads terms from the table: the account's creation
// instant is its billing anchor; allowances are DefaultAllowances, replaced
// metric by metric by the tenant's defaults (table.DefaultUsageAllowances),
// then by the account's overrides (table.UsageAllowances). One BatchGetItem.
type StoredAllowances struct{ Store *store.Store }

// Terms implements TermsSource.
func (s StoredAllowances) Terms(ctx context.Context, t table.Tenant, accountID string) (Terms, error) {
	accountKey, tenantKey, overrideKey := t.Account(accountID), t.DefaultUsageAllowances(), t.UsageAllowances(accountID)
	items, err := s.Store.GetMany(ctx, []table.Key{accountKey, tenantKey, overrideKey})
	if err != nil {
		return Terms{}, fmt.Errorf("read usage terms of account %s: %w", accountID, err)
	}
	ai, ok := items[accountKey]
	if !ok {
		return Terms{}, apperr.ErrNotFound.Withf("no account %s", accountID)
	}
	var acc accounts.Account
	if err := attributevalue.UnmarshalMap(ai, &acc); err != nil {
		return Terms{}, apperr.Internal("decode account", err)
	}
	out := Terms{Anchor: acc.CreatedAt, Allowances: maps.Clone(DefaultAllowances)}
	for _, k := range []table.Key{tenantKey, overrideKey} {
		it, ok := items[k]
		if !ok {
			continue
		}
		var set AllowanceSettings
		if err := attributevalue.UnmarshalMap(it, &set); err != nil {
			return Terms{}, apperr.Internal("decode usage allowances", err)
		}
		maps.Copy(out.Allowances, set.Allowances)
	}
	return out, nil
}

// SaveAllowances stores a tenant's defaults (accountID "") or one account's
// overrides. It is for seeds, tests and the administration work until plans
// take over; it validates what it stores.
func SaveAllowances(ctx context.Context, s *store.Store, t table.Tenant, accountID string, allowances map[string]Allowance, now time.Time) error {
	var f apperr.Fields
	f.Check(len(allowances) <= MaxMetrics, "allowances", "too_many", fmt.Sprintf("at most %d metrics", MaxMetrics))
	for name, a := range allowances {
		f.Check(ValidMetric(name), "allowances."+name, "invalid_metric", "a metric is lower-case letters, digits, '-' or '_'")
		f.Check(a.Limit >= 0, "allowances."+name, "invalid_limit", "a limit is zero or more")
	}
	if err := f.Err(); err != nil {
		return err
	}
	k := t.DefaultUsageAllowances()
	if accountID != "" {
		k = t.UsageAllowances(accountID)
	}
	set := AllowanceSettings{PK: k.PK, SK: k.SK, Type: "USAGE_ALLOWANCES", Allowances: allowances, UpdatedAt: now}
	return s.Do(ctx, "save usage allowances", store.Put(set))
}
