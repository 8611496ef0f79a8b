package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/jobs"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// leaseWorld is one test's lease on DynamoDB Local, with a job name of its
// own (the lease of a job is one item per table).
type leaseWorld struct {
	env   *testkit.Env
	lease jobs.Lease
	job   string
}

func newLeaseWorld(t *testing.T) *leaseWorld {
	t.Helper()
	env := testkit.New(t)
	return &leaseWorld{env: env, lease: jobs.Lease{Store: env.Store, Clock: env.Clock, Log: env.Log},
		job: "test-job-" + strings.ToLower(ids.NewSecret()[:10])}
}

// blocking starts a run of job whose work counts itself in works, says
// started, and waits for gate; the run's result arrives on the returned
// channel.
func (w *leaseWorld) blocking(ctx context.Context, job string, works *atomic.Int64, started chan<- struct{}, gate <-chan struct{}) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- w.lease.Run(ctx, job, func(context.Context) error {
			works.Add(1)
			started <- struct{}{}
			<-gate
			return nil
		})
	}()
	return done
}

func (w *leaseWorld) leaseItem(t *testing.T) (found bool, owner string, until int64) {
	t.Helper()
	var item struct {
		Owner      string `dynamodbav:"owner"`
		LeaseUntil int64  `dynamodbav:"leaseUntil"`
	}
	ok, err := w.env.Store.Get(context.Background(), table.JobLease(w.job), &item)
	if err != nil {
		t.Fatal(err)
	}
	return ok, item.Owner, item.LeaseUntil
}

func TestTwoConcurrentRunsOfAJobWorkOnce(t *testing.T) {
	t.Parallel()
	w := newLeaseWorld(t)
	var works atomic.Int64
	started := make(chan struct{}, 2)
	gate := make(chan struct{})
	a := w.blocking(context.Background(), w.job, &works, started, gate)
	b := w.blocking(context.Background(), w.job, &works, started, gate)

	// One of them works and blocks; the other finds the lease held and
	// returns, successfully, without working.
	<-started
	var first error
	rest := b
	select {
	case first = <-a:
	case first = <-b:
		rest = a
	case <-started:
		close(gate)
		t.Fatal("both runs worked at once")
	}
	if first != nil || works.Load() != 1 {
		t.Fatalf("the run that found the lease held: %v, works %d", first, works.Load())
	}
	if !strings.Contains(w.env.Logs.String(), `"msg":"job already running: this run does nothing"`) {
		t.Fatalf("no INFO line for the held lease:\n%s", w.env.Logs.String())
	}
	if found, _, _ := w.leaseItem(t); !found {
		t.Fatal("the working run holds no lease item")
	}
	close(gate)
	if err := <-rest; err != nil {
		t.Fatal(err)
	}
	// The lease is released when the run ends: the next run works.
	if found, _, _ := w.leaseItem(t); found {
		t.Fatal("the lease is still held after its run ended")
	}
	if err := w.lease.Run(context.Background(), w.job, func(context.Context) error { works.Add(1); return nil }); err != nil || works.Load() != 2 {
		t.Fatalf("the next run: %v, works %d", err, works.Load())
	}
}

