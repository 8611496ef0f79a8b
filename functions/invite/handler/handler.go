// Package handler serves the invitations of an account (invite, list,
// resend, revoke) and the tenant's suppression list: the rows of the route
// table (shared/routes) whose Function is "invite", each registered under
// its row's Op.
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

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/suppression"
)

type handler struct {
	invitations  *invitations.Service
	suppressions *suppression.Service
}

// New returns the function's Lambda handler.
func New(d service.Deps) httpapi.LambdaHandler { return NewWith(d, invitations.New(d)) }

// NewWith serves routes with a given service (tests tune its limits or mailer).
func NewWith(d service.Deps, svc *invitations.Service) httpapi.LambdaHandler {
	h := handler{
		invitations:  svc,
		suppressions: &suppression.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs},
	}
	server := httpapi.Server{Log: d.Log, Sessions: &auth.Service{Store: d.Store, Clock: d.Clock},
		Idempotency: httpapi.Idempotency{Store: d.Store, Clock: d.Clock}}
	return server.Serve(httpapi.Ops{
		"inviteUsers":       httpapi.JSONBody(h.invite),
		"listInvitations":   h.list,
		"resendInvitation":  httpapi.OptionalJSONBody(h.resend),
		"revokeInvitation":  h.revoke,
		"listSuppressions":  h.suppressionList,
		"removeSuppression": h.unsuppress,
	})
}

// invite answers 201 when at least one invitation was created, else 200,
// with one result per email given. With sendEmail false the response holds
// the links to hand over: such a response is no-store, and so never stored
// for Idempotency-Key replays (secrets are never stored); a retry is still safe, its addresses
// then answer already_invited, and a resend with sendEmail false gives a
// fresh link.
func (h handler) invite(ctx context.Context, in httpapi.In, body invitations.InviteRequest) (httpapi.Response, error) {
	cmd, err := body.Command(in.Caller, in.Path("accountId"))
	if err != nil {
		return httpapi.Response{}, err
	}
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
		resp.Headers["Cache-Control"] = "no-store" // never stored for a replay
	}
	return resp, nil
}

func (h handler) list(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	q := invitations.ListQuery{Caller: in.Caller, AccountID: in.Path("accountId"), Status: invitations.StatusPending,
		Limit: invitations.DefaultPageSize, Cursor: in.QueryStringParameters["cursor"]}
	var f apperr.Fields
	if s, ok := in.QueryStringParameters["status"]; ok {
		q.Status = strings.TrimSpace(s)
		f.Check(slices.Contains(invitations.Statuses, q.Status), "status", "invalid_status",
			"status is one of "+strings.Join(invitations.Statuses, ", "))
	}
	if l, ok := in.QueryStringParameters["limit"]; ok {
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
// sendEmail false it also holds the new link to hand over, and is then
// no-store, never stored for Idempotency-Key replays.
func (h handler) resend(ctx context.Context, in httpapi.In, body resendRequest) (httpapi.Response, error) {
	cmd := invitations.ResendCommand{Caller: in.Caller, InvitationID: in.Path("invitationId"), IfMatch: in.IfMatch,
		SendEmail: body.SendEmail == nil || *body.SendEmail}
	res, err := h.invitations.Resend(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := httpapi.WithETag(httpapi.JSON(http.StatusOK, res), res.Invitation.Version)
	if !cmd.SendEmail {
		resp.Headers["Cache-Control"] = "no-store" // never stored for a replay
	}
	return resp, nil
}

// revoke answers 204; revoking a revoked invitation is a 204 too.
func (h handler) revoke(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	err := h.invitations.Revoke(ctx, invitations.RevokeCommand{Caller: in.Caller, InvitationID: in.Path("invitationId"), IfMatch: in.IfMatch})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

// suppressionList pages the tenant's suppression list, newest first.
func (h handler) suppressionList(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	limit := int32(invitations.DefaultPageSize)
	if l, ok := in.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(l)
		var f apperr.Fields
		f.Check(err == nil && n >= 1 && n <= invitations.MaxPageSize, "limit", "invalid_limit",
			"limit is a number from 1 to "+strconv.Itoa(invitations.MaxPageSize))
		if err := f.Err(); err != nil {
			return httpapi.Response{}, err
		}
		limit = int32(n)
	}
	page, err := h.suppressions.List(ctx, in.Caller, limit, in.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

// unsuppress answers 204, or 404 not_suppressed when the address is not
// listed. The path's address may arrive percent-encoded ("%40" for "@").
func (h handler) unsuppress(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	raw := in.Path("email")
	if dec, err := url.PathUnescape(raw); err == nil {
		raw = dec
	}
	if err := h.suppressions.Remove(ctx, in.Caller, raw); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}
