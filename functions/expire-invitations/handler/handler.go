// Package handler is the expire-invitations job: on its EventBridge
// schedule it marks pending invitations past their 7 days as expired, by
// Query on the sparse due index (never a Scan), and logs what it did.
package handler

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/jobs"
	"github.com/acme/accountadmin/shared/service"
)

// Handler is the job's Lambda handler.
type Handler func(ctx context.Context, ev events.EventBridgeEvent) error

// New returns the job.
func New(d service.Deps) Handler { return NewWith(d, invitations.New(d)) }

// NewWith runs the job with a given service.
func NewWith(d service.Deps, svc *invitations.Service) Handler {
	lease := jobs.Lease{Store: d.Store, Clock: d.Clock, Log: d.Log.With("job", invitations.ExpiryJob)}
	return jobs.Exclusive(lease, invitations.ExpiryJob, func(ctx context.Context, ev events.EventBridgeEvent) error {
		l := d.Log.With("job", invitations.ExpiryJob, "eventId", ev.ID)
		rep, err := svc.ExpireDue(ctx)
		attrs := []any{"expired", rep.Expired, "skipped", rep.Skipped, "failed", rep.Failed,
			"buckets", rep.Buckets, "indexItemsRead", rep.IndexItemsRead, "itemsRead", rep.ItemsRead}
		if err != nil {
			// Returning the error makes the scheduler retry the run; a run
			// changes each invitation at most once, so that is safe.
			l.ErrorContext(ctx, "expire invitations failed", append(attrs, "error", err.Error())...)
			return fmt.Errorf("expire invitations: %w", err)
		}
		l.InfoContext(ctx, "expired invitations", attrs...)
		return nil
	})
}
