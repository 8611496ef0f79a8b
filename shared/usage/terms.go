package usage

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Allowance is how much of one metric an account may use per billing period
// (plans.Allowance: a limit, usage-based or unlimited).
type Allowance = plans.Allowance

// Terms are what an account's usage is measured against: when its billing
// periods start and its allowance per metric. A metric without an allowance
// cannot be recorded (422 unknown_metric).
type Terms struct {
	Anchor     time.Time // periods start on its day of the month, at its time of day
	Allowances map[string]Allowance
}

// TermsSource tells an account's terms. PlanTerms, the account's effective
// limits, is the one the service uses; tests may plug in others.
type TermsSource interface {
	Terms(ctx context.Context, t table.Tenant, accountID string) (Terms, error)
}

// Built-in metrics. A tenant adds its own billing unit (e.g. "invoices") by
// giving it an allowance in a plan or an account's overrides.
const (
	MetricTasks    = plans.MetricTasks
	MetricWebhooks = plans.MetricWebhooks
)

// MaxMetrics bounds the metrics of one account, so a period's counters stay
// one small item.
const MaxMetrics = plans.MaxMetrics

// ValidMetric reports whether name can be a metric: lower-case letters,
// digits, '-' and '_', starting with a letter, at most 40 characters.
func ValidMetric(name string) bool { return plans.ValidMetric(name) }

// PlanTerms measures usage against the account's effective limits
// (plans.LoadAccount: its plan or the tenant's default plan, with its
// overrides), exactly the limits GET /accounts/{id} and
// GET /accounts/{id}/usage show; the account's creation instant is its
// billing anchor. One BatchGetItem (and one GetItem for an account with a
// plan of its own).
type PlanTerms struct{ Store *store.Store }

// Terms implements TermsSource.
func (p PlanTerms) Terms(ctx context.Context, t table.Tenant, accountID string) (Terms, error) {
	a, e, err := plans.LoadAccount(ctx, p.Store, t, accountID)
	if err != nil {
		return Terms{}, fmt.Errorf("read usage terms of account %s: %w", accountID, err)
	}
	return Terms{Anchor: a.CreatedAt, Allowances: e.Limits}, nil
}

// SaveAllowances stores one account's metric overrides, or with accountID ""
// the tenant's usage defaults that its default plan starts from until an
// operator writes it (plans.SaveAllowances). For seeds and tests.
func SaveAllowances(ctx context.Context, s *store.Store, t table.Tenant, accountID string, allowances map[string]Allowance, now time.Time) error {
	return plans.SaveAllowances(ctx, s, t, accountID, allowances, now)
}
