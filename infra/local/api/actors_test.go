package api_test

import (
	"context"
	"encoding/csv"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// actorsWorld is a customer account with an Admin and a Viewer, another
// account with its own Admin, and a support person (a tenant operator at
// home in the tenant's first account), behind the local HTTP API.
type actorsWorld struct {
	c                      client
	ten                    testkit.Tenant
	customer, other        string
	admin, viewer, otherAd testkit.User
	supportID, supportMail string
}

func newActorsWorld(t *testing.T) *actorsWorld {
	t.Helper()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	t.Cleanup(srv.Close)
	w := &actorsWorld{c: client{t, srv.URL}, ten: ten}
	w.customer = env.AddAccount(t, ten, "Customer")
	w.other = env.AddAccount(t, ten, "Other")
	w.admin = env.AddUser(t, ten, w.customer, "admin@customer.example", "", access.RoleAdmin)
	w.viewer = env.AddUser(t, ten, w.customer, "viewer@customer.example", "", access.RoleViewer)
	w.otherAd = env.AddUser(t, ten, w.other, "admin@other.example", "", access.RoleAdmin)

	hash, err := identity.HashPassword(testkit.Password)
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	w.supportMail = "sam@support.example"
	u := identity.NewUser(ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: w.supportMail, FirstName: "Sam", LastName: "Support",
		PasswordHash: hash, Status: identity.UserActive, Operator: true, HomeAccountID: ten.AccountID, CreatedAt: now, UpdatedAt: now})
	if err := env.Store.Transact(context.Background(), "add support person",
		store.Put(u).If(store.NotExists()), store.Put(identity.NewEmailClaim(ten.Tenant, w.supportMail, u.ID)).If(store.NotExists())); err != nil {
		t.Fatal(err)
	}
	w.supportID = u.ID
	return w
}

func (w *actorsWorld) signIn(t *testing.T, email, accountID string) string {
	t.Helper()
	status, body, _ := w.c.do("POST", "/auth/sign-in", "", jsonBody(map[string]string{"tenant": w.ten.ID(), "email": email,
		"password": testkit.Password, "accountId": accountID}))
	if status != 201 {
		t.Fatalf("sign in %s to %q: %d %v", email, accountID, status, body)
	}
	return body["token"].(string)
}

func (w *actorsWorld) renameUser(t *testing.T, token, userID, first, last string) {
	t.Helper()
	if status, body, _ := w.c.do("PATCH", "/users/"+userID, token, jsonBody(map[string]string{"firstName": first, "lastName": last})); status != 200 {
		t.Fatalf("rename user %s: %d %v", userID, status, body)
	}
}

func (w *actorsWorld) renameAccount(t *testing.T, token, name string) {
	t.Helper()
	if status, body, _ := w.c.do("PATCH", "/accounts/"+w.customer, token, jsonBody(map[string]string{"name": name})); status != 200 {
		t.Fatalf("rename account: %d %v", status, body)
	}
}

// changes is the customer's change log as token's reader reads it.
func (w *actorsWorld) changes(t *testing.T, token string) []map[string]any {
	t.Helper()
	status, body, _ := w.c.do("GET", "/accounts/"+w.customer+"/changes?limit=100", token, "")
	if status != 200 {
		t.Fatalf("change log: %d %v", status, body)
	}
	var out []map[string]any
	for _, c := range body["changes"].([]any) {
		out = append(out, c.(map[string]any))
	}
	return out
}

// entry is the change of action whose after.name is name ("" for any).
func entry(t *testing.T, changes []map[string]any, action, name string) map[string]any {
	t.Helper()
	for _, c := range changes {
		after, _ := c["after"].(map[string]any)
		if c["action"] == action && (name == "" || after["name"] == name) {
			return c
		}
	}
	t.Fatalf("no %s %q in %v", action, name, changes)
	return nil
}

// historyCSV reads the customer's access history export as token's reader:
// its header and rows as maps by column.
func (w *actorsWorld) historyCSV(t *testing.T, token string) (int, []map[string]string) {
	t.Helper()
	status, ct, body := w.c.raw("GET", "/accounts/"+w.customer+"/access-history/export.csv", token, "", "")
	if status != 200 {
		return status, nil
	}
	if !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("not CSV: %v\n%s", err, body)
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, col := range recs[0] {
			row[col] = r[i]
		}
		rows = append(rows, row)
	}
	return status, rows
}

