// Package handler is the link function: linked accounts (a parent and its
// children) and external associates. It serves the rows of the route table
// (shared/routes) whose Function is "link", each registered under its row's
// Op.
package handler

import (
	"context"
	"net/http"
	"strings"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/service"
)

type handler struct {
	links      *links.Service
	associates *associates.Service
	admin      *administration.Service // an associate's roles and removal: the one implementation of membership changes
}

// New returns the function's Lambda handler.
func New(d service.Deps) httpapi.LambdaHandler {
	h := handler{links: links.New(d), associates: associates.New(d), admin: administration.New(d)}
	server := httpapi.Server{Log: d.Log, Sessions: &auth.Service{Store: d.Store, Clock: d.Clock},
		Idempotency: httpapi.Idempotency{Store: d.Store, Clock: d.Clock}}
	return server.Serve(httpapi.Ops{
		"getFamily":            h.family,
		"addChild":             httpapi.JSONBody(h.addChild),
		"unlinkChild":          h.unlink,
		"associateUser":        httpapi.JSONBody(h.associate),
		"changeAssociateRoles": httpapi.JSONBody(h.changeRoles),
		"removeAssociate":      h.removeAssociate,
		"switchAccount":        httpapi.JSONBody(h.switchAccount),
	})
}

func (h handler) family(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	fam, err := h.links.Family(ctx, in.Caller, in.Path("accountId"))
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
func (h handler) addChild(ctx context.Context, in httpapi.In, body addChildRequest) (httpapi.Response, error) {
	parentID := in.Path("accountId")
	var res links.Linked
	var err error
	switch {
	case (body.ChildID == nil) == (body.Name == nil):
		return httpapi.Response{}, apperr.Validation(apperr.FieldError{Field: "childId", Code: "one_of",
			Detail: "give either childId (link an existing account) or name (create a new linked account)"})
	case body.ChildID != nil:
		childID := strings.TrimSpace(*body.ChildID)
		if !ids.Valid(childID) {
			return httpapi.Response{}, apperr.Validation(apperr.FieldError{Field: "childId", Code: "invalid", Detail: "not an account id"})
		}
		res, err = h.links.LinkExisting(ctx, in.Caller, parentID, childID)
	default:
		res, err = h.links.CreateChild(ctx, links.CreateChildCommand{Caller: in.Caller, ParentID: parentID, Name: *body.Name})
	}
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusCreated, res), nil
}

// unlink answers 204.
func (h handler) unlink(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	if err := h.links.Unlink(ctx, in.Caller, in.Path("accountId"), in.Path("childId")); err != nil {
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
func (h handler) associate(ctx context.Context, in httpapi.In, body associates.AssociateRequest) (httpapi.Response, error) {
	cmd, err := body.Command(in.Caller, in.Path("userId"))
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
func (h handler) changeRoles(ctx context.Context, in httpapi.In, body administration.RolesRequest) (httpapi.Response, error) {
	cmd, err := body.Command(in.Caller, in.Path("accountId"), in.Path("userId"), in.IfMatch)
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
func (h handler) removeAssociate(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	if err := h.admin.RemoveAssociate(ctx, in.Caller, in.Path("accountId"), in.Path("userId")); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

// switchAccount answers 200 with the session's new active account.
func (h handler) switchAccount(ctx context.Context, in httpapi.In, body associates.SwitchRequest) (httpapi.Response, error) {
	tok, _ := identity.BearerToken(httpapi.Header(in.Request, "Authorization"))
	cmd, err := body.Command(in.Caller, tok, in.RequestContext.HTTP.SourceIP, in.RequestContext.HTTP.UserAgent)
	if err != nil {
		return httpapi.Response{}, err
	}
	sw, err := h.associates.Switch(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, sw), nil
}
