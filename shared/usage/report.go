package usage

import (
	"context"
	"sort"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// MaxPastPeriods is how many ended periods a report shows.
const MaxPastPeriods = 12

// Report is GET /accounts/{accountId}/usage: the current period's counters
// against their allowances, and the ended periods, newest first.
type Report struct {
	AccountID   string        `json:"accountId"`
	Period      Period        `json:"period"`
	Metrics     []MetricUsage `json:"metrics"`
	LastResetAt *time.Time    `json:"lastResetAt,omitempty"`
	PastPeriods []PastPeriod  `json:"pastPeriods"`
}

// PastPeriod is an ended period. Only periods with recorded usage exist.
type PastPeriod struct {
	Period
	// Status is "final" once the rollover job froze its totals, "open" until
	// then (its counters cannot change any more either way).
	Status      string        `json:"status"`
	FinalizedAt *time.Time    `json:"finalizedAt,omitempty"`
	Metrics     []MetricUsage `json:"metrics"`
}

// Report reads an account's usage: one BatchGetItem for the terms and one
// Query for the current and past periods.
func (s *Service) Report(ctx context.Context, caller access.Caller, accountID string) (Report, error) {
	t := caller.Tenant
	if err := s.Access.Require(ctx, caller, access.ReadAccount, accountID); err != nil {
		return Report{}, err
	}
	terms, err := s.Terms.Terms(ctx, t, accountID)
	if err != nil {
		return Report{}, err
	}
	current := PeriodAt(terms.Anchor, s.Clock.Now())
	key := t.UsagePeriod(accountID, current.Start)
	page, err := s.Store.QueryPage(ctx, store.Query{Partition: key.PK, SKPrefix: table.UsagePeriodPrefix, Newest: true,
		Limit: MaxPastPeriods + 2})
	if err != nil {
		return Report{}, err
	}
	out := Report{AccountID: accountID, Period: current, Metrics: metricsOf(nil, terms.Allowances), PastPeriods: []PastPeriod{}}
	for _, item := range page.Items {
		p, err := decodePeriod(item)
		if err != nil {
			return Report{}, err
		}
		switch {
		case p.Start.Equal(current.Start):
			out.Metrics = metricsOf(p.Used, terms.Allowances)
			out.LastResetAt = p.LastResetAt
		case p.Start.Before(current.Start) && len(out.PastPeriods) < MaxPastPeriods:
			out.PastPeriods = append(out.PastPeriods, pastPeriod(p, terms))
		}
	}
	return out, nil
}

func pastPeriod(p periodItem, terms Terms) PastPeriod {
	pp := PastPeriod{Period: Period{Start: p.Start, End: p.End}, Status: statusOpen, FinalizedAt: p.FinalizedAt}
	if p.FinalizedAt == nil {
		pp.Metrics = metricsOf(p.Used, terms.Allowances)
		return pp
	}
	pp.Status = statusFinal
	for _, m := range p.Final {
		pp.Metrics = append(pp.Metrics, m)
	}
	sort.Slice(pp.Metrics, func(i, j int) bool { return pp.Metrics[i].Metric < pp.Metrics[j].Metric })
	if pp.Metrics == nil {
		pp.Metrics = []MetricUsage{}
	}
	return pp
}
