package usage_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/usage"
)

// The tenant's account was created at testkit.Start, its billing anchor.
var (
	periodStart = testkit.Start
	periodEnd   = testkit.Start.AddDate(0, 1, 0)
)

func TestRecordCountsAndRefusesAtTheLimit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.allow(t, w.ten.AccountID, map[string]usage.Allowance{usage.MetricTasks: {Limit: 5}})

	r := w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 3)
	if r.Used != 3 || *r.Limit != 5 || *r.Remaining != 2 || !r.Period.Start.Equal(periodStart) || !r.Period.End.Equal(periodEnd) {
		t.Fatalf("first record: %+v", r)
	}
	_, err := w.record(w.admin, w.ten.AccountID, usage.MetricTasks, 3)
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindRateLimited || e.Code != "usage_limit_reached" {
		t.Fatalf("over the limit: %v", err)
	}
	if e.Extra["limit"] != int64(5) || e.Extra["used"] != int64(3) || !e.Extra["resetAt"].(time.Time).Equal(periodEnd) ||
		e.Extra["retryAfterSeconds"] != int64(periodEnd.Sub(testkit.Start).Seconds()) {
		t.Fatalf("429 members: %v", e.Extra)
	}
	if r := w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 2); r.Used != 5 || *r.Remaining != 0 {
		t.Fatalf("up to the limit: %+v", r)
	}
	if _, err := w.record(w.admin, w.ten.AccountID, usage.MetricTasks, 1); apperr.KindOf(err) != apperr.KindRateLimited {
		t.Fatalf("at the limit: %v", err)
	}
	// An amount larger than the whole allowance is refused without a write.
	if _, err := w.record(w.admin, w.ten.AccountID, usage.MetricTasks, 6); apperr.KindOf(err) != apperr.KindRateLimited {
		t.Fatalf("more than the allowance: %v", err)
	}
	// Other metrics keep their own allowance (the built-in default here).
	if r := w.mustRecord(t, w.ten.AccountID, usage.MetricWebhooks, 7); r.Used != 7 || *r.Limit != plans.DefaultAllowances[usage.MetricWebhooks].Limit {
		t.Fatalf("webhooks: %+v", r)
	}
	_, err = w.record(w.admin, w.ten.AccountID, "invoices", 1)
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindUnprocessable || e.Fields[0].Code != "unknown_metric" {
		t.Fatalf("unknown metric: %v", err)
	}
	rep := w.report(t, w.ten.AccountID)
	if metric(rep.Metrics, usage.MetricTasks).Used != 5 || metric(rep.Metrics, usage.MetricWebhooks).Used != 7 {
		t.Fatalf("report: %+v", rep.Metrics)
	}
}

// The tenant names its own billing unit; account overrides replace the
// tenant's allowance metric by metric.
func TestTenantBillingUnitAndAccountOverrides(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.allow(t, "", map[string]usage.Allowance{"invoices": {Limit: 10}, usage.MetricTasks: {Limit: 100}})
	second := w.env.AddAccount(t, w.ten, "Second")
	w.allow(t, second, map[string]usage.Allowance{"invoices": {Limit: 2, UsageBased: true}})

	if r := w.mustRecord(t, w.ten.AccountID, "invoices", 10); r.Used != 10 || *r.Limit != 10 {
		t.Fatalf("tenant unit: %+v", r)
	}
	if _, err := w.record(w.admin, w.ten.AccountID, "invoices", 1); apperr.KindOf(err) != apperr.KindRateLimited {
		t.Fatalf("tenant unit limit: %v", err)
	}
	r, err := w.record(w.supportIn(second), second, "invoices", 5)
	if err != nil || r.Used != 5 || r.Overage != 3 || !r.UsageBased {
		t.Fatalf("override: %+v %v", r, err)
	}
	// The operator reads the usage report without a switch.
	rep, err := w.svc.Report(context.Background(), w.operator, second)
	if err != nil {
		t.Fatal(err)
	}
	if m := metric(rep.Metrics, usage.MetricTasks); *m.Limit != 100 || m.Used != 0 {
		t.Fatalf("tenant default kept beside the override: %+v", m)
	}
	if m := metric(rep.Metrics, usage.MetricWebhooks); *m.Limit != plans.DefaultAllowances[usage.MetricWebhooks].Limit {
		t.Fatalf("built-in default kept: %+v", m)
	}
}

