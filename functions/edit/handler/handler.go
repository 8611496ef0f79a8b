// Package handler serves the administration changes: the rows of the route
// table (shared/routes) whose Function is "edit", each registered under its
// row's Op, which also says whether it takes Idempotency-Key or If-Match.
// Each row below names the service call that makes the change, the answer
// of what it changed, and how the command is made from the request; the
// shape they share (change, act, done) is written once, below.
//
// Every change writes its change-log entry in the same transaction; edits of
// versioned resources answer the new ETag.
package handler

import (
	"context"
	"net/http"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apikeys"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/tenancy"
)

type in = httpapi.In

// New returns the function's Lambda handler.
func New(d service.Deps) httpapi.LambdaHandler { return NewWith(d, administration.New(d)) }

// NewWith serves the routes with a given service (tests swap its mailer).
func NewWith(d service.Deps, svc *administration.Service) httpapi.LambdaHandler {
	admin, keys := svc, &apikeys.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs}
	account := func(status int) answer[accounts.Account] { return accountView(admin, status) }
	server := httpapi.Server{Log: d.Log, Sessions: &auth.Service{Store: d.Store, Clock: d.Clock},
		Idempotency: httpapi.Idempotency{Store: d.Store, Clock: d.Clock}}
	return server.Serve(httpapi.Ops{
		"createAccount": change(admin.CreateAccount, account(http.StatusCreated),
			func(in in, b administration.CreateAccountRequest) (administration.CreateAccount, error) {
				return b.Command(in.Caller)
			}),
		"renameAccount": change(admin.RenameAccount, account(http.StatusOK),
			func(in in, b administration.RenameAccountRequest) (administration.RenameAccount, error) {
				return b.Command(in.Caller, in.Path("accountId"), in.IfMatch)
			}),
		// The body ({reason}) is optional. Not Idempotent: a repeat answers
		// 409 account_not_closed and changes nothing.
		"reopenAccount": optionalChange(admin.ReopenAccount, account(http.StatusOK),
			func(in in, b administration.ReopenAccountRequest) (administration.ReopenAccount, error) {
				return b.Command(in.Caller, in.Path("accountId"))
			}),
		"addUser": change(admin.AddUser, created("/users/", func(r administration.UserAdded) (any, int64, string) { return r, r.User.Version, r.User.ID }),
			func(in in, b administration.AddUserRequest) (administration.AddUser, error) {
				return b.Command(in.Caller, in.Path("accountId"), in.RequestContext.HTTP.SourceIP)
			}),
		"setAccountPlan": change(admin.SetAccountPlan, account(http.StatusOK),
			func(in in, b administration.AccountPlanRequest) (administration.SetAccountPlan, error) {
				return b.Command(in.Caller, in.Path("accountId"), in.IfMatch)
			}),
		"setSeats": change(admin.SetSeats, tagged(func(p licences.Pool) (any, int64) { return licences.ViewOf(p), p.Version }),
			func(in in, b administration.SeatsRequest) (administration.SetSeats, error) {
				return b.Command(in.Caller, in.Path("accountId"), in.Path("licence"), in.IfMatch)
			}),
		"setRoles": change(admin.SetRoles, tagged(membership),
			func(in in, b administration.RolesRequest) (administration.SetRoles, error) {
				return b.Command(in.Caller, in.Path("accountId"), in.Path("userId"), in.IfMatch)
			}),
		"assignLicence": change(admin.AssignLicence, tagged(membership),
			func(in in, b administration.LicenceRequest) (administration.AssignLicence, error) {
				return b.Command(in.Caller, in.Path("accountId"), in.Path("userId"), in.IfMatch)
			}),
		"editProfile": change(admin.EditProfile, tagged(func(r administration.Edited) (any, int64) { return identity.UserViewOf(r.User), r.User.Version }),
			func(in in, b administration.ProfileRequest) (administration.EditProfile, error) {
				return b.Command(in.Caller, in.Path("userId"), in.IfMatch)
			}),
		"setUserPassword": change(admin.SetPassword, plain[administration.PasswordSet](http.StatusOK),
			func(in in, b administration.AdminPasswordRequest) (administration.SetPassword, error) {
				return b.Command(in.Caller, in.Path("userId"), in.RequestContext.HTTP.SourceIP)
			}),
		// Answers a new session (no-store, as its row says).
		"changeOwnPassword": change(admin.ChangeOwnPassword, plain[auth.Signed](http.StatusOK),
			func(in in, b administration.OwnPasswordRequest) (administration.ChangeOwnPassword, error) {
				return b.Command(in.Caller, in.RequestContext.HTTP.SourceIP, in.RequestContext.HTTP.UserAgent)
			}),
		"putRole": change(admin.PutRole, tagged(func(r access.CustomRole) (any, int64) {
			return directory.RoleView{Name: r.Name, Permissions: r.Permissions, Version: r.Version}, r.Version
		}),
			func(in in, b administration.RoleRequest) (administration.PutRole, error) {
				return b.Command(in.Caller, in.Path("roleName"), in.IfMatch)
			}),
		"updateTenantSettings": change(admin.UpdateSettings, tagged(func(s tenancy.Settings) (any, int64) { return directory.SettingsViewOf(s), s.Version }),
			func(in in, b administration.SettingsRequest) (administration.UpdateSettings, error) {
				return b.Command(in.Caller, in.IfMatch)
			}),
		"putPlan": change(admin.PutPlan, tagged(func(p plans.Plan) (any, int64) { return p, p.Version }),
			func(in in, b administration.PlanRequest) (administration.PutPlan, error) {
				return b.Command(in.Caller, in.Path("planId"), in.IfMatch)
			}),
		"putLicenceType": change(admin.PutLicenceType, tagged(func(s tenancy.Settings) (any, int64) { return s.CatalogueOf(), s.Version }),
			func(in in, b administration.LicenceTypeRequest) (administration.PutLicenceType, error) {
				return b.Command(in.Caller, in.Path("licence"), in.IfMatch)
			}),
		// A key of the tenant or of {accountId}: the answer holds its
		// secret, the only time it is shown (no-store, never replayed).
		"createTenantAPIKey":  change(keys.Create, plain[apikeys.Created](http.StatusCreated), newKey(keys)),
		"createAccountAPIKey": change(keys.Create, plain[apikeys.Created](http.StatusCreated), newKey(keys)),

		"suspendUser":       act(admin.Suspend, "userId", tagged(user)),
		"reactivateUser":    act(admin.Reactivate, "userId", tagged(user)),
		"signOutEverywhere": done(admin.SignOutEverywhere, "userId"),
		"resetTwoFactor":    done(admin.ResetTwoFactor, "userId"),
		"deleteRole":        done(admin.DeleteRole, "roleName"),
		// Revoked: refused from its next call.
		"revokeTenantAPIKey":  revokeKey(keys),
		"revokeAccountAPIKey": revokeKey(keys),
	})
}

