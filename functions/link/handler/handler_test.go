package handler_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/acme/accountadmin/functions/link/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/testkit"
)

func request(t testing.TB, c access.Caller, routeKey string, params map[string]string, body string) httpapi.Request {
	method, path, _ := strings.Cut(routeKey, " ")
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	req := httpapi.Request{RouteKey: routeKey, RawPath: path, Body: body, PathParameters: params,
		Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.HTTP.Method = method
	return testkit.As(t, req, c)
}

func TestLinkRoutes(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	ctx := context.Background()
	h := handler.New(env.Service())
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	operator := access.Caller{Tenant: ten.Tenant, UserID: env.AddOperator(t, ten).ID, SessionID: "s", AccountID: ten.AccountID, Operator: true}
	other := env.AddAccount(t, ten, "Other")
	env.AddMembership(t, ten, other, ten.AdminID, ten.AdminEmail, access.RoleAdmin)
	parent := map[string]string{"accountId": ten.AccountID}

	send := func(c access.Caller, routeKey string, params map[string]string, body string) (int, map[string]any) {
		t.Helper()
		resp, err := h(ctx, request(t, c, routeKey, params, body))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &out)
		return resp.StatusCode, out
	}
	call := func(routeKey string, params map[string]string, body string) (int, map[string]any) {
		t.Helper()
		return send(operator, routeKey, params, body)
	}
	// The Admin of both accounts may not link, create a child or unlink
	// (tenant administration); nothing changes.
	unlink := map[string]string{"accountId": ten.AccountID, "childId": other}
	for _, r := range []struct{ route, body string }{
		{"POST /accounts/{accountId}/children", `{"childId":"` + other + `"}`},
		{"POST /accounts/{accountId}/children", `{"name":"By the Admin"}`},
	} {
		if status, body := send(admin, r.route, parent, r.body); status != 403 || body["code"] != "operators_only" {
			t.Fatalf("admin %s %s: %d %v", r.route, r.body, status, body)
		}
	}
	if status, body := send(admin, "GET /accounts/{accountId}/family", parent, ""); status != 200 || body["role"] != "unlinked" {
		t.Fatalf("after the admin's refused links: %d %v", status, body)
	}
	if status, body := call("POST /accounts/{accountId}/children", parent, `{"childId":"`+other+`"}`); status != 201 ||
		body["child"].(map[string]any)["parentId"] != ten.AccountID {
		t.Fatalf("link: %d %v", status, body)
	}
	status, body := call("POST /accounts/{accountId}/children", parent, `{"name":"Fresh Co"}`)
	if status != 201 || body["child"].(map[string]any)["name"] != "Fresh Co" || len(body["family"].(map[string]any)["children"].([]any)) != 2 {
		t.Fatalf("create: %d %v", status, body)
	}
	for _, bad := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"childId":"x","name":"y"}`, 422, "validation_failed"},
		{`{}`, 422, "validation_failed"},
		{`{"childId":"` + other + `","extra":1}`, 422, "validation_failed"},
		{`{"childId":"` + ten.AccountID + `"}`, 422, "validation_failed"},
		{`{"childId":"` + other + `"}`, 409, "already_has_parent"},
		{`{"name":""}`, 422, "validation_failed"},
		{`{"childId":`, 400, "malformed_json"},
	} {
		if status, out := call("POST /accounts/{accountId}/children", parent, bad.body); status != bad.status || out["code"] != bad.code {
			t.Errorf("%s: %d %v", bad.body, status, out)
		}
	}
	// Every member reads the family.
	if status, body := send(admin, "GET /accounts/{accountId}/family", map[string]string{"accountId": other}, ""); status != 200 ||
		body["role"] != "child" || body["parent"].(map[string]any)["id"] != ten.AccountID {
		t.Fatalf("family: %d %v", status, body)
	}
	if status, body := send(admin, "DELETE /accounts/{accountId}/children/{childId}", unlink, ""); status != 403 || body["code"] != "operators_only" {
		t.Fatalf("admin unlink: %d %v", status, body)
	}
	if status, _ := call("DELETE /accounts/{accountId}/children/{childId}", unlink, ""); status != 204 {
		t.Fatalf("unlink: %d", status)
	}
	if status, body := call("DELETE /accounts/{accountId}/children/{childId}", unlink, ""); status != 404 || body["code"] != "not_linked" {
		t.Fatalf("unlink again: %d %v", status, body)
	}
}

func TestAssociateRoutes(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	ctx := context.Background()
	h := handler.New(env.Service())
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	operator := access.Caller{Tenant: ten.Tenant, UserID: env.AddOperator(t, ten).ID, SessionID: "s", AccountID: ten.AccountID, Operator: true}
	client := env.AddAccount(t, ten, "Client")
	env.AddMembership(t, ten, client, ten.AdminID, ten.AdminEmail, access.RoleAdmin)
	advisor := env.AddUser(t, ten, ten.AccountID, "advisor@routes.example", "")

	send := func(c access.Caller, routeKey string, params map[string]string, body string, headers map[string]string) (int, map[string]any, httpapi.Response) {
		t.Helper()
		req := request(t, c, routeKey, params, body)
		for k, v := range headers {
			req.Headers[k] = v
		}
		resp, err := h(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &out)
		return resp.StatusCode, out, resp
	}
	// Associating without the user's consent is tenant administration: the
	// client's Admin is refused (they invite instead), an operator may, and
	// nobody associates themselves.
	associations := map[string]string{"userId": advisor.ID}
	toClient := `{"accounts":[{"accountId":"` + client + `","roles":["Viewer"]}]}`
	if status, body, _ := send(admin, "POST /users/{userId}/associations", associations, toClient, nil); status != 403 || body["code"] != "operators_only" {
		t.Fatalf("admin associates: %d %v", status, body)
	}
	if _, ok, err := memberOf(ctx, env, ten, client, advisor.ID); err != nil || ok {
		t.Fatalf("a refused association was written: %v %v", ok, err)
	}
	if status, body, _ := send(operator, "POST /users/{userId}/associations", map[string]string{"userId": operator.UserID}, toClient, nil); status != 403 || body["code"] != "own_roles" {
		t.Fatalf("operator associates themselves: %d %v", status, body)
	}
	if _, ok, err := memberOf(ctx, env, ten, client, operator.UserID); err != nil || ok {
		t.Fatalf("the operator became a member: %v %v", ok, err)
	}
	status, body, _ := send(operator, "POST /users/{userId}/associations", associations, toClient, nil)
	if status != 201 || body["memberships"].([]any)[0].(map[string]any)["external"] != true {
		t.Fatalf("associate: %d %v", status, body)
	}
	if status, body, _ := send(operator, "POST /users/{userId}/associations", associations, `{"accounts":[]}`, nil); status != 422 {
		t.Fatalf("no accounts: %d %v", status, body)
	}
	// The client's Admin sets the associate's roles and removes them (the
	// administration's SetRoles and RemoveAssociate behind these routes).
	one := map[string]string{"accountId": client, "userId": advisor.ID}
	status, body, resp := send(admin, "PATCH /accounts/{accountId}/associates/{userId}", one, `{"roles":["Admin"]}`, map[string]string{"if-match": `"1"`})
	if status != 200 || resp.Headers["ETag"] != `"2"` || body["roles"].([]any)[0] != "Admin" {
		t.Fatalf("change roles: %d %v", status, body)
	}
	// The advisor signs in at home and switches to the client.
	svc := &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	signed, err := svc.SignIn(ctx, auth.SignIn{Tenant: ten.Tenant, Email: advisor.Email, Password: testkit.Password})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := svc.Authorize(ctx, signed.Token)
	if err != nil {
		t.Fatal(err)
	}
	status, body, _ = send(caller, "POST /me/switch-account", nil, `{"accountId":"`+client+`"}`, map[string]string{"authorization": "Bearer " + signed.Token})
	if status != 200 || body["accountId"] != client {
		t.Fatalf("switch: %d %v", status, body)
	}
	if status, _, _ := send(caller, "POST /me/switch-account", nil, `{"accountId":"`+client+`"}`, map[string]string{"authorization": "Bearer someone-else.token"}); status != 401 {
		t.Fatalf("switch with a token that is not the caller's: %d", status)
	}
	// The advisor's home membership is not an association.
	home := map[string]string{"accountId": ten.AccountID, "userId": advisor.ID}
	if status, body, _ := send(admin, "PATCH /accounts/{accountId}/associates/{userId}", home, `{"roles":["Admin"]}`, nil); status != 404 || body["code"] != "not_an_associate" {
		t.Fatalf("change a home membership's roles as an association: %d %v", status, body)
	}
	if status, body, _ := send(admin, "DELETE /accounts/{accountId}/associates/{userId}", home, "", nil); status != 404 || body["code"] != "not_an_associate" {
		t.Fatalf("remove a home membership as an association: %d %v", status, body)
	}
	if status, _, _ := send(admin, "DELETE /accounts/{accountId}/associates/{userId}", one, "", nil); status != 204 {
		t.Fatalf("remove: %d", status)
	}
	if _, ok, err := memberOf(ctx, env, ten, client, advisor.ID); err != nil || ok {
		t.Fatalf("membership still there: %v %v", ok, err)
	}
	if _, err := svc.Authorize(ctx, signed.Token); err == nil {
		t.Fatal("the removed associate's session still works in the client account")
	}
}

func memberOf(ctx context.Context, env *testkit.Env, ten testkit.Tenant, accountID, userID string) (accounts.Membership, bool, error) {
	var m accounts.Membership
	ok, err := env.Store.Get(ctx, ten.Membership(accountID, userID), &m)
	return m, ok, err
}
