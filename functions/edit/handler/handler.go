// Package handler serves the administration changes:
//
//	POST   /accounts                                   create an account (Idempotency-Key)
//	PATCH  /accounts/{accountId}                       rename (If-Match)
//	POST   /accounts/{accountId}/reopen                reopen a closed account whose data was kept (operators)
//	POST   /accounts/{accountId}/users                 add a user without an invitation (Idempotency-Key)
//	PUT    /accounts/{accountId}/plan                  plan and overrides (operators; If-Match)
//	PUT    /accounts/{accountId}/licences/{licence}    purchased seats (operators; If-Match)
//	PUT    /accounts/{accountId}/users/{userId}/roles  a member's roles (If-Match)
//	PUT    /accounts/{accountId}/users/{userId}/licence a member's licence (If-Match)
//	PATCH  /users/{userId}                             profile and email (If-Match)
//	PUT    /users/{userId}/password                    an admin sets or generates a password
//	DELETE /users/{userId}/two-factor                  an admin resets a user's second factor
//	POST   /users/{userId}/suspend                     suspend everywhere (Idempotency-Key)
//	POST   /users/{userId}/reactivate                  reactivate (Idempotency-Key)
//	POST   /users/{userId}/sign-out                    revoke every session (Idempotency-Key)
//	POST   /me/password                                own password change: a new session
//	PUT    /roles/{roleName}                           define a custom role (operators; If-Match)
//	DELETE /roles/{roleName}                           delete a custom role (operators)
//	PATCH  /tenant/settings                            default role and licence, password policy (operators; If-Match)
//	PUT    /plans/{planId}                             define a plan (operators; If-Match)
//	PUT    /licence-types/{licence}                    add, rename or retire a licence type (operators; If-Match)
//	POST   /tenant/api-keys                            a key of the tenant (operators): its secret, once
//	DELETE /tenant/api-keys/{keyId}                    revoke it
//	POST   /accounts/{accountId}/api-keys              a key of the account (its Admins): its secret, once
//	DELETE /accounts/{accountId}/api-keys/{keyId}      revoke it
//
// Every change writes its change-log entry in the same transaction; edits of
// versioned resources answer the new ETag.
package handler

import (
	"bytes"
	"context"
	"net/http"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apikeys"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/table"
)

type handler struct {
	admin       *administration.Service
	keys        *apikeys.Service
	idempotency httpapi.Idempotency
}

// New returns the function's Lambda handler.
func New(d app.Deps) httpapi.LambdaHandler { return NewWith(d, administration.New(d)) }

// NewWith serves the routes with a given service (tests swap its mailer).
func NewWith(d app.Deps, svc *administration.Service) httpapi.LambdaHandler {
	h := handler{admin: svc, keys: &apikeys.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs}, idempotency: httpapi.Idempotency{Store: d.Store, Clock: d.Clock, Scope: access.IdempotencyScope}}
	idem := h.idempotency.Wrap
	return httpapi.Serve(d.Log, &auth.Service{Store: d.Store, Clock: d.Clock}, httpapi.Mux{
		"POST /accounts":                                   idem(h.createAccount),
		"PATCH /accounts/{accountId}":                      h.renameAccount,
		"POST /accounts/{accountId}/reopen":                h.reopenAccount,
		"POST /accounts/{accountId}/users":                 idem(h.addUser),
		"PUT /accounts/{accountId}/plan":                   h.setPlan,
		"PUT /accounts/{accountId}/licences/{licence}":     h.setSeats,
		"PUT /accounts/{accountId}/users/{userId}/roles":   h.setRoles,
		"PUT /accounts/{accountId}/users/{userId}/licence": h.assignLicence,
		"PATCH /users/{userId}":                            h.editProfile,
		"PUT /users/{userId}/password":                     h.setPassword,
		"DELETE /users/{userId}/two-factor":                h.resetTwoFactor,
		"POST /users/{userId}/suspend":                     idem(h.suspend),
		"POST /users/{userId}/reactivate":                  idem(h.reactivate),
		"POST /users/{userId}/sign-out":                    idem(h.signOutEverywhere),
		"POST /me/password":                                h.changeOwnPassword, // answers a session: never stored
		"PUT /roles/{roleName}":                            h.putRole,
		"DELETE /roles/{roleName}":                         h.deleteRole,
		"PATCH /tenant/settings":                           h.updateSettings,
		"PUT /plans/{planId}":                              h.putPlan,
		"PUT /licence-types/{licence}":                     h.putLicenceType,
		"POST /tenant/api-keys":                            h.createKey,
		"DELETE /tenant/api-keys/{keyId}":                  h.revokeKey,
		"POST /accounts/{accountId}/api-keys":              h.createKey,
		"DELETE /accounts/{accountId}/api-keys/{keyId}":    h.revokeKey,
	})
}

