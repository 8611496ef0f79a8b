// Package handler is the reassign function: content registration and its
// reassignment. It serves the rows of the route table (shared/routes) whose
// Function is "reassign", each registered under its row's Op, and, on its
// EventBridge schedule, the resume-reassignments job. One Lambda receives
// both kinds of event; New tells them apart.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/content"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/jobs"
	"github.com/acme/accountadmin/shared/service"
)

// Time budgets: a request moves content for RequestBudget, then answers
// with the job's progress (the rest is resumed by the job); the job stops
// JobMargin before its invocation's deadline.
const (
	RequestBudget = 6 * time.Second
	JobMargin     = 30 * time.Second
	jobBudget     = 4 * time.Minute // when the context has no deadline
)

// Job is the scheduled job's handler.
type Job = httpapi.Job

// New returns the Lambda handler: HTTP API requests go to the routes,
// EventBridge events to the resume job.
func New(d service.Deps) func(ctx context.Context, raw json.RawMessage) (any, error) {
	svc := content.New(d)
	return httpapi.Entry("reassign", NewHTTPWith(d, svc), NewJobWith(d, svc))
}

// NewHTTP returns the routes' handler.
func NewHTTP(d service.Deps) httpapi.LambdaHandler { return NewHTTPWith(d, content.New(d)) }

// NewJob returns the resume job.
func NewJob(d service.Deps) Job { return NewJobWith(d, content.New(d)) }

type handler struct {
	content *content.Service
}

// NewHTTPWith serves the routes with a given service.
func NewHTTPWith(d service.Deps, svc *content.Service) httpapi.LambdaHandler {
	h := handler{content: svc}
	server := httpapi.Server{Log: d.Log, Sessions: &auth.Service{Store: d.Store, Clock: d.Clock},
		Idempotency: httpapi.Idempotency{Store: d.Store, Clock: d.Clock}}
	return server.Serve(httpapi.Ops{
		"registerContent": httpapi.JSONBody(h.register),
		"listContent":     h.list,
		"getContent":      h.get,
		"deleteContent":   h.delete,
		"reassignContent": httpapi.JSONBody(h.reassign),
		"getReassignment": h.progress,
	})
}

// NewJobWith runs the resume job with a given service.
func NewJobWith(d service.Deps, svc *content.Service) Job {
	lease := jobs.Lease{Store: d.Store, Clock: d.Clock, Log: d.Log.With("job", content.ResumeJob)}
	return jobs.Exclusive(lease, content.ResumeJob, func(ctx context.Context, ev events.EventBridgeEvent) error {
		l := d.Log.With("job", content.ResumeJob, "eventId", ev.ID)
		budget, cancel := jobContext(ctx)
		defer cancel()
		rep, err := svc.ResumeDue(ctx, budget)
		attrs := []any{"due", rep.Due, "finished", rep.Finished, "left", rep.Left, "failed", rep.Failed, "buckets", rep.Buckets}
		if err != nil {
			// The scheduler retries the run; every page is conditioned on
			// the items' owner, so that is safe.
			l.ErrorContext(ctx, "resume reassignments failed", append(attrs, "error", err.Error())...)
			return fmt.Errorf("resume reassignments: %w", err)
		}
		l.InfoContext(ctx, "resumed reassignments", attrs...)
		return nil
	})
}

func jobContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-JobMargin))
	}
	return context.WithTimeout(ctx, jobBudget)
}

// register answers 201 with the item (and its ETag).
func (h handler) register(ctx context.Context, in httpapi.In, body content.RegisterRequest) (httpapi.Response, error) {
	cmd, err := body.Command(in.Caller, in.Path("accountId"))
	if err != nil {
		return httpapi.Response{}, err
	}
	res, err := h.content.Register(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := httpapi.WithETag(httpapi.JSON(http.StatusCreated, res), res.Version)
	resp.Headers["Location"] = "/accounts/" + res.AccountID + "/content/" + res.ID
	return resp, nil
}

func (h handler) list(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	q := content.ListQuery{Caller: in.Caller, AccountID: in.Path("accountId"), Limit: content.DefaultPageSize,
		Cursor: in.QueryStringParameters["cursor"]}
	var f apperr.Fields
	if owner, ok := in.QueryStringParameters["ownerId"]; ok {
		q.OwnerID = strings.TrimSpace(owner)
		f.Check(ids.Valid(q.OwnerID), "ownerId", "invalid", "ownerId is a user id")
	}
	if l, ok := in.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(l)
		f.Check(err == nil && n >= 1 && n <= content.MaxPageSize, "limit", "invalid_limit",
			"limit is a number from 1 to "+strconv.Itoa(content.MaxPageSize))
		q.Limit = int32(n)
	}
	if err := f.Err(); err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.content.List(ctx, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h handler) get(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	it, err := h.content.Get(ctx, in.Caller, in.Path("accountId"), in.Path("contentId"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, it), it.Version), nil
}

// delete answers 204.
func (h handler) delete(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	if err := h.content.Delete(ctx, in.Caller, in.Path("accountId"), in.Path("contentId"), in.IfMatch); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

// reassign answers 202 with the job's progress, after moving content for
// at most RequestBudget: status "done" when it finished within it, else
// "running" (the resume job continues it; so does asking again).
func (h handler) reassign(ctx context.Context, in httpapi.In, body content.StartRequest) (httpapi.Response, error) {
	cmd, err := body.Command(in.Caller, in.Path("userId"))
	if err != nil {
		return httpapi.Response{}, err
	}
	budget, cancel := context.WithTimeout(ctx, RequestBudget)
	defer cancel()
	p, err := h.content.Start(ctx, budget, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := httpapi.JSON(http.StatusAccepted, p)
	resp.Headers["Location"] = "/reassignments/" + p.ID
	return resp, nil
}

func (h handler) progress(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	p, err := h.content.Progress(ctx, in.Caller, in.Path("jobId"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, p), nil
}
