// Package handler serves the invitation link, without sign-in: the rows
// of the route table (shared/routes) whose Function is "accept", each
// registered under its row's Op. GET shows a small HTML page (or JSON with
// Accept: application/json) saying who invited whom to what, with the form
// to accept; it never changes anything, as mail scanners prefetch links.
// POST accepts: {token, firstName, lastName, password} for a new user,
// {token} in the invitee's session for an existing one; 201 signs in.
// Form-encoded (the page without script), the answer is a page.
//
// Someone whose address already has an account accepts in their own
// session (Authorization: Bearer, from POST /auth/sign-in): the route is
// public, as the invitee may have no account, so the service resolves the
// bearer itself. A password for an existing account is refused (422
// sign_in_to_accept), never checked: the public link is no password oracle.
// Someone signed in as another user gets 403 and an explanation, and the
// invitation stays usable. An invitation whose inviter can no longer grant
// what it offers (deleted, suspended, demoted) is 410 inviter_cannot_grant
// on the page and on accept, and stays pending until an Admin resends it.
//
// Every response says X-Content-Type-Options: nosniff; pages carry a
// Content-Security-Policy that runs only the page's own script (by hash).
package handler

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/service"
)

type handler struct{ invitations *invitations.Service }

// New returns the function's Lambda handler.
func New(d service.Deps) httpapi.LambdaHandler { return NewWith(d, invitations.New(d)) }

// NewWith serves the routes with a given service.
func NewWith(d service.Deps, svc *invitations.Service) httpapi.LambdaHandler {
	h := handler{invitations: svc}
	serve := httpapi.Server{Log: d.Log}.Serve(httpapi.Ops{
		"openInvitation":   h.page,
		"acceptInvitation": h.accept,
	})
	return func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		resp, err := serve(ctx, req)
		if resp.StatusCode == http.StatusRequestEntityTooLarge && isForm(req) {
			// The body was refused before the form was read: the page
			// without script answers a page, as to the form's other errors.
			resp = page(resp.StatusCode, renderProblem(httpapi.TooLarge(routes.BodyLimit(req.RouteKey)), req.RequestContext.RequestID))
			resp.Headers["Cache-Control"] = "no-store"
		}
		if resp.Headers == nil {
			resp.Headers = map[string]string{}
		}
		resp.Headers["X-Content-Type-Options"] = "nosniff"
		return resp, err
	}
}

// page answers an HTML page under the page's own Content-Security-Policy.
func page(status int, body string) httpapi.Response {
	resp := httpapi.HTML(status, body)
	resp.Headers["Content-Security-Policy"] = pageCSP
	return resp
}

// problemPage shows a domain error as a page; internal and unavailable
// errors stay problem+json (logged at Error with the request id).
func problemPage(req httpapi.Request, err error) (httpapi.Response, error) {
	e, ok := apperr.As(err)
	if !ok || e.Kind == apperr.KindInternal || e.Kind == apperr.KindUnavailable {
		return httpapi.Response{}, err
	}
	status, _ := httpapi.Status(e.Kind)
	return page(status, renderProblem(e, req.RequestContext.RequestID)), nil
}

func (h handler) page(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	req := in.Request
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
		return problemPage(req, err)
	}
	body, err := renderOffer(offer, token)
	if err != nil {
		return httpapi.Response{}, apperr.Internal("render accept page", err)
	}
	return page(http.StatusOK, body), nil
}

func (h handler) accept(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	req := in.Request
	if isForm(req) {
		return h.acceptForm(ctx, in)
	}
	var body invitations.AcceptRequest
	if err := httpapi.DecodeMax(req, &body, in.Row.BodyLimit); err != nil {
		return httpapi.Response{}, err
	}
	res, err := h.use(ctx, req, body)
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := httpapi.JSON(http.StatusCreated, res)
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

// acceptForm is the accept posted by the page without script: the answer
// is a page, the session it opens is not shown (the user signs in).
func (h handler) acceptForm(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	req := in.Request
	body, err := decodeForm(req, in.Row.BodyLimit)
	if err == nil {
		_, err = h.use(ctx, req, body)
	}
	if err != nil {
		return problemPage(req, err)
	}
	return page(http.StatusCreated, renderAccepted()), nil
}

func (h handler) use(ctx context.Context, req httpapi.Request, body invitations.AcceptRequest) (invitations.Accepted, error) {
	session, _ := identity.BearerToken(httpapi.Header(req, "Authorization"))
	cmd, err := body.Command(session, req.RequestContext.HTTP.SourceIP, req.RequestContext.HTTP.UserAgent)
	if err != nil {
		return invitations.Accepted{}, err
	}
	return h.invitations.Accept(ctx, cmd)
}

func isForm(req httpapi.Request) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(httpapi.Header(req, "Content-Type"))), "application/x-www-form-urlencoded")
}

// decodeForm reads the page's form as strictly as the JSON body: bounded,
// well formed, only the form's fields, each at most once.
func decodeForm(req httpapi.Request, max int) (invitations.AcceptRequest, error) {
	raw, err := httpapi.Body(req, max)
	if err != nil {
		return invitations.AcceptRequest{}, err
	}
	values, err := url.ParseQuery(string(raw))
	if err != nil {
		return invitations.AcceptRequest{}, apperr.Invalid("malformed_form", "the form could not be read; reload the page and send it again")
	}
	var r invitations.AcceptRequest
	fields := map[string]*string{"token": &r.Token, "firstName": &r.FirstName, "lastName": &r.LastName, "password": &r.Password}
	var f apperr.Fields
	for name, vs := range values {
		dst, ok := fields[name]
		switch {
		case !ok:
			f.Add(name, "unknown_field", "this field is not part of the form")
		case len(vs) != 1:
			f.Add(name, "repeated_field", "this field is sent more than once")
		default:
			*dst = vs[0]
		}
	}
	if err := f.Err(); err != nil {
		return invitations.AcceptRequest{}, err
	}
	return r, nil
}

// wantsJSON: a client that asks for JSON and not for HTML gets JSON and
// problem+json; browsers get the page.
func wantsJSON(req httpapi.Request) bool {
	a := strings.ToLower(httpapi.Header(req, "Accept"))
	return (strings.Contains(a, "application/json") || strings.Contains(a, "application/problem+json")) && !strings.Contains(a, "text/html")
}
