// Package handler serves the reading side of administration:
//
//	GET /accounts                               the directory: sort, order, q, member, status, limit, cursor
//	GET /accounts/export.csv                    the same list as CSV, paged by X-Next-Cursor
//	GET /accounts/{accountId}                   one account (ETag)
//	GET /accounts/{accountId}/users             its members and pending invitations: sort, q, name, order, kind, role,
//	                                            licence, external, limit, cursor
//	GET /accounts/{accountId}/users/export.csv  the same list as CSV
//	GET /accounts/{accountId}/changes           its change log, newest first
//	GET /users/{userId}                         a profile (ETag)
//	GET /users/{userId}/changes                 changes about a user, across accounts
//	GET /users/{userId}/access-history          sign-ins and account switches
//	GET /accounts/{accountId}/access-history    sign-ins to and switches into an account
//	GET /accounts/{accountId}/access-history/export.csv  the same history as CSV, paged by X-Next-Cursor
//	GET /licence-types                          the tenant's licence types, default licence, purchase link
//	GET /roles                                  built-in and custom roles, the default role
//	GET /tenant/settings                        the tenant's settings (ETag)
//	GET /plans                                  the tenant's subscription plans
//	GET /tenant/changes                         the tenant-level change log (operators), newest first
//	GET /tenant/api-keys                        the tenant's API keys (operators), never a secret
//	GET /accounts/{accountId}/api-keys          the account's API keys (its Admins), never a secret
package handler

import (
	"context"
	"net/http"
	"net/url"
	"sort"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apikeys"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/csvexport"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/tenancy"
)

type handler struct {
	dir  *directory.Directory
	keys *apikeys.Service
}

// New returns the function's Lambda handler.
func New(d app.Deps) httpapi.LambdaHandler {
	h := handler{dir: directory.New(d), keys: &apikeys.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs}}
	return httpapi.Serve(d.Log, &auth.Service{Store: d.Store, Clock: d.Clock}, httpapi.Mux{
		"GET /accounts":                              h.listAccounts,
		"GET /accounts/export.csv":                   h.exportAccounts,
		"GET /accounts/{accountId}":                  h.account,
		"GET /accounts/{accountId}/users":            h.listMembers,
		"GET /accounts/{accountId}/users/export.csv": h.exportMembers,
		"GET /accounts/{accountId}/changes":          h.accountChanges,
		"GET /users/{userId}":                        h.user,
		"GET /users/{userId}/changes":                h.userChanges,
		"GET /users/{userId}/access-history":         h.accessHistory,
		"GET /accounts/{accountId}/access-history":   h.accountAccessHistory,
		"GET /roles":                                 h.roles,
		"GET /tenant/settings":                       h.settings,
		"GET /plans":                                 h.plans,
		"GET /tenant/changes":                        h.tenantChanges,
		"GET /licence-types":                         h.licenceTypes,
		"GET /tenant/api-keys":                       h.apiKeys,
		"GET /accounts/{accountId}/api-keys":         h.apiKeys,

		// The account's access history as CSV.
		"GET /accounts/{accountId}/access-history/export.csv": h.exportAccountAccessHistory,
	})
}

