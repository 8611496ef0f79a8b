package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// closedExempt are the routes on an account that a closed account answers
// otherwise than 409 account_closed: the close (an operator's wipe) and the
// reopen.
var closedExempt = map[string]bool{
	"POST /accounts/{accountId}/close":  true,
	"POST /accounts/{accountId}/reopen": true,
}

// closedAccount adds an account of tenant A (A1's admin its Admin, the
// viewer its Viewer) and closes it, keeping its data.
func (w *securityWorld) closedAccount(t *testing.T, name string) string {
	t.Helper()
	id := w.account(t, name)
	w.closeKept(t, id)
	return id
}

// closeKept closes accountID without wiping, as tenant A's operator.
func (w *securityWorld) closeKept(t *testing.T, accountID string) {
	t.Helper()
	status, body, _ := w.do(t, w.operatorTok, probe{method: "GET", path: "/accounts/" + accountID})
	if status != 200 {
		t.Fatalf("read %s: %d %s", accountID, status, body)
	}
	var a struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(body, &a)
	status, body, _ = w.do(t, w.operatorTok, probe{method: "POST", path: "/accounts/" + accountID + "/close",
		body: jsonBody(map[string]any{"confirmName": a.Name})})
	if status != 200 {
		t.Fatalf("close %s: %d %s", accountID, status, body)
	}
}

// supportHomedElsewhere adds a tenant operator whose home is an account
// of their own (no membership anywhere), and returns their email.
func (w *securityWorld) supportHomedElsewhere(t *testing.T) string {
	t.Helper()
	hash, err := identity.HashPassword(testkit.Password)
	if err != nil {
		t.Fatal(err)
	}
	email := w.email(w.a, "support")
	now := w.env.Clock.Now()
	u := identity.NewUser(w.a.Tenant, identity.User{ID: w.env.IDs.NewID(), Email: email, FirstName: "Sue", LastName: "Support",
		PasswordHash: hash, Status: identity.UserActive, Operator: true, HomeAccountID: w.env.AddAccount(t, w.a, "Support desk"),
		CreatedAt: now, UpdatedAt: now})
	if err := w.env.Store.Transact(context.Background(), "add support homed elsewhere",
		store.Put(u).If(store.NotExists()), store.Put(identity.NewEmailClaim(w.a.Tenant, email, u.ID)).If(store.NotExists())); err != nil {
		t.Fatal(err)
	}
	return email
}

// switchInto switches token's session into accountID with a reason.
func (w *securityWorld) switchInto(t *testing.T, token, accountID string) {
	t.Helper()
	if status, body, _ := w.do(t, token, probe{method: "POST", path: "/me/switch-account",
		body: jsonBody(map[string]string{"accountId": accountID, "reason": "ticket 15: reading a closed account"})}); status != 200 {
		t.Fatalf("switch into %s: %d %s", accountID, status, body)
	}
}

// accountOf is the account a probe's path names (/accounts/{id}/...).
func accountOf(p probe) string {
	path, _, _ := strings.Cut(p.path, "?")
	return strings.Split(path, "/")[2]
}

