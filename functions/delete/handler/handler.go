// Package handler serves removals: the rows of the route table
// (shared/routes) whose Function is "delete", each registered under its
// row's Op.
package handler

import (
	"context"
	"net/http"

	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/service"
)

type handler struct {
	admin *administration.Service
}

// New returns the function's Lambda handler.
func New(d service.Deps) httpapi.LambdaHandler { return NewWith(d, administration.New(d)) }

// NewWith serves the routes with a given service (tests bound its wipes).
func NewWith(d service.Deps, svc *administration.Service) httpapi.LambdaHandler {
	h := handler{admin: svc}
	server := httpapi.Server{Log: d.Log, Sessions: &auth.Service{Store: d.Store, Clock: d.Clock},
		Idempotency: httpapi.Idempotency{Store: d.Store, Clock: d.Clock}}
	return server.Serve(httpapi.Ops{
		"deleteUsers":      httpapi.JSONBody(h.deleteUsers),
		"deleteUser":       h.deleteUser,
		"removeMembership": h.removeMembership,
		// Not Idempotent: a close is safe to repeat (it continues a wipe),
		// and an unfinished wipe's 202 must not be replayed.
		"closeAccount": httpapi.JSONBody(h.closeAccount),
	})
}

func status(k apperr.Kind) int {
	s, _ := httpapi.Status(k)
	return s
}

// deleteUsers answers 200 with a result per id, whatever each one's fate.
func (h handler) deleteUsers(ctx context.Context, in httpapi.In, body administration.DeleteUsersRequest) (httpapi.Response, error) {
	cmd, err := body.Command(in.Caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, h.admin.DeleteUsers(ctx, cmd, status)), nil
}

func (h handler) deleteUser(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	if err := h.admin.DeleteUser(ctx, in.Caller, in.Path("userId")); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

func (h handler) removeMembership(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	if err := h.admin.RemoveMembership(ctx, in.Caller, in.Path("accountId"), in.Path("userId")); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

// closeAccount answers 200 when done, 202 while a wipe has more to delete
// (repeat the request to continue).
func (h handler) closeAccount(ctx context.Context, in httpapi.In, body administration.CloseAccountRequest) (httpapi.Response, error) {
	cmd, err := body.Command(in.Caller, in.Path("accountId"))
	if err != nil {
		return httpapi.Response{}, err
	}
	res, err := h.admin.CloseAccount(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	if !res.Complete {
		return httpapi.JSON(http.StatusAccepted, res), nil
	}
	return httpapi.JSON(http.StatusOK, res), nil
}