// A support person's switch shows in the customer's access
// history (JSON and CSV) with their name and reason, to the account's Admin
// with the client, to a Viewer without it, to another account's Admin not
// at all; the changes they make there name them as they were then, and a
// member's change names the member.
func TestSupportIsNamedInTheAccountsHistoryAndChangeLog(t *testing.T) {
	t.Parallel()
	w := newActorsWorld(t)
	const reason = "=HYPERLINK(\"http://evil.example\") ticket 15"

	// The Admin renames themselves, then the account: the entry names them
	// by their new name, read from their user item at that request.
	adminTok := w.signIn(t, w.admin.Email, w.customer)
	w.renameUser(t, adminTok, w.admin.ID, "Ada", "Admin")
	w.renameAccount(t, adminTok, "Renamed by Ada")

	// Support enters with a reason and renames the account.
	supportTok := w.signIn(t, w.supportMail, "")
	if status, body, _ := w.c.do("POST", "/me/switch-account", supportTok,
		jsonBody(map[string]string{"accountId": w.customer, "reason": reason})); status != 200 {
		t.Fatalf("switch: %d %v", status, body)
	}
	w.renameAccount(t, supportTok, "Renamed by support")

	// The support person is renamed afterwards (their own profile, from
	// home): the entries already written keep the name they had.
	homeTok := w.signIn(t, w.supportMail, "")
	w.renameUser(t, homeTok, w.supportID, "Samantha", "Renamed")

	// The customer's Admin reads the change log: who did what, by name.
	changes := w.changes(t, adminTok)
	byAda := entry(t, changes, "account.renamed", "Renamed by Ada")["actor"].(map[string]any)
	if byAda["kind"] != "user" || byAda["id"] != w.admin.ID || byAda["name"] != "Ada Admin" || byAda["email"] != w.admin.Email {
		t.Fatalf("a member's change names the member: %v", byAda)
	}
	bySupport := entry(t, changes, "account.renamed", "Renamed by support")["actor"].(map[string]any)
	if bySupport["kind"] != "support" || bySupport["id"] != w.supportID || bySupport["name"] != "Sam Support" ||
		bySupport["email"] != w.supportMail || bySupport["reason"] != reason {
		t.Fatalf("a support change names the support person as they were: %v", bySupport)
	}
	entered := entry(t, changes, "support.entered", "")["actor"].(map[string]any)
	if entered["kind"] != "support" || entered["name"] != "Sam Support" || entered["email"] != w.supportMail || entered["reason"] != reason {
		t.Fatalf("support.entered names the support person and the reason: %v", entered)
	}

	// The access history, JSON, as the Admin: the switch by name, reason
	// and client.
	status, body, _ := w.c.do("GET", "/accounts/"+w.customer+"/access-history", adminTok, "")
	if status != 200 {
		t.Fatalf("access history: %d %v", status, body)
	}
	var sw map[string]any
	for _, e := range body["entries"].([]any) {
		if e := e.(map[string]any); e["via"] == "support" {
			sw = e
		}
	}
	if user, _ := sw["user"].(map[string]any); sw == nil || user["name"] != "Sam Support" || user["email"] != w.supportMail ||
		sw["reason"] != reason || sw["ip"] == nil {
		t.Fatalf("support switch in the JSON history: %v", body)
	}

	// The same as CSV: named, the reason neutralised against formulas, the client shown.
	status, rows := w.historyCSV(t, adminTok)
	if status != 200 || len(rows) != len(body["entries"].([]any)) {
		t.Fatalf("admin's CSV: %d, %d rows", status, len(rows))
	}
	i := slices.IndexFunc(rows, func(r map[string]string) bool { return r["via"] == "support" })
	if i < 0 || rows[i]["name"] != "Sam Support" || rows[i]["email"] != w.supportMail || rows[i]["reason"] != "'"+reason ||
		rows[i]["ip"] == "" || rows[i]["user_id"] != w.supportID || rows[i]["at_utc"] == "" {
		t.Fatalf("support switch in the CSV: %v", rows)
	}

	// A Viewer reads the names and reasons, never a client (but their own).
	viewerTok := w.signIn(t, w.viewer.Email, w.customer)
	status, body, _ = w.c.do("GET", "/accounts/"+w.customer+"/access-history", viewerTok, "")
	if status != 200 {
		t.Fatalf("viewer's history: %d %v", status, body)
	}
	for _, e := range body["entries"].([]any) {
		e := e.(map[string]any)
		if user, _ := e["user"].(map[string]any); user["id"] != w.viewer.ID && (e["ip"] != nil || e["userAgent"] != nil) {
			t.Fatalf("a Viewer sees a client: %v", e)
		}
	}
	status, rows = w.historyCSV(t, viewerTok)
	if status != 200 || !slices.ContainsFunc(rows, func(r map[string]string) bool { return r["name"] == "Sam Support" }) {
		t.Fatalf("viewer's CSV: %d %v", status, rows)
	}
	for _, r := range rows {
		if r["user_id"] != w.viewer.ID && (r["ip"] != "" || r["user_agent"] != "") {
			t.Fatalf("a Viewer's CSV shows a client: %v", r)
		}
	}

	// Another account's Admin reads neither.
	otherTok := w.signIn(t, w.otherAd.Email, w.other)
	if status, body, _ := w.c.do("GET", "/accounts/"+w.customer+"/access-history", otherTok, ""); status != 403 {
		t.Fatalf("another account's Admin, JSON: %d %v", status, body)
	}
	if status, _ := w.historyCSV(t, otherTok); status != 403 {
		t.Fatalf("another account's Admin, CSV: %d", status)
	}
}