// 100 requests race for an allowance of 50: exactly 50 are counted, 50 are
// refused, none is lost.
func TestRacingRecordsNeverPassTheLimit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.allow(t, w.ten.AccountID, map[string]usage.Allowance{usage.MetricTasks: {Limit: 50}})
	var ok, refused, other atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := w.record(w.admin, w.ten.AccountID, usage.MetricTasks, 1)
			switch {
			case err == nil:
				ok.Add(1)
			case apperr.KindOf(err) == apperr.KindRateLimited:
				refused.Add(1)
			default:
				other.Add(1)
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	used := metric(w.report(t, w.ten.AccountID).Metrics, usage.MetricTasks).Used
	if ok.Load() != 50 || refused.Load() != 50 || other.Load() != 0 || used != 50 {
		t.Fatalf("ok=%d refused=%d other=%d used=%d", ok.Load(), refused.Load(), other.Load(), used)
	}
}

// Racing amounts of different sizes: what was accepted is exactly what was
// counted, and the counter never passes the limit.
func TestRacingAmountsAddUpExactly(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.allow(t, w.ten.AccountID, map[string]usage.Allowance{usage.MetricTasks: {Limit: 120}, usage.MetricWebhooks: {Limit: 10, UsageBased: true}})
	var accepted, webhooks atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			amount := int64(i%3 + 1)
			if _, err := w.record(w.admin, w.ten.AccountID, usage.MetricTasks, amount); err == nil {
				accepted.Add(amount)
			} else if apperr.KindOf(err) != apperr.KindRateLimited {
				t.Error(err)
			}
			if _, err := w.record(w.admin, w.ten.AccountID, usage.MetricWebhooks, amount); err != nil {
				t.Error(err) // usage-based: never refused
			}
			webhooks.Add(amount)
		}()
	}
	wg.Wait()
	rep := w.report(t, w.ten.AccountID)
	tasks, hooks := metric(rep.Metrics, usage.MetricTasks), metric(rep.Metrics, usage.MetricWebhooks)
	if tasks.Used != accepted.Load() || tasks.Used > 120 || tasks.Used < 118 {
		t.Fatalf("tasks used %d, accepted %d", tasks.Used, accepted.Load())
	}
	if hooks.Used != webhooks.Load() || hooks.Overage != webhooks.Load()-10 {
		t.Fatalf("webhooks %+v, sent %d", hooks, webhooks.Load())
	}
}

// A new period starts from zero with no job having run; the ended period is
// reported, still open until the rollover finalises it.
func TestNewPeriodNeedsNoJob(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.allow(t, w.ten.AccountID, map[string]usage.Allowance{usage.MetricTasks: {Limit: 10}})
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 10)
	w.env.Clock.Set(periodEnd.Add(-time.Second))
	if _, err := w.record(w.admin, w.ten.AccountID, usage.MetricTasks, 1); apperr.KindOf(err) != apperr.KindRateLimited {
		t.Fatalf("last second of the period: %v", err)
	}
	w.env.Clock.Set(periodEnd)
	r := w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 4)
	if r.Used != 4 || !r.Period.Start.Equal(periodEnd) {
		t.Fatalf("new period: %+v", r)
	}
	rep := w.report(t, w.ten.AccountID)
	if !rep.Period.Start.Equal(periodEnd) || metric(rep.Metrics, usage.MetricTasks).Used != 4 || len(rep.PastPeriods) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	past := rep.PastPeriods[0]
	if !past.Start.Equal(periodStart) || past.Status != "open" || metric(past.Metrics, usage.MetricTasks).Used != 10 {
		t.Fatalf("past period: %+v", past)
	}
}

