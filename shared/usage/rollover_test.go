package usage_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/usage"
)

func (w *world) rollover(t testing.TB) usage.RolloverReport {
	t.Helper()
	rep, err := w.svc.Rollover(context.Background())
	if err != nil {
		t.Fatalf("rollover: %v (%+v)", err, rep)
	}
	return rep
}

func TestRolloverFinalisesEndedPeriodsOnce(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	w.allow(t, w.ten.AccountID, map[string]usage.Allowance{usage.MetricTasks: {Limit: 10, UsageBased: true}})
	second := w.env.AddAccount(t, w.ten, "Second") // created at Start too: same periods
	quiet := w.env.AddAccount(t, w.ten, "Quiet")   // records nothing: nothing to finalise
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 14)
	w.mustRecord(t, w.ten.AccountID, usage.MetricWebhooks, 2)
	if _, err := w.record(w.supportIn(second), second, usage.MetricTasks, 1); err != nil {
		t.Fatal(err)
	}

	// Before the end, nothing is due.
	w.env.Clock.Set(periodEnd.Add(-time.Second))
	if rep := w.rollover(t); rep.Finalised != 0 || rep.IndexItemsRead != 0 {
		t.Fatalf("before the end: %+v", rep)
	}
	w.env.Clock.Set(periodEnd.Add(10 * time.Minute))
	if rep := w.rollover(t); rep.Finalised != 2 || rep.Failed != 0 || rep.IndexItemsRead != 2 {
		t.Fatalf("first run: %+v", rep)
	}
	// Run twice: the finalised periods left the due index.
	if rep := w.rollover(t); rep.Finalised != 0 || rep.IndexItemsRead != 0 {
		t.Fatalf("second run: %+v", rep)
	}
	rep := w.report(t, w.ten.AccountID)
	if len(rep.PastPeriods) != 1 {
		t.Fatalf("past periods: %+v", rep.PastPeriods)
	}
	past := rep.PastPeriods[0]
	tasks := metric(past.Metrics, usage.MetricTasks)
	if past.Status != "final" || tasks.Used != 14 || tasks.Overage != 4 || metric(past.Metrics, usage.MetricWebhooks).Used != 2 {
		t.Fatalf("finalised period: %+v", past)
	}
	for _, acc := range []string{w.ten.AccountID, second} {
		log := w.changes(t, acc, "usage.period_closed")
		if len(log) != 1 || log[0].Actor != changelog.System(usage.RolloverJob) {
			t.Fatalf("account %s log: %+v", acc, log)
		}
	}
	if log := w.changes(t, w.ten.AccountID, "usage.period_closed"); log[0].After["overage"].(map[string]any)[usage.MetricTasks] != float64(4) {
		t.Fatalf("logged overage: %+v", log[0].After)
	}
	if log := w.changes(t, quiet, "usage.period_closed"); len(log) != 0 {
		t.Fatalf("quiet account: %+v", log)
	}
	// The new period is counted from zero regardless.
	if r := w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 1); r.Used != 1 || !r.Period.Start.Equal(periodEnd) {
		t.Fatalf("new period: %+v", r)
	}
}

// The job missed days, then periods: a late run finalises every ended
// period, each once, with the counts it had.
func TestRolloverRunLate(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 3)
	// A missed day: the run comes a day and a half after the end.
	w.env.Clock.Set(periodEnd.Add(36 * time.Hour))
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 5) // the next period
	if rep := w.rollover(t); rep.Finalised != 1 {
		t.Fatalf("a day late: %+v", rep)
	}
	// Then no run for a whole period and two days (within the look-back).
	third := usage.PeriodAt(periodStart, periodEnd).End
	w.env.Clock.Set(third.Add(time.Hour))
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 7)
	w.env.Clock.Set(usage.PeriodAt(periodStart, third).End.Add(50 * time.Hour))
	if rep := w.rollover(t); rep.Finalised != 2 || rep.Failed != 0 {
		t.Fatalf("two periods late: %+v", rep)
	}
	rep := w.report(t, w.ten.AccountID)
	var got []int64
	for _, p := range rep.PastPeriods {
		if p.Status != "final" {
			t.Fatalf("not finalised: %+v", p)
		}
		got = append(got, metric(p.Metrics, usage.MetricTasks).Used)
	}
	if len(got) != 3 || got[0] != 7 || got[1] != 5 || got[2] != 3 {
		t.Fatalf("past periods newest first: %v", got)
	}
	if rep := w.rollover(t); rep.Finalised != 0 {
		t.Fatalf("again: %+v", rep)
	}
}

