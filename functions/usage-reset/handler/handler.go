// Package handler is the usage-reset function. It serves the rows of the
// route table (shared/routes) whose Function is "usage-reset" (record and
// read usage, reset it now), each registered under its row's Op, and, on
// its EventBridge schedule, the usage-rollover job, which finalises the
// billing periods that ended. One Lambda receives both kinds of event; New
// tells them apart.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/jobs"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/usage"
)

// Job is the scheduled job's handler.
type Job = httpapi.Job

// New returns the Lambda handler: HTTP API requests go to the routes,
// EventBridge events to the rollover job.
func New(d service.Deps) func(ctx context.Context, raw json.RawMessage) (any, error) {
	svc := Service(d)
	return httpapi.Entry("usage-reset", NewHTTPWith(d, svc), NewJobWith(d, svc))
}

// NewHTTP returns the routes' handler.
func NewHTTP(d service.Deps) httpapi.LambdaHandler { return NewHTTPWith(d, Service(d)) }

// NewJob returns the rollover job.
func NewJob(d service.Deps) Job { return NewJobWith(d, Service(d)) }

// Service is the usage service measuring against the account's effective
// limits (its plan, or the tenant's default plan, plus its overrides:
// usage.PlanTerms), the limits the API shows.
func Service(d service.Deps) *usage.Service { return usage.New(d) }

type handler struct {
	usage *usage.Service
}

// NewHTTPWith serves the routes with a given service.
func NewHTTPWith(d service.Deps, svc *usage.Service) httpapi.LambdaHandler {
	h := handler{usage: svc}
	server := httpapi.Server{Log: d.Log, Sessions: &auth.Service{Store: d.Store, Clock: d.Clock},
		Idempotency: httpapi.Idempotency{Store: d.Store, Clock: d.Clock}}
	return server.Serve(httpapi.Ops{
		"recordUsage": httpapi.JSONBody(h.record),
		"getUsage":    h.report,
		"resetUsage":  httpapi.OptionalJSONBody(h.reset), // no body, or {}
	})
}

// NewJobWith runs the rollover with a given service.
func NewJobWith(d service.Deps, svc *usage.Service) Job {
	lease := jobs.Lease{Store: d.Store, Clock: d.Clock, Log: d.Log.With("job", usage.RolloverJob)}
	return jobs.Exclusive(lease, usage.RolloverJob, func(ctx context.Context, ev events.EventBridgeEvent) error {
		l := d.Log.With("job", usage.RolloverJob, "eventId", ev.ID)
		rep, err := svc.Rollover(ctx)
		attrs := []any{"finalised", rep.Finalised, "skipped", rep.Skipped, "failed", rep.Failed,
			"buckets", rep.Buckets, "indexItemsRead", rep.IndexItemsRead}
		if err != nil {
			// Returning the error makes the scheduler retry the run; a run
			// finalises each period at most once, so that is safe.
			l.ErrorContext(ctx, "usage rollover failed", append(attrs, "error", err.Error())...)
			return fmt.Errorf("usage rollover: %w", err)
		}
		l.InfoContext(ctx, "usage rollover", attrs...)
		return nil
	})
}

// record answers 200 with the counter after the record, or 429 with the
// limit and the instant it renews.
func (h handler) record(ctx context.Context, in httpapi.In, body usage.RecordRequest) (httpapi.Response, error) {
	cmd, err := body.Command(in.Caller, in.Path("accountId"))
	if err != nil {
		return httpapi.Response{}, err
	}
	res, err := h.usage.Record(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, res), nil
}

func (h handler) report(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	rep, err := h.usage.Report(ctx, in.Caller, in.Path("accountId"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, rep), nil
}

// reset takes no body (or an empty object); it answers 200 with the values
// it replaced.
func (h handler) reset(ctx context.Context, in httpapi.In, _ struct{}) (httpapi.Response, error) {
	res, err := h.usage.Reset(ctx, in.Caller, in.Path("accountId"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, res), nil
}
