// Package handler is the link function. It serves
//
//	GET    /accounts/{accountId}/family              the parent and all its children
//	POST   /accounts/{accountId}/children            link an existing account as a child, or create a new one (Idempotency-Key honoured)
//	DELETE /accounts/{accountId}/children/{childId}  unlink a child; both accounts stay
//	POST   /users/{userId}/associations              give a user access to other accounts, a role in each (Idempotency-Key honoured)
//	PATCH  /accounts/{accountId}/associates/{userId} change an external user's roles there (If-Match honoured)
//	DELETE /accounts/{accountId}/associates/{userId} remove an external user's access there
//	POST   /me/switch-account                        re-point the session to another account
package handler

import (
	"context"
	"net/http"
	"strings"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/routes"
)

type handler struct {
	links       *links.Service
	associates  *associates.Service
	admin       *administration.Service // an associate's roles and removal: the one implementation of membership changes
	idempotency httpapi.Idempotency
}

// New returns the function's Lambda handler.
func New(d app.Deps) httpapi.LambdaHandler {
	h := handler{links: links.New(d), associates: associates.New(d), admin: administration.New(d),
		idempotency: httpapi.Idempotency{Store: d.Store, Clock: d.Clock, Scope: access.IdempotencyScope}}
	return httpapi.Serve(d.Log, &auth.Service{Store: d.Store, Clock: d.Clock}, httpapi.Mux{
		"GET /accounts/{accountId}/family":                 h.family,
		"POST /accounts/{accountId}/children":              h.idempotency.Wrap(h.addChild),
		"DELETE /accounts/{accountId}/children/{childId}":  h.unlink,
		"POST /users/{userId}/associations":                h.idempotency.Wrap(h.associate),
		"PATCH /accounts/{accountId}/associates/{userId}":  h.changeRoles,
		"DELETE /accounts/{accountId}/associates/{userId}": h.removeAssociate,
		"POST /me/switch-account":                          h.switchAccount,
	})
}

func (h handler) family(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	fam, err := h.links.Family(ctx, caller, req.PathParameters["accountId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, fam), nil
}

// addChildRequest names either an existing account (childId) or the name of
// a new one, not both.
type addChildRequest struct {
	ChildID *string `json:"childId"`
	Name    *string `json:"name"`
}

// addChild answers 201 with the child and its family.
func (h handler) addChild(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	var body addChildRequest
	if err := httpapi.DecodeMax(req, &body, routes.BodyLimit(req.RouteKey)); err != nil {
		return httpapi.Response{}, err
	}
	parentID := req.PathParameters["accountId"]
	var res links.Linked
	switch {
	case (body.ChildID == nil) == (body.Name == nil):
		return httpapi.Response{}, apperr.Validation(apperr.FieldError{Field: "childId", Code: "one_of",
			Detail: "give either childId (link an existing account) or name (create a new linked account)"})
	case body.ChildID != nil:
		childID := strings.TrimSpace(*body.ChildID)
		if !ids.Valid(childID) {
			return httpapi.Response{}, apperr.Validation(apperr.FieldError{Field: "childId", Code: "invalid", Detail: "not an account id"})
		}
		res, err = h.links.LinkExisting(ctx, caller, parentID, childID)
	default:
		res, err = h.links.CreateChild(ctx, links.CreateChildCommand{Caller: caller, ParentID: parentID, Name: *body.Name})
	}
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusCreated, res), nil
}

// unlink answers 204.
func (h handler) unlink(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	if err := h.links.Unlink(ctx, caller, req.PathParameters["accountId"], req.PathParameters["childId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

// MembershipView is a membership as this function shows it.
type MembershipView struct {
	AccountID string   `json:"accountId"`
	UserID    string   `json:"userId"`
	Roles     []string `json:"roles"`
	Licence   string   `json:"licence,omitempty"`
	External  bool     `json:"external"`
	Version   int64    `json:"version"`
}

func viewOf(m accounts.Membership) MembershipView {
	return MembershipView{AccountID: m.AccountID, UserID: m.UserID, Roles: m.Roles, Licence: m.Licence, External: m.External, Version: m.Version}
}

// associate answers 201 with the new memberships.
func (h handler) associate(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	var body associates.AssociateRequest
	if err := httpapi.DecodeMax(req, &body, routes.BodyLimit(req.RouteKey)); err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	ms, err := h.associates.Associate(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	out := struct {
		Memberships []MembershipView `json:"memberships"`
	}{Memberships: []MembershipView{}}
	for _, m := range ms {
		out.Memberships = append(out.Memberships, viewOf(m))
	}
	return httpapi.JSON(http.StatusCreated, out), nil
}

// changeRoles answers 200 with the membership and its ETag.
func (h handler) changeRoles(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	var body administration.RolesRequest
	if err := httpapi.DecodeMax(req, &body, routes.BodyLimit(req.RouteKey)); err != nil {
		return httpapi.Response{}, err
	}
	ifMatch, err := httpapi.IfMatch(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["accountId"], req.PathParameters["userId"], ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd.Associate = true
	m, err := h.admin.SetRoles(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, viewOf(m)), m.Version), nil
}

// removeAssociate answers 204.
func (h handler) removeAssociate(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	if err := h.admin.RemoveAssociate(ctx, caller, req.PathParameters["accountId"], req.PathParameters["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

// switchAccount answers 200 with the session's new active account.
func (h handler) switchAccount(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	var body associates.SwitchRequest
	if err := httpapi.DecodeMax(req, &body, routes.BodyLimit(req.RouteKey)); err != nil {
		return httpapi.Response{}, err
	}
	tok, _ := identity.BearerToken(httpapi.Header(req, "Authorization"))
	cmd, err := body.Command(caller, tok, req.RequestContext.HTTP.SourceIP, req.RequestContext.HTTP.UserAgent)
	if err != nil {
		return httpapi.Response{}, err
	}
	sw, err := h.associates.Switch(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, sw), nil
}
