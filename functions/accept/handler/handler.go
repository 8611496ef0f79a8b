// Package handler serves the invitation link, without sign-in:
//
//	GET  /invitations/accept?token=…   a small HTML page (or JSON with Accept: application/json)
//	                                    saying who invited whom to what, with the form to accept;
//	                                    it never changes anything, as mail scanners prefetch links
//	POST /invitations/accept           accept: {token, firstName, lastName, password} for a new
//	                                    user, {token, password} for an existing one; 201 signs in
//
// Someone whose address already has an account proves it with that
// account's password, or by sending the request with a session of that
// account (Authorization: Bearer). Someone signed in as another user gets
// an explanation and the invitation stays usable. An invitation whose
// inviter can no longer grant what it offers (deleted, suspended, demoted)
// is 410 inviter_cannot_grant on the page and on accept, and stays pending
// until an Admin resends it.
package handler

import (
	"context"
	"net/http"
	"strings"

	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
)

type handler struct{ invitations *invitations.Service }

// New returns the function's Lambda handler.
func New(d app.Deps) httpapi.LambdaHandler { return NewWith(d, invitations.New(d)) }

// NewWith serves the routes with a given service.
func NewWith(d app.Deps, svc *invitations.Service) httpapi.LambdaHandler {
	h := handler{invitations: svc}
	return httpapi.Serve(d.Log, httpapi.Mux{
		"GET /invitations/accept":  h.page,
		"POST /invitations/accept": h.accept,
	})
}

func (h handler) page(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	token := req.QueryStringParameters["token"]
	session, _ := identity.BearerToken(httpapi.Header(req, "Authorization"))
	offer, err := h.invitations.Open(ctx, token, session)
	if wantsJSON(req) {
		if err != nil {
			return httpapi.Response{}, err
		}
		resp := httpapi.JSON(http.StatusOK, offer)
		resp.Headers["Cache-Control"] = "no-store"
		return resp, nil
	}
	if err != nil {
		e, ok := apperr.As(err)
		if !ok || e.Kind == apperr.KindInternal || e.Kind == apperr.KindUnavailable {
			return httpapi.Response{}, err // problem+json, logged at Error with the request id
		}
		status, _ := httpapi.Status(e.Kind)
		return httpapi.HTML(status, renderProblem(e, req.RequestContext.RequestID)), nil
	}
	body, err := renderOffer(offer, token)
	if err != nil {
		return httpapi.Response{}, apperr.Internal("render accept page", err)
	}
	return httpapi.HTML(http.StatusOK, body), nil
}

func (h handler) accept(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body invitations.AcceptRequest
	if err := httpapi.DecodeMax(req, &body, 4<<10); err != nil {
		return httpapi.Response{}, err
	}
	session, _ := identity.BearerToken(httpapi.Header(req, "Authorization"))
	cmd, err := body.Command(session, req.RequestContext.HTTP.SourceIP, req.RequestContext.HTTP.UserAgent)
	if err != nil {
		return httpapi.Response{}, err
	}
	res, err := h.invitations.Accept(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := httpapi.JSON(http.StatusCreated, res)
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

// wantsJSON: a client that asks for JSON and not for HTML gets JSON and
// problem+json; browsers get the page.
func wantsJSON(req httpapi.Request) bool {
	a := strings.ToLower(httpapi.Header(req, "Accept"))
	return (strings.Contains(a, "application/json") || strings.Contains(a, "application/problem+json")) && !strings.Contains(a, "text/html")
}