// Records keep arriving while the job runs: the ended period keeps exactly
// what it had, the new one gets every new record, nothing is lost.
func TestRolloverDuringRecords(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	w.allow(t, w.ten.AccountID, map[string]usage.Allowance{usage.MetricTasks: {Unlimited: true}})
	for range 5 {
		w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 2)
	}
	w.env.Clock.Set(periodEnd.Add(time.Minute))
	var sent atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.record(w.admin, w.ten.AccountID, usage.MetricTasks, 1); err != nil {
				t.Error(err)
				return
			}
			sent.Add(1)
		}()
	}
	rep := w.rollover(t)
	wg.Wait()
	if rep.Finalised != 1 {
		t.Fatalf("rollover: %+v", rep)
	}
	r := w.report(t, w.ten.AccountID)
	if metric(r.Metrics, usage.MetricTasks).Used != sent.Load() || metric(r.PastPeriods[0].Metrics, usage.MetricTasks).Used != 10 {
		t.Fatalf("current %+v, past %+v, sent %d", r.Metrics, r.PastPeriods, sent.Load())
	}
}

// A function whose clock is a little behind records into a period the job
// has already finalised: the count lands in the next period, once.
func TestRecordBehindTheJobCountsInTheNextPeriod(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 4)
	w.env.Clock.Set(periodEnd.Add(time.Second))
	if rep := w.rollover(t); rep.Finalised != 1 {
		t.Fatalf("rollover: %+v", rep)
	}
	behind := *w.svc
	behind.Clock = clock.NewManual(periodEnd.Add(-time.Second))
	cmdAmount := int64(3)
	cmd, err := usage.RecordRequest{Metric: usage.MetricTasks, Amount: &cmdAmount}.Command(w.admin, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := behind.Record(context.Background(), cmd)
	if err != nil || !r.Period.Start.Equal(periodEnd) || r.Used != 3 {
		t.Fatalf("late record: %+v %v", r, err)
	}
	rep := w.report(t, w.ten.AccountID)
	if metric(rep.Metrics, usage.MetricTasks).Used != 3 || metric(rep.PastPeriods[0].Metrics, usage.MetricTasks).Used != 4 {
		t.Fatalf("report: %+v", rep)
	}
}

// The job reads what is due, not the table: periods still running, however
// many, cost it nothing.
func TestRolloverCostFollowsWhatIsDue(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 1)
	// Forty more accounts, created later, so their periods end later.
	w.env.Clock.Set(periodStart.Add(10 * 24 * time.Hour))
	for i := range 40 {
		acc := w.env.AddAccount(t, w.ten, "Later")
		if _, err := w.record(w.supportIn(acc), acc, usage.MetricTasks, int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	w.env.Clock.Set(periodEnd.Add(time.Hour))
	w.env.Calls.Reset()
	rep := w.rollover(t)
	if rep.Finalised != 1 || rep.IndexItemsRead != 1 {
		t.Fatalf("rollover: %+v", rep)
	}
	// One Query per day bucket, then for the one due period: terms (one
	// batch), the period, the transaction.
	if calls, max := w.env.Calls.Count(), int64(rep.Buckets+3); calls > max {
		t.Fatalf("%d DynamoDB calls for one due period and %d buckets (want at most %d)", calls, rep.Buckets, max)
	}
}

// The schedule delivers the rollover event twice at the same moment (at
// least once delivery): each ended period is finalised exactly once, with
// its counts, and logged once.
func TestRolloverDeliveredTwiceConcurrently(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	w.allow(t, w.ten.AccountID, map[string]usage.Allowance{usage.MetricTasks: {Limit: 100}})
	var accts []string
	for i := range 8 {
		acc := w.env.AddAccount(t, w.ten, fmt.Sprintf("Account %d", i))
		w.env.AddMembership(t, w.ten, acc, w.ten.AdminID, w.ten.AdminEmail, access.RoleAdmin)
		if _, err := w.record(w.supportIn(acc), acc, usage.MetricTasks, int64(i+1)); err != nil {
			t.Fatal(err)
		}
		accts = append(accts, acc)
	}
	w.env.Clock.Set(periodEnd.Add(time.Minute))
	var wg sync.WaitGroup
	reps := make([]usage.RolloverReport, 2)
	for i := range reps {
		wg.Add(1)
		go func() { defer wg.Done(); reps[i] = w.rollover(t) }()
	}
	wg.Wait()
	if got := reps[0].Finalised + reps[1].Finalised; got != len(accts) {
		t.Fatalf("finalised %d periods in all, want %d: %+v", got, len(accts), reps)
	}
	for i, acc := range accts {
		if log := w.changes(t, acc, "usage.period_closed"); len(log) != 1 {
			t.Fatalf("account %d: %d period_closed entries", i, len(log))
		}
		past := w.report(t, acc).PastPeriods
		if len(past) != 1 || past[0].Status != "final" || metric(past[0].Metrics, usage.MetricTasks).Used != int64(i+1) {
			t.Fatalf("account %d: past periods %+v", i, past)
		}
	}
}