// Many runs at once: still exactly one works.
func TestManyRacingRunsWorkOnce(t *testing.T) {
	t.Parallel()
	w := newLeaseWorld(t)
	var works, others atomic.Int64
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blocked := false
			err := w.lease.Run(context.Background(), w.job, func(context.Context) error {
				if works.Add(1) == 1 {
					blocked = true
					<-gate // the first to work holds on until every other run is over
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			if !blocked && others.Add(1) == 7 {
				close(gate)
			}
		}()
	}
	wg.Wait()
	if works.Load() != 1 {
		t.Fatalf("%d of 8 racing runs worked", works.Load())
	}
}

func TestAnExpiredLeaseIsTakenOver(t *testing.T) {
	t.Parallel()
	w := newLeaseWorld(t)
	var works atomic.Int64
	started := make(chan struct{}, 1)
	gate := make(chan struct{})
	a := w.blocking(context.Background(), w.job, &works, started, gate)
	<-started

	// Still held a second before it expires...
	w.env.Clock.Advance(jobs.DefaultLease - time.Second)
	if err := w.lease.Run(context.Background(), w.job, func(context.Context) error { works.Add(1); return nil }); err != nil || works.Load() != 1 {
		t.Fatalf("before expiry: %v, works %d", err, works.Load())
	}
	// ...and free once it has: a run that never ended (a crashed
	// environment) blocks the job no longer than its lease.
	w.env.Clock.Advance(2 * time.Second)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-takeover"})
	var ownerSeen string
	if err := w.lease.Run(ctx, w.job, func(context.Context) error {
		works.Add(1)
		_, ownerSeen, _ = w.leaseItem(t)
		return nil
	}); err != nil || works.Load() != 2 {
		t.Fatalf("after expiry: %v, works %d", err, works.Load())
	}
	if ownerSeen != "req-takeover" {
		t.Fatalf("the lease's owner is %q, not the Lambda request id", ownerSeen)
	}
	// The first run ends late: it does not delete a lease that is not its own.
	found, _, _ := w.leaseItem(t)
	close(gate)
	if err := <-a; err != nil || found {
		t.Fatalf("first run: %v; lease left by the taker: %v", err, found)
	}
	if !strings.Contains(w.env.Logs.String(), `"msg":"job lease not released"`) {
		t.Fatalf("the late run's release was not refused:\n%s", w.env.Logs.String())
	}
}

// A run taken over must not delete the lease of the run that took over.
func TestALateRunLeavesTheTakersLease(t *testing.T) {
	t.Parallel()
	w := newLeaseWorld(t)
	var works atomic.Int64
	startedA, startedB := make(chan struct{}, 1), make(chan struct{}, 1)
	gateA, gateB := make(chan struct{}), make(chan struct{})
	a := w.blocking(context.Background(), w.job, &works, startedA, gateA)
	<-startedA
	w.env.Clock.Advance(jobs.DefaultLease + time.Second)
	b := w.blocking(context.Background(), w.job, &works, startedB, gateB)
	<-startedB
	_, ownerB, _ := w.leaseItem(t)
	close(gateA)
	if err := <-a; err != nil {
		t.Fatal(err)
	}
	if found, owner, _ := w.leaseItem(t); !found || owner != ownerB {
		t.Fatalf("after the late run ended the lease is %v %q, want %q's", found, owner, ownerB)
	}
	// While b holds it, another run does nothing.
	if err := w.lease.Run(context.Background(), w.job, func(context.Context) error { works.Add(1); return nil }); err != nil || works.Load() != 2 {
		t.Fatalf("beside the taker: %v, works %d", err, works.Load())
	}
	close(gateB)
	if err := <-b; err != nil {
		t.Fatal(err)
	}
}

func TestAFailedOrPanickedRunReleasesTheLease(t *testing.T) {
	t.Parallel()
	w := newLeaseWorld(t)
	boom := errors.New("boom")
	if err := w.lease.Run(context.Background(), w.job, func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("a failed run answers %v, want its failure", err)
	}
	if found, _, _ := w.leaseItem(t); found {
		t.Fatal("a failed run kept the lease")
	}
	func() {
		defer func() {
			if r := recover(); r != "job panicked" {
				t.Fatalf("recovered %v, want the job's panic to go on", r)
			}
		}()
		_ = w.lease.Run(context.Background(), w.job, func(context.Context) error { panic("job panicked") })
	}()
	if found, _, _ := w.leaseItem(t); found {
		t.Fatal("a panicked run kept the lease")
	}
	ran := false
	if err := w.lease.Run(context.Background(), w.job, func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("the run after: %v, ran %v", err, ran)
	}
}

func TestTheLeaseOfAnotherJobDoesNotBlock(t *testing.T) {
	t.Parallel()
	w := newLeaseWorld(t)
	var works atomic.Int64
	started := make(chan struct{}, 1)
	gate := make(chan struct{})
	a := w.blocking(context.Background(), w.job, &works, started, gate)
	<-started
	if err := w.lease.Run(context.Background(), w.job+"-other", func(context.Context) error { works.Add(1); return nil }); err != nil || works.Load() != 2 {
		t.Fatalf("another job: %v, works %d", err, works.Load())
	}
	close(gate)
	if err := <-a; err != nil {
		t.Fatal(err)
	}
}

// In Lambda the lease lasts until the invocation's deadline (the function's
// timeout), and the work's context ends with it.
func TestTheLeaseLastsUntilTheInvocationDeadline(t *testing.T) {
	t.Parallel()
	w := newLeaseWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctxDeadline, _ := ctx.Deadline()
	now := w.env.Clock.Now()
	if err := w.lease.Run(ctx, w.job, func(work context.Context) error {
		_, _, until := w.leaseItem(t)
		if until > now.Add(90*time.Second).Unix()+1 || until < now.Add(60*time.Second).Unix() {
			t.Errorf("leaseUntil %d, want about %d (the deadline, not %s)", until, now.Add(90*time.Second).Unix(), jobs.DefaultLease)
		}
		if dl, ok := work.Deadline(); !ok || dl.After(ctxDeadline) {
			t.Errorf("the work's deadline %v %v is after the invocation's %v", dl, ok, ctxDeadline)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Without a deadline (locally) the lease is DefaultLease long.
	if err := w.lease.Run(context.Background(), w.job, func(work context.Context) error {
		if _, _, until := w.leaseItem(t); until != now.Add(jobs.DefaultLease).Unix() {
			t.Errorf("leaseUntil %d, want %d", until, now.Add(jobs.DefaultLease).Unix())
		}
		if _, ok := work.Deadline(); !ok {
			t.Error("the work may outlive its lease")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