func TestResetZeroesTheCountersAndLogsTheValuesBefore(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 7)
	w.mustRecord(t, w.ten.AccountID, usage.MetricWebhooks, 3)
	w.env.Clock.Advance(time.Hour)

	res, err := w.svc.Reset(context.Background(), w.operator, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Before[usage.MetricTasks] != 7 || res.Before[usage.MetricWebhooks] != 3 || !res.Period.Start.Equal(periodStart) {
		t.Fatalf("reset: %+v", res)
	}
	rep := w.report(t, w.ten.AccountID)
	if metric(rep.Metrics, usage.MetricTasks).Used != 0 || metric(rep.Metrics, usage.MetricWebhooks).Used != 0 ||
		rep.LastResetAt == nil || !rep.LastResetAt.Equal(w.env.Clock.Now()) {
		t.Fatalf("after reset: %+v", rep)
	}
	// Tenant administration without a switch: kind operator, only the id.
	log := w.changes(t, w.ten.AccountID, "usage.reset")
	if len(log) != 1 || log[0].Actor != (changelog.Actor{Kind: changelog.ActorOperator, ID: w.operator.UserID}) {
		t.Fatalf("change log: %+v", log)
	}
	before := log[0].Before["used"].(map[string]any)
	if before[usage.MetricTasks] != float64(7) || before[usage.MetricWebhooks] != float64(3) {
		t.Fatalf("logged before: %v", log[0].Before)
	}
	// Usage counts again from zero.
	if r := w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 2); r.Used != 2 {
		t.Fatalf("after reset: %+v", r)
	}
	// A reset of a period with no usage yet is logged too, with nothing
	// before; by an operator switched into that account, as support with
	// the account and the reason.
	other := w.env.AddAccount(t, w.ten, "Quiet")
	if res, err := w.svc.Reset(context.Background(), w.supportIn(other), other); err != nil || len(res.Before) != 0 {
		t.Fatalf("empty reset: %+v %v", res, err)
	}
	want := changelog.Actor{Kind: changelog.ActorSupport, ID: w.operator.UserID, AccountID: other, Reason: supportReason}
	if log := w.changes(t, other, "usage.reset"); len(log) != 1 || log[0].Actor != want {
		t.Fatalf("support reset log: %+v", log)
	}
}

// Resetting usage is tenant administration (usage.reset, a billing
// action): the account's Admin is refused (403) and nothing changes, not
// the counters nor the change log; an operator resets without a switch;
// a member whose custom role explicitly holds usage.reset (defined by an
// operator) may reset, logged as themselves.
func TestResetIsTenantAdministration(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 4)
	used := func() int64 { return metric(w.report(t, w.ten.AccountID).Metrics, usage.MetricTasks).Used }

	_, err := w.svc.Reset(ctx, w.admin, w.ten.AccountID)
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindForbidden {
		t.Fatalf("admin reset: %v, want 403", err)
	}
	if n := used(); n != 4 || len(w.changes(t, w.ten.AccountID, "usage.reset")) != 0 {
		t.Fatalf("a refused reset changed something: used %d, log %+v", n, w.changes(t, w.ten.AccountID, "usage.reset"))
	}
	if res, err := w.svc.Reset(ctx, w.operator, w.ten.AccountID); err != nil || res.Before[usage.MetricTasks] != 4 || used() != 0 {
		t.Fatalf("operator reset: %+v %v", res, err)
	}

	// A custom role that holds usage.reset, defined by an operator.
	adm := administration.New(w.env.Service())
	def, err := administration.RoleRequest{Permissions: []access.Action{access.ResetUsage}}.Command(w.operator, "Billing", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.PutRole(ctx, def); err != nil {
		t.Fatalf("define the role: %v", err)
	}
	clerk := w.env.AddUser(t, w.ten, w.ten.AccountID, "billing@usage-reset.example", "", "Billing")
	asClerk := callerOf(w.ten, clerk.ID, w.ten.AccountID, "Billing")
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 3)
	if _, err := w.record(asClerk, w.ten.AccountID, usage.MetricTasks, 1); apperr.KindOf(err) != apperr.KindForbidden {
		t.Fatalf("the billing role records usage: %v", err)
	}
	res, err := w.svc.Reset(ctx, asClerk, w.ten.AccountID)
	if err != nil || res.Before[usage.MetricTasks] != 3 || used() != 0 {
		t.Fatalf("reset by the billing role: %+v %v", res, err)
	}
	log := w.changes(t, w.ten.AccountID, "usage.reset")
	asClerkActor := changelog.Actor{Kind: changelog.ActorUser, ID: clerk.ID}
	byClerk := func(e changelog.Entry) bool { return e.Actor == asClerkActor }
	if len(log) != 2 || !slices.ContainsFunc(log, byClerk) {
		t.Fatalf("change log: %+v", log)
	}
	// The role gives the right in the accounts where it is held only.
	second := w.env.AddAccount(t, w.ten, "Second")
	if _, err := w.svc.Reset(ctx, asClerk, second); apperr.KindOf(err) != apperr.KindForbidden {
		t.Fatalf("the billing role resets an account it is not held in: %v", err)
	}
}

