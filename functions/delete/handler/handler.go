// Package handler serves removals:
//
//	POST   /users/delete                         delete many users, a result per id (Idempotency-Key)
//	DELETE /users/{userId}                       delete one user
//	DELETE /accounts/{accountId}/users/{userId}  remove one membership (an external user's access)
//	POST   /accounts/{accountId}/close           close an account, keeping or wiping its data
package handler

import (
	"context"
	"net/http"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
)

type handler struct {
	admin       *administration.Service
	idempotency httpapi.Idempotency
}

// New returns the function's Lambda handler.
func New(d app.Deps) httpapi.LambdaHandler { return NewWith(d, administration.New(d)) }

// NewWith serves the routes with a given service (tests bound its wipes).
func NewWith(d app.Deps, svc *administration.Service) httpapi.LambdaHandler {
	h := handler{admin: svc, idempotency: httpapi.Idempotency{Store: d.Store, Clock: d.Clock, Scope: access.IdempotencyScope}}
	return httpapi.Serve(d.Log, &auth.Service{Store: d.Store, Clock: d.Clock}, httpapi.Mux{
		"POST /users/delete":                          h.idempotency.Wrap(h.deleteUsers),
		"DELETE /users/{userId}":                      h.deleteUser,
		"DELETE /accounts/{accountId}/users/{userId}": h.removeMembership,
		// Not wrapped: a close is safe to repeat (it continues a wipe), and
		// an unfinished wipe's 202 must not be replayed.
		"POST /accounts/{accountId}/close": h.closeAccount,
	})
}

func status(k apperr.Kind) int {
	s, _ := httpapi.Status(k)
	return s
}

// deleteUsers answers 200 with a result per id, whatever each one's fate.
func (h handler) deleteUsers(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	var body administration.DeleteUsersRequest
	if err := httpapi.DecodeMax(req, &body, routes.BodyLimit(req.RouteKey)); err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, h.admin.DeleteUsers(ctx, cmd, status)), nil
}

func (h handler) deleteUser(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	if err := h.admin.DeleteUser(ctx, caller, req.PathParameters["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

func (h handler) removeMembership(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	if err := h.admin.RemoveMembership(ctx, caller, req.PathParameters["accountId"], req.PathParameters["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

// closeAccount answers 200 when done, 202 while a wipe has more to delete
// (repeat the request to continue).
func (h handler) closeAccount(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	var body administration.CloseAccountRequest
	if err := httpapi.DecodeMax(req, &body, routes.BodyLimit(req.RouteKey)); err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["accountId"])
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