// Every route of the route table on a closed account whose data was kept,
// by the security matrix's own requests: each read succeeds for a tenant
// operator not switched into it and for support switched into it; each
// write answers 409 account_closed to both and changes nothing. A route
// taking an account that is added without the closed check fails here.
func TestAClosedAccountIsReadOnlyForOperators(t *testing.T) {
	w := newSecurityWorld(t)
	// Support is homed in an account of its own, so that in A1 too (the
	// other operators' home) it enters as support.
	support := w.signIn(t, w.a, w.supportHomedElsewhere(t), "")

	var reads, writes []securityRow
	var probes = map[string]probe{}
	for _, row := range securityMatrix {
		if !strings.HasPrefix(strings.SplitN(row.route, " ", 2)[1], "/accounts/{accountId}") || closedExempt[row.route] {
			continue
		}
		probes[row.route] = row.prepare(t, w)
		if strings.HasPrefix(row.route, "GET ") {
			reads = append(reads, row)
		} else {
			writes = append(writes, row)
		}
	}
	for _, r := range routes.Table {
		if strings.HasPrefix(r.Path, "/accounts/{accountId}") && !closedExempt[r.Key()] {
			if _, ok := probes[r.Key()]; !ok {
				t.Fatalf("route %s has no request here (it needs a row in the security matrix)", r.Key())
			}
		}
	}
	closed := map[string]bool{}
	for _, p := range probes {
		if id := accountOf(p); !closed[id] {
			w.closeKept(t, id)
			closed[id] = true
		}
	}
	in := ""
	supportIn := func(id string) string {
		if in != id {
			w.switchInto(t, support, id)
			in = id
		}
		return support
	}

	for _, row := range reads {
		p := probes[row.route]
		for _, who := range []struct{ name, token string }{{unswitched, w.operatorTok}, {"support switched into it", supportIn(accountOf(p))}} {
			if status, body, _ := w.do(t, who.token, p); status != 200 {
				t.Errorf("%s %s on a closed account as %s: %d, want 200: %.300s", p.method, p.path, who.name, status, body)
			}
		}
	}
	for _, row := range writes {
		p := probes[row.route]
		for _, who := range []struct{ name, token string }{{unswitched, w.operatorTok}, {"support switched into it", supportIn(accountOf(p))}} {
			before := w.tenantItems(t, w.a)
			status, body, _ := w.do(t, who.token, p)
			if status != 409 || problemCode(body) != "account_closed" {
				t.Errorf("%s %s on a closed account as %s: %d %.300s, want 409 account_closed", p.method, p.path, who.name, status, body)
			}
			if changed := diff(before, w.tenantItems(t, w.a)); len(changed) > 0 && !onlyIdempotencyRecords(changed) {
				t.Errorf("%s %s on a closed account as %s changed %v", p.method, p.path, who.name, changed)
			}
		}
	}
}

// The account's own users read nothing of it once it is closed: its Admin
// (whose session is in another account) gets 409 account_closed on every
// read, and cannot switch into it; the operator reads its members, its
// change log (with the close) and its content.
func TestAClosedAccountIsNotReadByItsOwnUsers(t *testing.T) {
	t.Parallel()
	w := newSecurityWorld(t)
	kept := w.account(t, "Kept data")
	cmd, err := administration.CloseAccountRequest{ConfirmName: "Kept data"}.Command(w.operatorCaller(), kept)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := administration.New(w.env.Service()).CloseAccount(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"", "/users", "/users/export.csv", "/changes", "/access-history", "/usage", "/content", "/invitations", "/family"} {
		p := probe{method: "GET", path: "/accounts/" + kept + path}
		if status, body, _ := w.do(t, w.adminTok, p); status != 409 || problemCode(body) != "account_closed" {
			t.Errorf("the closed account's Admin reads %s: %d %.200s, want 409 account_closed", p.path, status, body)
		}
		if status, body, _ := w.do(t, w.operatorTok, p); status != 200 {
			t.Errorf("an operator reads %s: %d %.200s", p.path, status, body)
		}
	}
	if status, body, _ := w.do(t, w.adminTok, probe{method: "POST", path: "/me/switch-account",
		body: jsonBody(map[string]string{"accountId": kept})}); status != 409 || problemCode(body) != "account_closed" {
		t.Errorf("the Admin switches into the closed account: %d %s", status, body)
	}
	_, body, _ := w.do(t, w.operatorTok, probe{method: "GET", path: "/accounts/" + kept + "/users"})
	if !strings.Contains(string(body), w.a.AdminEmail) {
		t.Errorf("the closed account's members, read by an operator, lack its Admin: %s", body)
	}
	_, body, _ = w.do(t, w.operatorTok, probe{method: "GET", path: "/accounts/" + kept + "/changes"})
	if !strings.Contains(string(body), `"account.closed"`) {
		t.Errorf("the closed account's change log lacks its close: %s", body)
	}
}