// Resets racing records: every accepted amount is either in the logged
// "before" of exactly one reset or in the counter at the end, never both,
// never neither.
func TestResetDuringRecordsLosesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.allow(t, w.ten.AccountID, map[string]usage.Allowance{usage.MetricTasks: {Unlimited: true}})
	var sent atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
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
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var returned int64
	resets := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		res, err := w.svc.Reset(context.Background(), w.operator, w.ten.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		returned += res.Before[usage.MetricTasks]
		resets++
	}
	var logged int64
	log := w.changes(t, w.ten.AccountID, "usage.reset")
	for _, e := range log {
		if n, ok := e.Before["used"].(map[string]any)[usage.MetricTasks]; ok {
			logged += int64(n.(float64))
		}
	}
	after := metric(w.report(t, w.ten.AccountID).Metrics, usage.MetricTasks).Used
	if len(log) != resets || logged != returned || logged+after != sent.Load() {
		t.Fatalf("%d resets (%d logged): logged %d, returned %d, after %d, sent %d", resets, len(log), logged, returned, after, sent.Load())
	}
}

// Who may do what: every member reads; the Admin records but does not
// reset (tenant administration); Viewers neither record nor reset; an
// Admin of another account is refused (403); another tenant does not see
// the account (404). Operators read and reset anywhere in their tenant,
// and record only while switched into the account (403 switch_required
// otherwise, also when switched into another one). Refusals change nothing.
func TestPermissions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 1)
	viewer := w.env.AddUser(t, w.ten, w.ten.AccountID, "viewer@usage-perm.example", "")
	second := w.env.AddAccount(t, w.ten, "Second")
	otherAdmin := w.env.AddUser(t, w.ten, second, "admin2@usage-perm.example", "", access.RoleAdmin)
	otherTenant := w.env.NewTenant(t)
	inSecond := w.operator
	inSecond.AccountID = second
	switchedElsewhere := w.supportIn(second)

	callers := []struct {
		name                 string
		caller               access.Caller
		record, read, resetK string // "" allowed, else the refusal's code
	}{
		{"viewer", callerOf(w.ten, viewer.ID, w.ten.AccountID, access.RoleViewer), "forbidden", "", "forbidden"},
		{"admin", w.admin, "", "", "forbidden"},
		{"admin of another account", callerOf(w.ten, otherAdmin.ID, second, access.RoleAdmin), "forbidden", "forbidden", "forbidden"},
		{"other tenant's admin", callerOf(otherTenant, otherTenant.AdminID, otherTenant.AccountID, access.RoleAdmin), "not_found", "not_found", "not_found"},
		{"operator, session in another account", inSecond, "switch_required", "", ""},
		{"operator switched into another account", switchedElsewhere, "switch_required", "", ""},
		{"operator switched into the account", w.supportIn(w.ten.AccountID), "", "", ""},
	}
	code := func(err error) string {
		if err == nil {
			return ""
		}
		if e, ok := apperr.As(err); ok {
			return e.Code
		}
		return err.Error()
	}
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			before := metric(w.report(t, w.ten.AccountID).Metrics, usage.MetricTasks).Used
			_, err := w.record(c.caller, w.ten.AccountID, usage.MetricTasks, 1)
			if code(err) != c.record {
				t.Errorf("record: %v, want %q", err, c.record)
			}
			want := before
			if c.record == "" {
				want++
			}
			if got := metric(w.report(t, w.ten.AccountID).Metrics, usage.MetricTasks).Used; got != want {
				t.Errorf("after record: %d, want %d", got, want)
			}
			_, err = w.svc.Report(ctx, c.caller, w.ten.AccountID)
			if code(err) != c.read {
				t.Errorf("read: %v, want %q", err, c.read)
			}
			_, err = w.svc.Reset(ctx, c.caller, w.ten.AccountID)
			if code(err) != c.resetK {
				t.Errorf("reset: %v, want %q", err, c.resetK)
			}
			if c.resetK == "" {
				want = 0
			}
			if got := metric(w.report(t, w.ten.AccountID).Metrics, usage.MetricTasks).Used; got != want {
				t.Errorf("after reset: %d, want %d", got, want)
			}
		})
	}
	if _, err := w.svc.Report(ctx, w.admin, "no-such-account"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown account: %v", err)
	}
}
