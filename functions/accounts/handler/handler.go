// Package handler serves the reading side of administration: the account
// directory, accounts, members, profiles, change logs, access history, API
// keys and CSV exports. Its routes are the rows of the route table
// (shared/routes) whose Function is "accounts", each registered under its
// row's Op; their query parameters (sort, search, filters, limit, cursor)
// are documented in shared/routes/openapi.json.
package handler

import (
	"context"
	"net/http"
	"net/url"
	"sort"

	"github.com/acme/accountadmin/shared/apikeys"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/csvexport"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/tenancy"
)

type handler struct {
	dir  *directory.Directory
	keys *apikeys.Service
}

// New returns the function's Lambda handler.
func New(d service.Deps) httpapi.LambdaHandler {
	h := handler{dir: directory.New(d), keys: &apikeys.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs}}
	server := httpapi.Server{Log: d.Log, Sessions: &auth.Service{Store: d.Store, Clock: d.Clock}}
	return server.Serve(httpapi.Ops{
		"listAccounts":             h.listAccounts,
		"exportAccounts":           h.exportAccounts,
		"getAccount":               h.account,
		"listMembers":              h.listMembers,
		"exportMembers":            h.exportMembers,
		"listAccountChanges":       h.accountChanges,
		"getUser":                  h.user,
		"listUserChanges":          h.userChanges,
		"listAccessHistory":        h.accessHistory,
		"listAccountAccessHistory": h.accountAccessHistory,
		"listRoles":                h.roles,
		"getTenantSettings":        h.settings,
		"listPlans":                h.plans,
		"listTenantChanges":        h.tenantChanges,
		"listLicenceTypes":         h.licenceTypes,
		"listTenantAPIKeys":        h.apiKeys,
		"listAccountAPIKeys":       h.apiKeys,

		// The account's access history as CSV.
		"exportAccountAccessHistory": h.exportAccountAccessHistory,
	})
}

func (h handler) listAccounts(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	q, err := directory.ParseAccountQuery(in.Caller, in.QueryStringParameters, directory.DefaultPageSize, directory.MaxPageSize)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.Accounts(ctx, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h handler) exportAccounts(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	q, err := directory.ParseAccountQuery(in.Caller, in.QueryStringParameters, directory.DefaultExportSize, directory.MaxExportSize)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.Accounts(ctx, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	zone, err := h.dir.ReaderZone(ctx, in.Caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return csvResponse(in.Request, directory.AccountsCSV(page.Accounts, zone), "accounts.csv", page.NextCursor), nil
}

func (h handler) account(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	v, err := h.dir.Account(ctx, in.Caller, in.Path("accountId"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, v), v.Version), nil
}

func (h handler) listMembers(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	q, err := directory.ParseMemberQuery(in.Caller, in.Path("accountId"), in.QueryStringParameters,
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

func (h handler) exportMembers(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	q, err := directory.ParseMemberQuery(in.Caller, in.Path("accountId"), in.QueryStringParameters,
		directory.DefaultExportSize, directory.MaxExportSize)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.Members(ctx, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	zone, err := h.dir.ReaderZone(ctx, in.Caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return csvResponse(in.Request, directory.MembersCSV(page.Members, zone), "members.csv", page.NextCursor), nil
}

func (h handler) accountChanges(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	limit, cursor, err := listParams(in)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.AccountChanges(ctx, in.Caller, in.Path("accountId"), limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

// tenantChanges pages the tenant-level change log (accounts closed,
// reopened, wiped) as the account change log is paged.
func (h handler) tenantChanges(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	limit, cursor, err := listParams(in)
	if err != nil {
		return httpapi.Response{}, err
	}
	entries, next, err := changelog.TenantChanges(ctx, h.dir.Store, in.Caller, limit, cursor)
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

func (h handler) user(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	v, err := h.dir.User(ctx, in.Caller, in.Path("userId"))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, v), v.Version), nil
}

func (h handler) userChanges(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	limit, cursor, err := listParams(in)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.UserChanges(ctx, in.Caller, in.Path("userId"), limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h handler) accessHistory(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	limit, cursor, err := listParams(in)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.AccessHistory(ctx, in.Caller, in.Path("userId"), limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

func (h handler) accountAccessHistory(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	limit, cursor, err := listParams(in)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.AccountAccessHistory(ctx, in.Caller, in.Path("accountId"), limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, page), nil
}

// exportAccountAccessHistory is the account's access history as CSV, as
// the member export offers its list: the same reader's view (no client
// to whoever the JSON shows none), pages of up to MaxExportSize rows.
func (h handler) exportAccountAccessHistory(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	limit, cursor, err := pageParams(in, directory.DefaultExportSize, directory.MaxExportSize)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := h.dir.AccountAccessHistory(ctx, in.Caller, in.Path("accountId"), limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	zone, err := h.dir.ReaderZone(ctx, in.Caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return csvResponse(in.Request, directory.AccountAccessCSV(page.Entries, zone), "access-history.csv", page.NextCursor), nil
}

func (h handler) roles(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	v, err := h.dir.Roles(ctx, in.Caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, v), nil
}

func (h handler) settings(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	v, err := h.dir.Settings(ctx, in.Caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, v), v.Version), nil
}

func (h handler) plans(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	v, err := h.dir.Plans(ctx, in.Caller)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, v), nil
}

// listParams reads the limit and cursor of a plain paged list.
func listParams(in httpapi.In) (int32, string, error) {
	return pageParams(in, directory.DefaultPageSize, directory.MaxPageSize)
}

// pageParams reads the limit (def when absent, at most max) and cursor of
// a paged list or export.
func pageParams(in httpapi.In, def, max int32) (int32, string, error) {
	var f apperr.Fields
	v, present := in.QueryStringParameters["limit"]
	limit := directory.Limit(v, present, def, max, &f)
	return limit, in.QueryStringParameters["cursor"], f.Err()
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
func (h handler) licenceTypes(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	s, err := tenancy.Load(ctx, h.dir.Store, in.Caller.Tenant)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, s.CatalogueOf()), s.Version), nil
}

// apiKeys lists the API keys of the tenant (operators) or of {accountId}
// (its Admins), newest first, never a secret.
func (h handler) apiKeys(ctx context.Context, in httpapi.In) (httpapi.Response, error) {
	limit, cursor, err := listParams(in)
	if err != nil {
		return httpapi.Response{}, err
	}
	keys, next, err := h.keys.List(ctx, in.Caller, in.Path("accountId"), limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.JSON(http.StatusOK, struct {
		Keys       []apikeys.View `json:"keys"`
		NextCursor string         `json:"nextCursor,omitempty"`
	}{keys, next}), nil
}
