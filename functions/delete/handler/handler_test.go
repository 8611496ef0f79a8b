package handler_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/functions/delete/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

func sample(t *testing.T, name string, c access.Caller, more ...string) httpapi.Request {
	t.Helper()
	raw, err := os.ReadFile("../../../events/delete/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	pairs := append([]string{"${TENANT}", c.Tenant.ID(), "${USER_ID}", c.UserID, "${SESSION_ID}", c.SessionID,
		"${ACCOUNT_ID}", c.AccountID, "${TOKEN}", "unused"}, more...)
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(strings.NewReplacer(pairs...).Replace(string(raw))), &req); err != nil {
		t.Fatal(err)
	}
	return testkit.As(t, req, c)
}

func TestWipeAnswers202UntilNothingIsLeft(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := administration.New(env.Service())
	svc.WipeBudget = 4
	h := handler.NewWith(env.Service(), svc)
	closing := env.AddAccount(t, ten, "Sample closing")
	env.AddMembership(t, ten, closing, ten.AdminID, ten.AdminEmail, access.RoleAdmin)
	for i := range 6 {
		env.AddUser(t, ten, closing, "m"+string(rune('a'+i))+"@closing.example", "")
	}
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	op := access.Caller{Tenant: ten.Tenant, UserID: env.AddOperator(t, ten).ID, AccountID: ten.AccountID, Operator: true}

	req := sample(t, "close-account", op, "${CLOSE_ACCOUNT_ID}", closing)
	req.Body = `{"confirmName": "Another name", "wipe": true}`
	if resp, _ := h(context.Background(), req); resp.StatusCode != 422 {
		t.Fatalf("mismatch: %d %s", resp.StatusCode, resp.Body)
	}
	// Closing is tenant administration: the account's own Admin is refused.
	if resp, _ := h(context.Background(), sample(t, "close-account", admin, "${CLOSE_ACCOUNT_ID}", closing)); resp.StatusCode != 403 {
		t.Fatalf("admin closes: %d %s", resp.StatusCode, resp.Body)
	}
	resp, _ := h(context.Background(), sample(t, "close-account", op, "${CLOSE_ACCOUNT_ID}", closing))
	if resp.StatusCode != 202 {
		t.Fatalf("first: %d %s", resp.StatusCode, resp.Body)
	}
	for i := 0; ; i++ {
		resp, _ := h(context.Background(), sample(t, "close-account", op, "${CLOSE_ACCOUNT_ID}", closing))
		if resp.StatusCode == 200 {
			break
		}
		if resp.StatusCode != 202 || i > 10 {
			t.Fatalf("resume: %d %s", resp.StatusCode, resp.Body)
		}
	}
	left, err := env.Store.QueryAll(context.Background(), store.Query{Partition: ten.AccountPartition(closing)}, 0)
	if err != nil || len(left) != 0 {
		t.Fatalf("%d items left (%v)", len(left), err)
	}
}

func TestBulkDeleteReportsPerID(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	h := handler.New(env.Service())
	member := env.AddUser(t, ten, ten.AccountID, "member@example.org", "")
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	req := sample(t, "delete-users", admin, "${MEMBER_ID}", member.ID)
	req.Body = `{"userIds": ["` + member.ID + `", "` + ten.AdminID + `", "unknown-user"]}`
	resp, _ := h(context.Background(), req)
	var rep administration.DeleteReport
	_ = json.Unmarshal([]byte(resp.Body), &rep)
	if resp.StatusCode != 200 || rep.Deleted != 1 || rep.Failed != 2 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	want := map[string]int{member.ID: 204, ten.AdminID: 409, "unknown-user": 404}
	for _, r := range rep.Results {
		if want[r.UserID] != r.Status {
			t.Errorf("%s: %+v", r.UserID, r)
		}
	}
	// Deleting them again: 404.
	if resp, _ := h(context.Background(), sample(t, "delete-user", admin, "${MEMBER_ID}", member.ID)); resp.StatusCode != 404 {
		t.Fatalf("again: %d %s", resp.StatusCode, resp.Body)
	}
}
