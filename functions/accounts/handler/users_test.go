package handler_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/acme/accountadmin/functions/accounts/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/testkit"
)

// TestUsersRouteListsAndExportsBothKinds: GET /accounts/{id}/users and its
// CSV export, with the users list's parameters, as a Viewer reads them;
// bad combinations are 422 and another tenant's caller gets 404.
func TestUsersRouteListsAndExportsBothKinds(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	h := handler.New(env.Service())
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s1", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	inv := invitations.New(env.Service())
	inv.Mail = nil
	no := false
	cmd, err := invitations.InviteRequest{Emails: []string{"=cmd@users.example", "admiral@users.example"}, SendEmail: &no}.Command(admin, ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Invite(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	viewer := env.AddUser(t, ten, ten.AccountID, "viewer@users.example", "", access.RoleViewer)
	reader := access.Caller{Tenant: ten.Tenant, UserID: viewer.ID, SessionID: "s2", AccountID: ten.AccountID, Roles: []string{access.RoleViewer}}

	get := func(c access.Caller, name string, query map[string]string) (int, string) {
		t.Helper()
		resp, err := h(context.Background(), sample(t, name, c, query))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Body
	}
	status, body := get(reader, "members", map[string]string{"limit": "10"})
	var page struct {
		Members []struct{ Kind, Email, Status string } `json:"members"`
	}
	if err := json.Unmarshal([]byte(body), &page); status != http.StatusOK || err != nil {
		t.Fatalf("list: %d %s", status, body)
	}
	var got []string
	for _, m := range page.Members {
		got = append(got, m.Kind+":"+m.Email)
	}
	if strings.Join(got, " ") != "invitation:=cmd@users.example member:"+ten.AdminEmail+" invitation:admiral@users.example member:viewer@users.example" {
		t.Errorf("users: %v", got)
	}
	// By name: the admin (Ada Admin) matches "ADM"; the invitation to
	// admiral@ has no name, so it does not.
	status, body = get(reader, "members-by-name", map[string]string{"name": "ADM"})
	if status != http.StatusOK || !strings.Contains(body, ten.AdminEmail) || strings.Contains(body, "admiral@") {
		t.Errorf("name=ADM: %d %s", status, body)
	}
	status, body = get(reader, "members-export", map[string]string{"kind": "invitation"})
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if status != http.StatusOK || err != nil || len(recs) != 3 || recs[0][0] != "kind" || recs[1][0] != "invitation" || recs[1][3] != "'=cmd@users.example" {
		t.Errorf("export of invitations: %d %v\n%s", status, err, body)
	}
	for _, bad := range []map[string]string{{"sort": "name", "q": "a"}, {"kind": "everyone"}, {"sort": "joined"}, {"kind": "invitation", "licence": "none"}} {
		if status, body := get(reader, "members", bad); status != http.StatusUnprocessableEntity || !strings.Contains(body, "validation_failed") {
			t.Errorf("%v: %d %s", bad, status, body)
		}
	}
	stranger := env.NewTenant(t)
	other := access.Caller{Tenant: stranger.Tenant, UserID: stranger.AdminID, SessionID: "s3", AccountID: stranger.AccountID, Roles: []string{access.RoleAdmin}}
	req := sample(t, "members-by-name", other, nil)
	req.PathParameters["accountId"] = ten.AccountID
	if resp, err := h(context.Background(), req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("another tenant's admin: %d %v %s", resp.StatusCode, err, resp.Body)
	}
}
