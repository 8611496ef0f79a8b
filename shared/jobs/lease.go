package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// DefaultLease is how long a run holds its job's lease when its context has
// no deadline (locally): the Lambda timeout of the functions that run jobs.
// In Lambda the lease lasts until the invocation's deadline, after which
// Lambda has stopped the run anyway.
const DefaultLease = 5 * time.Minute

// releaseTimeout bounds the release, which runs on a context of its own so
// that a run that used up its deadline still releases when it can.
const releaseTimeout = 5 * time.Second

// Lease attribute names.
const (
	attrLeaseUntil = "leaseUntil" // epoch seconds: the lease is free from then on
	attrOwner      = "owner"      // the run holding it: its Lambda request id, or a random id
)

// ErrLeaseHeld is the failed condition of a lease another run holds.
var ErrLeaseHeld = errors.New("the job's lease is held by another run")

// Lease keeps each scheduled job to one run at a time, with one item per
// job (table.JobLease) written conditionally: a run takes the lease when it
// is absent or expired, works, and deletes it (only if it still owns it)
// when it ends, whether the work succeeded, failed or panicked. A run that
// crashes without releasing holds it until it expires, at the run's
// deadline.
type Lease struct {
	Store *store.Store
	Clock clock.Clock
	Log   *slog.Logger
}

type leaseItem struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	Type       string `dynamodbav:"type"`
	Job        string `dynamodbav:"job"`
	Owner      string `dynamodbav:"owner"`
	LeaseUntil int64  `dynamodbav:"leaseUntil"`
	TTL        int64  `dynamodbav:"ttl"`
}

// Run runs work as the one run of job, under its lease. When another run
// holds the lease, Run logs it at INFO and returns nil without working: the
// job is running, which is not a failure. The work's context ends when the
// lease does, so the work never outlives it.
func (l Lease) Run(ctx context.Context, job string, work func(ctx context.Context) error) (err error) {
	hold := DefaultLease
	if dl, ok := ctx.Deadline(); ok {
		hold = time.Until(dl)
	}
	owner := runOwner(ctx)
	now := l.Clock.Now()
	until := now.Add(hold)
	key := table.JobLease(job)
	put := store.Put(leaseItem{PK: key.PK, SK: key.SK, Type: "JOBLEASE", Job: job, Owner: owner,
		LeaseUntil: ceilUnix(until), TTL: ceilUnix(until.Add(24 * time.Hour))}).
		If(store.NotExists().Or(expression.Name(attrLeaseUntil).LessThan(expression.Value(now.Unix())))).
		OrFail(ErrLeaseHeld)
	if err := l.Store.Do(ctx, "take the lease of job "+job, put); err != nil {
		if errors.Is(err, ErrLeaseHeld) {
			l.held(ctx, job)
			return nil
		}
		return err
	}
	defer func() {
		if rerr := l.release(ctx, job, owner); rerr != nil {
			l.Log.WarnContext(ctx, "job lease not released", "job", job, "error", rerr.Error())
		}
	}()
	workCtx, cancel := context.WithTimeout(ctx, hold)
	defer cancel()
	return work(workCtx)
}

// held logs who holds the lease (a Lambda request id), for the operator.
func (l Lease) held(ctx context.Context, job string) {
	var holder leaseItem
	attrs := []any{"job", job}
	if ok, err := l.Store.Get(ctx, table.JobLease(job), &holder); err == nil && ok {
		attrs = append(attrs, "heldBy", holder.Owner, "leaseUntil", holder.LeaseUntil)
	}
	l.Log.InfoContext(ctx, "job already running: this run does nothing", attrs...)
}

func (l Lease) release(ctx context.Context, job, owner string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	del := store.Delete(table.JobLease(job)).If(store.Is(attrOwner, owner)).OrFail(ErrLeaseHeld)
	if err := l.Store.Do(ctx, "release the lease of job "+job, del); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// runOwner names the run: its Lambda request id, else a random id.
func runOwner(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "run-" + hex.EncodeToString(b[:])
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// Exclusive is run, a job's handler, under the lease of job: the handler
// of a scheduled function (an EventBridge event in) that never overlaps
// itself.
func Exclusive[E any](l Lease, job string, run func(ctx context.Context, ev E) error) func(ctx context.Context, ev E) error {
	return func(ctx context.Context, ev E) error {
		return l.Run(ctx, job, func(ctx context.Context) error { return run(ctx, ev) })
	}
}