// tenantChanges reads the whole tenant-level log as token.
func (w *securityWorld) tenantChanges(t *testing.T, token string) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		status, body, _ := w.do(t, token, probe{method: "GET", path: "/tenant/changes?limit=2" + cursor})
		if status != 200 {
			t.Fatalf("tenant changes: %d %s", status, body)
		}
		var page struct {
			Changes    []map[string]any `json:"changes"`
			NextCursor string           `json:"nextCursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Changes...)
		if page.NextCursor == "" {
			return out
		}
		cursor = "&cursor=" + page.NextCursor
	}
}

func (w *securityWorld) meID(t *testing.T, token string) string {
	t.Helper()
	_, body, _ := w.do(t, token, probe{method: "GET", path: "/me"})
	var me struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &me); err != nil || me.ID == "" {
		var alt struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		_ = json.Unmarshal(body, &alt)
		me.ID = alt.User.ID
	}
	if me.ID == "" {
		t.Fatalf("no id in /me: %s", body)
	}
	return me.ID
}

// A closed account whose data was kept is reopened by a tenant operator
// (not by its Admin), and its users sign in to it again; the close, the
// reopen and a wipe are in the tenant-level log with their actors, the
// wipe with the counts of what it deleted over all its calls.
func TestReopenRestoresSignInAndTheTenantLogKeepsCloseReopenAndWipe(t *testing.T) {
	t.Parallel()
	w := newSecurityWorld(t)
	ctx := context.Background()
	opID := w.meID(t, w.operatorTok)
	kept := w.account(t, "Coming back")
	member := w.env.AddUser(t, w.a, kept, w.email(w.a, "returning"), "", access.RoleAdmin)
	signIn := func() (int, []byte) {
		status, body, _ := w.do(t, "", probe{method: "POST", path: "/auth/sign-in",
			body: jsonBody(map[string]string{"tenant": w.a.ID(), "email": member.Email, "password": member.Password, "accountId": kept})})
		return status, body
	}
	status, body := signIn()
	if status != 201 {
		t.Fatalf("sign in before the close: %d %s", status, body)
	}
	var early struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(body, &early)
	w.remember(early.Token)
	w.closeKept(t, kept)
	w.env.Clock.Advance(time.Minute)
	if status, body := signIn(); status != 403 || problemCode(body) != "account_closed" {
		t.Fatalf("sign in to a closed account: %d %s, want 403 account_closed", status, body)
	}

	reopen := func(token, body string) (int, []byte) {
		status, raw, _ := w.do(t, token, probe{method: "POST", path: "/accounts/" + kept + "/reopen", body: body})
		return status, raw
	}
	before := w.tenantItems(t, w.a)
	if status, body := reopen(w.adminTok, ""); status != 403 || problemCode(body) != "operators_only" {
		t.Errorf("its Admin reopens: %d %s, want 403 operators_only", status, body)
	}
	if status, body := reopen(w.operatorTok, `{"reason":"two\nlines"}`); status != 422 {
		t.Errorf("a reason on two lines: %d %s, want 422", status, body)
	}
	if changed := diff(before, w.tenantItems(t, w.a)); len(changed) > 0 {
		t.Fatalf("refused reopens changed %v", changed)
	}
	if status, body := reopen(w.operatorTok, `{"reason":"ticket 15: paid again"}`); status != 200 || !strings.Contains(string(body), `"status":"active"`) {
		t.Fatalf("reopen: %d %s", status, body)
	}
	if status, body := reopen(w.operatorTok, ""); status != 409 || problemCode(body) != "account_not_closed" {
		t.Errorf("reopen an active account: %d %s, want 409 account_not_closed", status, body)
	}
	status, body = signIn()
	if status != 201 {
		t.Fatalf("sign in after the reopen: %d %s", status, body)
	}
	var late struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(body, &late)
	if status, body, _ := w.do(t, late.Token, probe{method: "GET", path: "/me"}); status != 200 {
		t.Errorf("a session after the reopen: %d %s", status, body)
	}
	// A session from before the close does not come back with the account.
	if status, body, _ := w.do(t, early.Token, probe{method: "GET", path: "/me"}); status != 401 {
		t.Errorf("a session from before the close, after the reopen: %d %s, want 401", status, body)
	}
	reopened := w.env.Changes(t, w.a.Tenant, kept, "account.reopened")
	if len(reopened) != 1 || reopened[0].Actor.Kind != "operator" || reopened[0].Actor.ID != opID || reopened[0].After["reason"] != "ticket 15: paid again" {
		t.Errorf("the account's log of the reopen: %+v", reopened)
	}

	// A wipe over several calls (a budget of 3 items a call): the account's
	// members, content, usage and log, counted over all the calls.
	wiped := w.account(t, "Going away")
	for i := 0; i < 4; i++ {
		w.env.AddUser(t, w.a, wiped, w.email(w.a, "leaving"), "", access.RoleViewer)
	}
	if status, body, _ := w.do(t, w.operatorTok, probe{method: "POST", path: "/accounts/" + kept + "/close",
		body: `{"confirmName":"Coming back","wipe":false}`}); status != 200 {
		t.Fatalf("close again: %d %s", status, body)
	}
	svc := administration.New(w.env.Service())
	svc.WipeBudget = 3
	op := w.operatorCaller()
	op.UserID = opID
	cmd, err := administration.CloseAccountRequest{ConfirmName: "Going away", Wipe: true}.Command(op, wiped)
	if err != nil {
		t.Fatal(err)
	}
	partition := "T#" + w.a.ID() + "#A#" + wiped
	items := w.env.Items(t, partition)
	calls, total := 0, 0
	for done := false; !done; calls++ {
		res, err := svc.CloseAccount(ctx, cmd)
		if err != nil {
			t.Fatalf("wipe call %d: %v", calls, err)
		}
		total += res.Deleted
		done = res.Complete
		if calls == 0 {
			// Half wiped: never reopened.
			if status, body, _ := w.do(t, w.operatorTok, probe{method: "POST", path: "/accounts/" + wiped + "/reopen"}); status != 409 || problemCode(body) != "account_wiped" {
				t.Errorf("reopen a half-wiped account: %d %s, want 409 account_wiped", status, body)
			}
		}
	}
	if calls < 3 {
		t.Fatalf("the wipe took %d calls: the test wants several", calls)
	}

	log := w.tenantChanges(t, w.operatorTok)
	var actions []string
	for _, e := range log {
		actions = append(actions, e["action"].(string)+" "+e["accountId"].(string))
		actor := e["actor"].(map[string]any)
		if actor["kind"] != "operator" || actor["id"] != opID {
			t.Errorf("%s logged as %v, want the operator %s", e["action"], actor, opID)
		}
	}
	want := []string{"account.wiped " + wiped, "account.closed " + wiped, "account.closed " + kept, "account.reopened " + kept, "account.closed " + kept}
	if strings.Join(actions, ", ") != strings.Join(want, ", ") {
		t.Fatalf("tenant log, newest first:\n got %v\nwant %v", actions, want)
	}
	wipe := log[0]
	if before, _ := wipe["before"].(map[string]any); before["name"] != "Going away" {
		t.Errorf("the wipe's entry does not name the account: %v", wipe)
	}
	counts, _ := wipe["after"].(map[string]any)["deleted"].(map[string]any)
	sum := 0
	for k, n := range counts {
		if k != "usersDeleted" { // users live outside the account's partition
			sum += int(n.(float64))
		}
	}
	// members: the 4 leaving and A1's admin and the viewer (w.account);
	// the account item; its log entries (the close, at least).
	if counts["members"] != float64(6) || counts["account"] != float64(1) || counts["logEntries"] == nil {
		t.Errorf("the wipe's counts: %v", counts)
	}
	// The partition held items, and the close's own log entry.
	if sum != items+1 {
		t.Errorf("the wipe's counts add up to %d, the account's partition held %d items and the close's entry (%v)", sum, items, counts)
	}
	if status, body, _ := w.do(t, w.adminTok, probe{method: "GET", path: "/tenant/changes"}); status != 403 || problemCode(body) != "operators_only" {
		t.Errorf("a non-operator reads the tenant log: %d %s, want 403 operators_only", status, body)
	}
}
