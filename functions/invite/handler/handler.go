// Package handler serves the invitations of an account:
//
//	POST   /accounts/{accountId}/invitations      invite one or many emails (Idempotency-Key honoured)
//	GET    /accounts/{accountId}/invitations      list by status, newest first, paged
//	POST   /invitations/{invitationId}/resend     new link, new 7 days, new email
//	DELETE /invitations/{invitationId}            revoke: the link stops working
//	GET    /tenant/suppressions                   the tenant's suppression list (operators), newest first, paged
//	DELETE /tenant/suppressions/{email}           take an address off it (operators): invitations reach it again
//
// Inviting and resending grant roles: the caller must be allowed to invite
// in every target account and may offer only roles within their own rights
// there (403 grant_exceeds_rights; Admin only by an Admin), 422 unknown_role
// for a role the tenant does not define. Support staff invite only while
// switched into the account (403 switch_required). A resend makes the
// resender the invitation's inviter. An address on the suppression list
// (SES reported a permanent bounce or a complaint: functions/ses-events)
// is not invited nor resent to (409 address_suppressed; per address in a
// bulk invite).
package handler

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/suppression"
)

type handler struct {
	invitations  *invitations.Service
	suppressions *suppression.Service
	idempotency  httpapi.Idempotency
}

// New returns the function's Lambda handler.
func New(d app.Deps) httpapi.LambdaHandler { return NewWith(d, invitations.New(d)) }

// NewWith serves routes with a given service (tests tune its limits or mailer).
func NewWith(d app.Deps, svc *invitations.Service) httpapi.LambdaHandler {
	h := handler{
		invitations:  svc,
		suppressions: &suppression.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs},
		idempotency:  httpapi.Idempotency{Store: d.Store, Clock: d.Clock, Scope: access.IdempotencyScope},
	}
	return httpapi.Serve(d.Log, &auth.Service{Store: d.Store, Clock: d.Clock}, httpapi.Mux{
		"POST /accounts/{accountId}/invitations":  h.invite,
		"GET /accounts/{accountId}/invitations":   h.list,
		"POST /invitations/{invitationId}/resend": h.resend,
		"DELETE /invitations/{invitationId}":      h.revoke,
		"GET /tenant/suppressions":                h.suppressionList,
		"DELETE /tenant/suppressions/{email}":     h.unsuppress,
	})
}

// invite answers 201 when at least one invitation was created, else 200,
// with one result per email given. With sendEmail false the response holds
// the links to hand over: such a response is never stored for Idempotency-Key
// replays (secrets are never stored); a retry is still safe, its addresses
// then answer already_invited, and a resend with sendEmail false gives a
// fresh link.
func (h handler) invite(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	var body invitations.InviteRequest
	if err := httpapi.DecodeMax(req, &body, routes.BodyLimit(req.RouteKey)); err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["accountId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	run := func(ctx context.Context, _ httpapi.Request) (httpapi.Response, error) {
		res, err := h.invitations.Invite(ctx, cmd)
		if err != nil {
			return httpapi.Response{}, err
		}
		status := http.StatusOK
		if res.Created() > 0 {
			status = http.StatusCreated
		}
		resp := httpapi.JSON(status, res)
		if !cmd.SendEmail {
			resp.Headers["Cache-Control"] = "no-store"
		}
		return resp, nil
	}
	if cmd.SendEmail {
		return h.idempotency.Wrap(run)(ctx, req)
	}
	return run(ctx, req)
}

func (h handler) list(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	q := invitations.ListQuery{Caller: caller, AccountID: req.PathParameters["accountId"], Status: invitations.StatusPending,
		Limit: invitations.DefaultPageSize, Cursor: req.QueryStringParameters["cursor"]}
	var f apperr.Fields
	if s, ok := req.QueryStringParameters["status"]; ok {
		q.Status = strings.TrimSpace(s)
		f.Check(slices.Contains(invitations.Statuses, q.Status), "status", "invalid_status",
			"status is one of "+strings.Join(invitations.Statuses, ", "))
	}
	if l, ok := req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(l)
		f.Check(err == nil && n >= 1 && n <= invitations.MaxPageSize, "limit", "invalid_limit",
			"limit is a number from 1 to "+strconv.Itoa(invitations.MaxPageSize))
		q.Limit = int32(n)
	}
	if err := f.Err(); err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.invitations.List(ctx, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

type resendRequest struct {
	SendEmail *bool `json:"sendEmail,omitempty"` // default true
}

// resend answers 200 with the renewed invitation (and its ETag); with
// sendEmail false it also holds the new link to hand over, and is then not
// stored for Idempotency-Key replays.
func (h handler) resend(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	var body resendRequest
	if strings.TrimSpace(req.Body) != "" {
		if err := httpapi.DecodeMax(req, &body, routes.BodyLimit(req.RouteKey)); err != nil {
			return httpapi.Response{}, err
		}
	}
	ifMatch, err := httpapi.IfMatch(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd := invitations.ResendCommand{Caller: caller, InvitationID: req.PathParameters["invitationId"], IfMatch: ifMatch,
		SendEmail: body.SendEmail == nil || *body.SendEmail}
	run := func(ctx context.Context, _ httpapi.Request) (httpapi.Response, error) {
		res, err := h.invitations.Resend(ctx, cmd)
		if err != nil {
			return httpapi.Response{}, err
		}
		resp := httpapi.WithETag(httpapi.JSON(http.StatusOK, res), res.Invitation.Version)
		if !cmd.SendEmail {
			resp.Headers["Cache-Control"] = "no-store"
		}
		return resp, nil
	}
	if cmd.SendEmail {
		return h.idempotency.Wrap(run)(ctx, req)
	}
	return run(ctx, req)
}

// revoke answers 204; revoking a revoked invitation is a 204 too.
func (h handler) revoke(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	ifMatch, err := httpapi.IfMatch(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	err = h.invitations.Revoke(ctx, invitations.RevokeCommand{Caller: caller, InvitationID: req.PathParameters["invitationId"], IfMatch: ifMatch})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

// suppressionList pages the tenant's suppression list, newest first.
func (h handler) suppressionList(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	limit := int32(invitations.DefaultPageSize)
	if l, ok := req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(l)
		var f apperr.Fields
		f.Check(err == nil && n >= 1 && n <= invitations.MaxPageSize, "limit", "invalid_limit",
			"limit is a number from 1 to "+strconv.Itoa(invitations.MaxPageSize))
		if err := f.Err(); err != nil {
			return httpapi.Response{}, err
		}
		limit = int32(n)
	}
	page, err := h.suppressions.List(ctx, caller, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

// unsuppress answers 204, or 404 not_suppressed when the address is not
// listed. The path's address may arrive percent-encoded ("%40" for "@").
func (h handler) unsuppress(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	raw := req.PathParameters["email"]
	if dec, err := url.PathUnescape(raw); err == nil {
		raw = dec
	}
	if err := h.suppressions.Remove(ctx, caller, raw); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}