// input reads the caller, the If-Match and the JSON body (when body is not nil).
func input(ctx context.Context, req httpapi.Request, body any) (access.Caller, int64, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return access.Caller{}, 0, err
	}
	ifMatch, err := httpapi.IfMatch(req)
	if err != nil {
		return access.Caller{}, 0, err
	}
	if body != nil {
		if err := httpapi.DecodeMax(req, body, routes.BodyLimit(req.RouteKey)); err != nil {
			return access.Caller{}, 0, err
		}
	}
	return caller, ifMatch, nil
}

func tagged(status int, v any, version int64) httpapi.Response {
	return httpapi.WithETag(httpapi.JSON(status, v), version)
}

func (h handler) account(ctx context.Context, t table.Tenant, status int, a accounts.Account) (httpapi.Response, error) {
	v, err := directory.ViewAccount(ctx, h.admin.Store, t, a)
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := tagged(status, v, v.Version)
	if status == http.StatusCreated {
		resp.Headers["Location"] = "/accounts/" + v.ID
	}
	return resp, nil
}

func (h handler) createAccount(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.CreateAccountRequest
	caller, _, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	a, err := h.admin.CreateAccount(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return h.account(ctx, caller.Tenant, http.StatusCreated, a)
}

func (h handler) addUser(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.AddUserRequest
	caller, _, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["accountId"], req.RequestContext.HTTP.SourceIP)
	if err != nil {
		return httpapi.Response{}, err
	}
	res, err := h.admin.AddUser(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := tagged(http.StatusCreated, res, res.User.Version)
	resp.Headers["Location"] = "/users/" + res.User.ID
	return resp, nil
}

func (h handler) renameAccount(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.RenameAccountRequest
	caller, ifMatch, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["accountId"], ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	a, err := h.admin.RenameAccount(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return h.account(ctx, caller.Tenant, http.StatusOK, a)
}

// reopenAccount reopens a closed account; the body ({reason}) is optional.
// Not wrapped in Idempotency-Key: a repeat answers 409 account_not_closed
// and changes nothing.
func (h handler) reopenAccount(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	var body administration.ReopenAccountRequest
	raw, err := httpapi.Body(req, 4<<10)
	if err != nil {
		return httpapi.Response{}, err
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := httpapi.DecodeMax(req, &body, 4<<10); err != nil {
			return httpapi.Response{}, err
		}
	}
	cmd, err := body.Command(caller, req.PathParameters["accountId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	a, err := h.admin.ReopenAccount(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return h.account(ctx, caller.Tenant, http.StatusOK, a)
}

func (h handler) setPlan(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.AccountPlanRequest
	caller, ifMatch, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["accountId"], ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	a, err := h.admin.SetAccountPlan(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return h.account(ctx, caller.Tenant, http.StatusOK, a)
}

func (h handler) setSeats(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.SeatsRequest
	caller, ifMatch, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["accountId"], req.PathParameters["licence"], ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	p, err := h.admin.SetSeats(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return tagged(http.StatusOK, licences.ViewOf(p), p.Version), nil
}

func (h handler) setRoles(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.RolesRequest
	caller, ifMatch, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["accountId"], req.PathParameters["userId"], ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	m, err := h.admin.SetRoles(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return tagged(http.StatusOK, directory.MembershipViewOf(m), m.Version), nil
}

func (h handler) assignLicence(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.LicenceRequest
	caller, ifMatch, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["accountId"], req.PathParameters["userId"], ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	m, err := h.admin.AssignLicence(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return tagged(http.StatusOK, directory.MembershipViewOf(m), m.Version), nil
}

func (h handler) editProfile(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.ProfileRequest
	caller, ifMatch, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["userId"], ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	res, err := h.admin.EditProfile(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return tagged(http.StatusOK, directory.UserViewOf(res.User), res.User.Version), nil
}

func (h handler) setPassword(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.AdminPasswordRequest
	caller, _, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["userId"], req.RequestContext.HTTP.SourceIP)
	if err != nil {
		return httpapi.Response{}, err
	}
	res, err := h.admin.SetPassword(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, res), nil
}

func (h handler) resetTwoFactor(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, _, err := input(ctx, req, nil)
	if err != nil {
		return httpapi.Response{}, err
	}
	if err := h.admin.ResetTwoFactor(ctx, caller, req.PathParameters["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

func (h handler) suspend(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, _, err := input(ctx, req, nil)
	if err != nil {
		return httpapi.Response{}, err
	}
	u, err := h.admin.Suspend(ctx, caller, req.PathParameters["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return tagged(http.StatusOK, directory.UserViewOf(u), u.Version), nil
}

func (h handler) reactivate(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, _, err := input(ctx, req, nil)
	if err != nil {
		return httpapi.Response{}, err
	}
	u, err := h.admin.Reactivate(ctx, caller, req.PathParameters["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return tagged(http.StatusOK, directory.UserViewOf(u), u.Version), nil
}

func (h handler) signOutEverywhere(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, _, err := input(ctx, req, nil)
	if err != nil {
		return httpapi.Response{}, err
	}
	if err := h.admin.SignOutEverywhere(ctx, caller, req.PathParameters["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

func (h handler) changeOwnPassword(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.OwnPasswordRequest
	caller, _, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.RequestContext.HTTP.SourceIP, req.RequestContext.HTTP.UserAgent)
	if err != nil {
		return httpapi.Response{}, err
	}
	signed, err := h.admin.ChangeOwnPassword(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := httpapi.JSON(http.StatusOK, signed)
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

func (h handler) putRole(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.RoleRequest
	caller, ifMatch, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["roleName"], ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	r, err := h.admin.PutRole(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return tagged(http.StatusOK, directory.RoleView{Name: r.Name, Permissions: r.Permissions, Version: r.Version}, r.Version), nil
}

func (h handler) deleteRole(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, _, err := input(ctx, req, nil)
	if err != nil {
		return httpapi.Response{}, err
	}
	if err := h.admin.DeleteRole(ctx, caller, req.PathParameters["roleName"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}

func (h handler) updateSettings(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.SettingsRequest
	caller, ifMatch, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	s, err := h.admin.UpdateSettings(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return tagged(http.StatusOK, directory.SettingsViewOf(s), s.Version), nil
}

func (h handler) putPlan(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.PlanRequest
	caller, ifMatch, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["planId"], ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	p, err := h.admin.PutPlan(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return tagged(http.StatusOK, p, p.Version), nil
}

func (h handler) putLicenceType(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body administration.LicenceTypeRequest
	caller, ifMatch, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	cmd, err := body.Command(caller, req.PathParameters["licence"], ifMatch)
	if err != nil {
		return httpapi.Response{}, err
	}
	s, err := h.admin.PutLicenceType(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	return tagged(http.StatusOK, s.CatalogueOf(), s.Version), nil
}

// createKey makes an API key of the tenant or of {accountId}: the answer
// holds its secret, the only time it is shown (no-store, never replayed).
func (h handler) createKey(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	var body apikeys.CreateRequest
	caller, _, err := input(ctx, req, &body)
	if err != nil {
		return httpapi.Response{}, err
	}
	accountID := req.PathParameters["accountId"]
	cmd, err := body.Command(caller, accountID, h.keys.Clock.Now())
	if err != nil {
		return httpapi.Response{}, err
	}
	k, err := h.keys.Create(ctx, cmd)
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := httpapi.JSON(http.StatusCreated, k)
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

// revokeKey revokes an API key of the tenant or of {accountId}: refused
// from its next call.
func (h handler) revokeKey(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, _, err := input(ctx, req, nil)
	if err != nil {
		return httpapi.Response{}, err
	}
	if err := h.keys.Revoke(ctx, caller, req.PathParameters["accountId"], req.PathParameters["keyId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.NoContent(), nil
}