func (h handler) listAccounts(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := directory.ParseAccountQuery(caller, req.QueryStringParameters, directory.DefaultPageSize, directory.MaxPageSize)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.Accounts(ctx, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h handler) exportAccounts(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := directory.ParseAccountQuery(caller, req.QueryStringParameters, directory.DefaultExportSize, directory.MaxExportSize)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.Accounts(ctx, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	zone, err := h.dir.ReaderZone(ctx, caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return csvResponse(req, directory.AccountsCSV(page.Accounts, zone), "accounts.csv", page.NextCursor), nil
}

func (h handler) account(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	v, err := h.dir.Account(ctx, caller, req.PathParameters["accountId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, v), v.Version), nil
}

func (h handler) listMembers(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := directory.ParseMemberQuery(caller, req.PathParameters["accountId"], req.QueryStringParameters,
		directory.DefaultPageSize, directory.MaxPageSize)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.Members(ctx, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h handler) exportMembers(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := directory.ParseMemberQuery(caller, req.PathParameters["accountId"], req.QueryStringParameters,
		directory.DefaultExportSize, directory.MaxExportSize)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.Members(ctx, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	zone, err := h.dir.ReaderZone(ctx, caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return csvResponse(req, directory.MembersCSV(page.Members, zone), "members.csv", page.NextCursor), nil
}

func (h handler) accountChanges(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, limit, cursor, err := listParams(ctx, req)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.AccountChanges(ctx, caller, req.PathParameters["accountId"], limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

// tenantChanges pages the tenant-level change log (accounts closed,
// reopened, wiped) as the account change log is paged.
func (h handler) tenantChanges(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, limit, cursor, err := listParams(ctx, req)
	if err != nil {
		return httpapi.Response{}, err
	}
	entries, next, err := changelog.TenantChanges(ctx, h.dir.Store, caller, limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	page := directory.ChangePage{Changes: make([]directory.Change, 0, len(entries)), NextCursor: next}
	for _, e := range entries {
		page.Changes = append(page.Changes, directory.Change{ID: e.ID, At: e.At, AccountID: e.AccountID, Actor: e.Actor, Action: e.Action,
			SubjectType: e.SubjectType, SubjectID: e.SubjectID, Before: e.Before, After: e.After})
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h handler) user(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	v, err := h.dir.User(ctx, caller, req.PathParameters["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, v), v.Version), nil
}

func (h handler) userChanges(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, limit, cursor, err := listParams(ctx, req)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.UserChanges(ctx, caller, req.PathParameters["userId"], limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h handler) accessHistory(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, limit, cursor, err := listParams(ctx, req)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.AccessHistory(ctx, caller, req.PathParameters["userId"], limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h handler) accountAccessHistory(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, limit, cursor, err := listParams(ctx, req)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.AccountAccessHistory(ctx, caller, req.PathParameters["accountId"], limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

// exportAccountAccessHistory is the account's access history as CSV, as
// the member export offers its list: the same reader's view (no client
// to whoever the JSON shows none), pages of up to MaxExportSize rows.
func (h handler) exportAccountAccessHistory(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, limit, cursor, err := pageParams(ctx, req, directory.DefaultExportSize, directory.MaxExportSize)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.AccountAccessHistory(ctx, caller, req.PathParameters["accountId"], limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	zone, err := h.dir.ReaderZone(ctx, caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return csvResponse(req, directory.AccountAccessCSV(page.Entries, zone), "access-history.csv", page.NextCursor), nil
}

func (h handler) roles(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	v, err := h.dir.Roles(ctx, caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, v), nil
}

func (h handler) settings(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	v, err := h.dir.Settings(ctx, caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, v), v.Version), nil
}

func (h handler) plans(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	v, err := h.dir.Plans(ctx, caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, v), nil
}

// listParams reads the caller, limit and cursor of a plain paged list.
func listParams(ctx context.Context, req httpapi.Request) (access.Caller, int32, string, error) {
	return pageParams(ctx, req, directory.DefaultPageSize, directory.MaxPageSize)
}

// pageParams reads the caller, limit (def when absent, at most max) and
// cursor of a paged list or export.
func pageParams(ctx context.Context, req httpapi.Request, def, max int32) (access.Caller, int32, string, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return access.Caller{}, 0, "", err
	}
	var f apperr.Fields
	v, present := req.QueryStringParameters["limit"]
	limit := directory.Limit(v, present, def, max, &f)
	return caller, limit, req.QueryStringParameters["cursor"], f.Err()
}

// csvResponse answers an export page: the CSV, and when more rows follow,
// the cursor of the next page in X-Next-Cursor and a Link rel="next" to it.
func csvResponse(req httpapi.Request, sheet *csvexport.Sheet, filename, next string) httpapi.Response {
	headers := map[string]string{
		"Content-Type":           csvexport.ContentType,
		"Content-Disposition":    `attachment; filename="` + filename + `"`,
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	if next != "" {
		headers["X-Next-Cursor"] = next
		params := url.Values{}
		keys := make([]string, 0, len(req.QueryStringParameters))
		for k := range req.QueryStringParameters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k != "cursor" {
				params.Set(k, req.QueryStringParameters[k])
			}
		}
		params.Set("cursor", next)
		headers["Link"] = "<" + req.RawPath + "?" + params.Encode() + `>; rel="next"`
	}
	return httpapi.Response{StatusCode: http.StatusOK, Headers: headers, Body: sheet.String()}
}

// licenceTypes shows the catalogue to any signed-in member (the forms that
// give a licence offer its types).
func (h handler) licenceTypes(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, err := access.CallerFrom(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	s, err := tenancy.Load(ctx, h.dir.Store, caller.Tenant)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, s.CatalogueOf()), s.Version), nil
}

// apiKeys lists the API keys of the tenant (operators) or of {accountId}
// (its Admins), newest first, never a secret.
func (h handler) apiKeys(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	caller, limit, cursor, err := listParams(ctx, req)
	if err != nil {
		return httpapi.Response{}, err
	}
	keys, next, err := h.keys.List(ctx, caller, req.PathParameters["accountId"], limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, struct {
		Keys       []apikeys.View `json:"keys"`
		NextCursor string         `json:"nextCursor,omitempty"`
	}{keys, next}), nil
}
