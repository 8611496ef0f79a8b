// Package handler resolves the bearer token of every authorized route to its
// caller: {tenant, user, session, active account, roles}. It never changes
// state and is not cached, so a revoked session is refused on its next call.
// A missing Authorization header never reaches it (API Gateway answers 401);
// a refused token passes with only the reason, and the route's handler
// answers 401 problem+json (see access.CallerFrom).
package handler

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/identity"
)

// Handler is the authorizer's Lambda handler.
type Handler func(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)

// New returns the authorizer.
func New(d app.Deps) Handler {
	svc := &auth.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs}
	return func(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		l := d.Log.With("requestId", req.RequestContext.RequestID, "route", req.RouteKey)
		// A refused token lets the request through with only the reason:
		// the handler then answers 401 problem+json saying why. No caller
		// is set, so no handler can act for anyone.
		reject := func(reason string) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
			l.InfoContext(ctx, "unauthorized", "reason", reason)
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: access.Rejected(reason)}, nil
		}
		raw, ok := identity.BearerToken(req.Headers["authorization"])
		if !ok {
			return reject("the Authorization header is not a bearer token")
		}
		caller, err := svc.Authorize(ctx, raw)
		if err != nil {
			if e, ok := apperr.As(err); ok && e.Kind == apperr.KindUnauthenticated {
				return reject(e.Detail)
			}
			// An outage must not read as "signed out": fail the invocation so
			// API Gateway answers 500 and the client retries.
			l.ErrorContext(ctx, "authorizer failed", "error", err.Error())
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
		}
		l.DebugContext(ctx, "authorized", slog.String("userId", caller.UserID), slog.String("accountId", caller.AccountID))
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: caller.Context()}, nil
	}
}