// answer is how a change answers with what it changed.
type answer[R any] func(ctx context.Context, in in, r R) (httpapi.Response, error)

// change is the shape of a change with a JSON body: the body strictly
// decoded, the command made of it and the request (command), the service
// call (do), and its answer.
func change[B, C, R any](do func(context.Context, C) (R, error), answer answer[R], command func(in, B) (C, error)) httpapi.Operation {
	return httpapi.JSONBody(changing(do, answer, command))
}

// optionalChange is change for a body that may be absent.
func optionalChange[B, C, R any](do func(context.Context, C) (R, error), answer answer[R], command func(in, B) (C, error)) httpapi.Operation {
	return httpapi.OptionalJSONBody(changing(do, answer, command))
}

func changing[B, C, R any](do func(context.Context, C) (R, error), answer answer[R], command func(in, B) (C, error)) func(context.Context, in, B) (httpapi.Response, error) {
	return func(ctx context.Context, in in, b B) (httpapi.Response, error) {
		cmd, err := command(in, b)
		if err != nil {
			return httpapi.Response{}, err
		}
		r, err := do(ctx, cmd)
		if err != nil {
			return httpapi.Response{}, err
		}
		return answer(ctx, in, r)
	}
}

// act is the shape of a change without a body, of the one thing its path
// names (param).
func act[R any](do func(context.Context, access.Caller, string) (R, error), param string, answer answer[R]) httpapi.Operation {
	return func(ctx context.Context, in in) (httpapi.Response, error) {
		r, err := do(ctx, in.Caller, in.Path(param))
		if err != nil {
			return httpapi.Response{}, err
		}
		return answer(ctx, in, r)
	}
}

// done is act for a change that answers 204.
func done(do func(context.Context, access.Caller, string) error, param string) httpapi.Operation {
	return func(ctx context.Context, in in) (httpapi.Response, error) {
		if err := do(ctx, in.Caller, in.Path(param)); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.NoContent(), nil
	}
}

// tagged answers 200 with a view of r and its version as the ETag.
func tagged[R any](view func(R) (any, int64)) answer[R] {
	return func(_ context.Context, _ in, r R) (httpapi.Response, error) {
		v, version := view(r)
		return httpapi.WithETag(httpapi.JSON(http.StatusOK, v), version), nil
	}
}

// created answers 201 with a view of r, its ETag and its Location.
func created[R any](at string, view func(R) (v any, version int64, id string)) answer[R] {
	return func(_ context.Context, _ in, r R) (httpapi.Response, error) {
		v, version, id := view(r)
		resp := httpapi.WithETag(httpapi.JSON(http.StatusCreated, v), version)
		resp.Headers["Location"] = at + id
		return resp, nil
	}
}

// plain answers status with r itself.
func plain[R any](status int) answer[R] {
	return func(_ context.Context, _ in, r R) (httpapi.Response, error) { return httpapi.JSON(status, r), nil }
}

// accountView answers with the account's view (its ETag; its Location when
// created).
func accountView(admin *administration.Service, status int) answer[accounts.Account] {
	return func(ctx context.Context, in in, a accounts.Account) (httpapi.Response, error) {
		v, err := directory.ViewAccount(ctx, admin.Store, in.Caller.Tenant, a)
		if err != nil {
			return httpapi.Response{}, err
		}
		resp := httpapi.WithETag(httpapi.JSON(status, v), v.Version)
		if status == http.StatusCreated {
			resp.Headers["Location"] = "/accounts/" + v.ID
		}
		return resp, nil
	}
}

func membership(m accounts.Membership) (any, int64) { return accounts.MembershipViewOf(m), m.Version }

func user(u identity.User) (any, int64) { return identity.UserViewOf(u), u.Version }

// newKey is the command of a new API key of the tenant, or of {accountId}.
func newKey(keys *apikeys.Service) func(in, apikeys.CreateRequest) (apikeys.Create, error) {
	return func(in in, b apikeys.CreateRequest) (apikeys.Create, error) {
		return b.Command(in.Caller, in.Path("accountId"), keys.Clock.Now())
	}
}

// revokeKey revokes an API key of the tenant or of {accountId}.
func revokeKey(keys *apikeys.Service) httpapi.Operation {
	return func(ctx context.Context, in in) (httpapi.Response, error) {
		if err := keys.Revoke(ctx, in.Caller, in.Path("accountId"), in.Path("keyId")); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.NoContent(), nil
	}
}
