// Package usage counts what accounts use (tasks, webhook invocations, a
// tenant's own billing unit) against the monthly allowances of their terms.
//
// Counters are keyed by billing period (table.UsagePeriod): recording usage
// is one conditional update of the current period's item (a single-item
// transaction, so that an SDK retry never counts twice), which the first
// record of a period creates. So correctness never depends on a job
// having run: a new period simply starts with new counters, and the
// condition (the counter plus the amount stays within the allowance, unless
// the allowance is usage-based) holds under any number of racing requests.
//
// Every change to a period item adds one to its "rev", so a reset or a
// finalisation that read the counters can require that nothing changed
// since, and log exactly the values it replaced, in the same transaction.
//
// The rollover job (Rollover) only finalises: each period item carries the
// due key (GSI3) of its end until the job has frozen its totals, recorded
// the overage and written the change log. A record that computed an ended
// period (a clock a little behind) and finds it finalised counts in the next
// period instead, so no count is lost or counted twice.
package usage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/store"
)

// Service records, reports, resets and rolls over usage.
type Service struct {
	Store  *store.Store
	Clock  clock.Clock
	IDs    ids.Generator
	Access access.Checker
	Terms  TermsSource
}

// New builds the service measuring usage against the accounts' effective limits.
func New(d service.Deps) *Service {
	return &Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs, Access: access.Checker{Store: d.Store},
		Terms: PlanTerms{Store: d.Store}}
}

// Errors of this package.
var (
	ErrLimitReached = apperr.New(apperr.KindRateLimited, "usage_limit_reached",
		"this account has used its allowance for the billing period")
	ErrBusy = apperr.New(apperr.KindConflict, "usage_busy",
		"the usage counters kept changing while this ran; retry")
	errChanged   = errors.New("usage period changed since it was read")
	errFinalised = errors.New("usage period already finalised")
)

// Bounds of one record.
const MaxAmount = 1_000_000

// Attributes of a period item beyond its keys.
const (
	periodType      = "USAGE_PERIOD"
	attrUsedPrefix  = "used:" // one number per metric: "used:tasks"
	attrRev         = "rev"
	attrFinalizedAt = "finalizedAt"
	attrStatus      = "status"
	statusOpen      = "open"
	statusFinal     = "final"
)

func usedAttr(metric string) string { return attrUsedPrefix + metric }

// MetricUsage is one counter as the API shows it.
type MetricUsage struct {
	Metric     string `json:"metric" dynamodbav:"metric"`
	Used       int64  `json:"used" dynamodbav:"used"`
	Limit      *int64 `json:"limit" dynamodbav:"limit,omitempty"` // null: unlimited, or the metric has no allowance any more
	Unlimited  bool   `json:"unlimited" dynamodbav:"unlimited,omitempty"`
	UsageBased bool   `json:"usageBased" dynamodbav:"usageBased,omitempty"`
	Overage    int64  `json:"overage" dynamodbav:"overage"`               // used beyond the limit (usage-based only)
	Remaining  *int64 `json:"remaining" dynamodbav:"remaining,omitempty"` // null when unlimited
}

// measure is a counter against its allowance.
func measure(metric string, used int64, a Allowance, known bool) MetricUsage {
	m := MetricUsage{Metric: metric, Used: used}
	if !known {
		return m
	}
	if a.Unlimited {
		m.Unlimited = true
		return m
	}
	limit := a.Limit
	m.Limit, m.UsageBased = &limit, a.UsageBased
	m.Overage = max(0, used-limit)
	rest := max(0, limit-used)
	m.Remaining = &rest
	return m
}

// periodItem is a stored usage period (table.Tenant.UsagePeriod); its
// counters are the "used:*" attributes. It is written by updates only
// (record, reset, rollover), never put, and read as this.
type periodItem struct {
	PK          string                 `dynamodbav:"PK"`
	SK          string                 `dynamodbav:"SK"`
	Type        string                 `dynamodbav:"type"`
	AccountID   string                 `dynamodbav:"accountId"`
	Start       time.Time              `dynamodbav:"periodStart"`
	End         time.Time              `dynamodbav:"periodEnd"`
	Status      string                 `dynamodbav:"status"`
	Rev         int64                  `dynamodbav:"rev"`
	FinalizedAt *time.Time             `dynamodbav:"finalizedAt,omitempty"`
	Final       map[string]MetricUsage `dynamodbav:"final,omitempty"`
	LastResetAt *time.Time             `dynamodbav:"lastResetAt,omitempty"`
	UpdatedAt   time.Time              `dynamodbav:"updatedAt"`
	// While open, the period is due for its rollover at its end
	// (table.Tenant.DueUsagePeriod); the rollover removes the keys.
	GSI3PK string           `dynamodbav:"GSI3PK,omitempty"`
	GSI3SK string           `dynamodbav:"GSI3SK,omitempty"`
	Used   map[string]int64 `dynamodbav:"-"`
}

func decodePeriod(item map[string]types.AttributeValue) (periodItem, error) {
	var p periodItem
	if err := attributevalue.UnmarshalMap(item, &p); err != nil {
		return periodItem{}, apperr.Internal("decode usage period", err)
	}
	p.Used = map[string]int64{}
	for name, v := range item {
		metric, ok := strings.CutPrefix(name, attrUsedPrefix)
		if !ok {
			continue
		}
		var n int64
		if err := attributevalue.Unmarshal(v, &n); err != nil {
			return periodItem{}, apperr.Internal("decode usage counter "+name, err)
		}
		p.Used[metric] = n
	}
	return p, nil
}

// metricsOf lists the counters of used against allowances: every metric with
// an allowance (zero when unused), then any counted metric that lost its
// allowance, sorted by name.
func metricsOf(used map[string]int64, allowances map[string]Allowance) []MetricUsage {
	names := map[string]bool{}
	for m := range allowances {
		names[m] = true
	}
	for m := range used {
		names[m] = true
	}
	sorted := make([]string, 0, len(names))
	for m := range names {
		sorted = append(sorted, m)
	}
	sort.Strings(sorted)
	out := make([]MetricUsage, 0, len(sorted))
	for _, m := range sorted {
		a, known := allowances[m]
		out = append(out, measure(m, used[m], a, known))
	}
	return out
}

// sdkError maps an SDK failure of a direct call the way the store does:
// throttling and conflicts past their retries are 503, anything else
// internal.
func sdkError(what string, err error) error {
	if _, ok := apperr.As(err); ok {
		return fmt.Errorf("%s: %w", what, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var pte *types.ProvisionedThroughputExceededException
	var rle *types.RequestLimitExceeded
	var tce *types.TransactionConflictException
	if errors.As(err, &pte) || errors.As(err, &rle) || errors.As(err, &tce) || conflicted(err) {
		return fmt.Errorf("%s: %w", what, &apperr.Error{Kind: apperr.KindUnavailable, Code: apperr.ErrUnavailable.Code,
			Detail: apperr.ErrUnavailable.Detail, Err: err})
	}
	return apperr.Internal(what, err)
}
