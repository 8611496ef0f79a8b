package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apikeys"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// apiKey makes an API key of accountID ("" the tenant; an account's holds
// Viewer) for the matrix and answers its id and secret (remembered for the
// secrets scan).
func (w *securityWorld) apiKey(t *testing.T, accountID string) (id, secret string) {
	t.Helper()
	caller, role := w.adminCaller(), access.RoleViewer
	if accountID == "" {
		caller, role = w.operatorCaller(), ""
	}
	return makeKey(t, w.env, caller, accountID, "matrix-"+w.env.IDs.NewID(), role, w.remember)
}

func makeKey(t *testing.T, env *testkit.Env, caller access.Caller, accountID, name, role string, remember func(string)) (id, secret string) {
	t.Helper()
	svc := &apikeys.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	cmd, err := apikeys.CreateRequest{Name: name, Role: role}.Command(caller, accountID, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.Create(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if remember != nil {
		remember(k.Secret)
	}
	return k.ID, k.Secret
}

// keysWorld is a tenant behind the local HTTP API: its first account with
// its Admin, a Viewer, another account with its own Admin, and an operator.
type keysWorld struct {
	env                 *testkit.Env
	c                   client
	ten                 testkit.Tenant
	other, otherAdminID string
	adminTok, viewerTok string
	otherAdminTok       string
	operatorTok         string
}

func newKeysWorld(t *testing.T) *keysWorld {
	t.Helper()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	t.Cleanup(srv.Close)
	w := &keysWorld{env: env, c: client{t, srv.URL}, ten: ten}
	w.other = env.AddAccount(t, ten, "Other")
	viewer := env.AddUser(t, ten, ten.AccountID, "viewer@"+ten.ID()+".example", "", access.RoleViewer)
	otherAdmin := env.AddUser(t, ten, w.other, "admin@other-"+ten.ID()+".example", "", access.RoleAdmin)
	op := env.AddOperator(t, ten)
	w.otherAdminID = otherAdmin.ID
	w.adminTok = env.Session(t, access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, AccountID: ten.AccountID})
	w.viewerTok = env.Session(t, access.Caller{Tenant: ten.Tenant, UserID: viewer.ID, AccountID: ten.AccountID})
	w.otherAdminTok = env.Session(t, access.Caller{Tenant: ten.Tenant, UserID: otherAdmin.ID, AccountID: w.other})
	w.operatorTok = env.Session(t, access.Caller{Tenant: ten.Tenant, UserID: op.ID, AccountID: ten.AccountID})
	return w
}

// create posts a key and answers the status and body.
func (w *keysWorld) create(t *testing.T, token, path string, body map[string]any) (int, map[string]any) {
	t.Helper()
	status, out, _ := w.c.do("POST", path, token, jsonBody(body))
	return status, out
}

func (w *keysWorld) accountKeys() string { return "/accounts/" + w.ten.AccountID + "/api-keys" }

func code(body map[string]any) string { s, _ := body["code"].(string); return s }

func TestAnAccountKeyWorksWithinItsScopeUntilRevoked(t *testing.T) {
	w := newKeysWorld(t)
	// GIVEN an Admin's key holding Viewer in their account
	status, created := w.create(t, w.adminTok, w.accountKeys(), map[string]any{"name": "crm-sync", "role": "Viewer"})
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	secret, _ := created["secret"].(string)
	keyID, _ := created["id"].(string)
	// THEN the secret is shown, once, recognisable and 256 bits long
	if !strings.HasPrefix(secret, "aak_"+w.ten.ID()+"_") || len(secret) < len("aak_"+w.ten.ID()+"_")+43 {
		t.Fatalf("secret %.12s… is not aak_<tenant>_<256 bits>", secret)
	}
	// AND the list shows the key, never a secret
	status, list, _ := w.c.do("GET", w.accountKeys(), w.adminTok, "")
	if status != 200 || strings.Contains(toJSON(list), secret) || strings.Contains(toJSON(list), `"secret"`) {
		t.Fatalf("list: %d, it must show no secret: %v", status, list)
	}
	if keys, _ := list["keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["status"] != "active" {
		t.Fatalf("list: %v", list)
	}

	// WHEN the key reads within its scope THEN it may
	if status, body, _ := w.c.do("GET", "/accounts/"+w.ten.AccountID+"/users", secret, ""); status != 200 {
		t.Fatalf("read users with the key: %d %v", status, body)
	}
	// AND outside it (a write its role does not allow, another account) it is refused
	if status, body, _ := w.c.do("PATCH", "/accounts/"+w.ten.AccountID, secret, `{"name":"Renamed"}`); status != 403 {
		t.Errorf("rename with a Viewer key: %d %v", status, body)
	}
	if status, body, _ := w.c.do("GET", "/accounts/"+w.other+"/users", secret, ""); status != 403 {
		t.Errorf("another account's users with the key: %d %v", status, body)
	}
	// AND routes that act as a person refuse every key
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/me", ""}, {"POST", "/auth/sign-out", ""},
		{"POST", "/me/switch-account", `{"accountId":"` + w.other + `","reason":"x"}`},
		{"POST", "/me/password", `{"currentPassword":"a","newPassword":"b","confirmation":"b"}`},
		{"POST", w.accountKeys(), `{"name":"minted","role":"Viewer"}`},
		{"POST", "/tenant/api-keys", `{"name":"minted"}`},
	} {
		if status, body, _ := w.c.do(r.method, r.path, secret, r.body); status != 403 || code(body) != "api_key_refused" {
			t.Errorf("%s %s with a key: %d %v, want 403 api_key_refused", r.method, r.path, status, body)
		}
	}

	// WHEN an Admin revokes it THEN its next call is refused
	if status, body, _ := w.c.do("DELETE", w.accountKeys()+"/"+keyID, w.adminTok, ""); status != 204 {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if status, body, _ := w.c.do("GET", "/accounts/"+w.ten.AccountID+"/users", secret, ""); status != 401 || code(body) != "api_key_revoked" {
		t.Fatalf("after revoke: %d %v", status, body)
	}
	// AND the change log has both, by the Admin
	for _, action := range []string{"api_key.created", "api_key.revoked"} {
		if got := w.env.Changes(t, w.ten.Tenant, w.ten.AccountID, action); len(got) != 1 || got[0].SubjectID != keyID || got[0].Actor.ID != w.ten.AdminID {
			t.Errorf("%s: %+v", action, got)
		}
	}
}

func TestAKeysChangesAreLoggedAsTheKey(t *testing.T) {
	w := newKeysWorld(t)
	// GIVEN an Admin key
	status, created := w.create(t, w.adminTok, w.accountKeys(), map[string]any{"name": "provisioner", "role": "Admin"})
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	secret, keyID := created["secret"].(string), created["id"].(string)
	// WHEN it renames the account
	if status, body, _ := w.c.do("PATCH", "/accounts/"+w.ten.AccountID, secret, `{"name":"Renamed by a key"}`); status != 200 {
		t.Fatalf("rename: %d %v", status, body)
	}
	// THEN the change log names the key (kind api_key, its id and name)
	got := w.env.Changes(t, w.ten.Tenant, w.ten.AccountID, "account.renamed")
	if len(got) != 1 || got[0].Actor.Kind != "api_key" || got[0].Actor.ID != keyID || got[0].Actor.Name != "provisioner" {
		t.Fatalf("actor: %+v", got)
	}
	// AND the key may list and revoke keys of its own account, no wider
	if status, body, _ := w.c.do("GET", w.accountKeys(), secret, ""); status != 200 {
		t.Errorf("list with an Admin key: %d %v", status, body)
	}
	if status, body, _ := w.c.do("GET", "/tenant/api-keys", secret, ""); status != 403 {
		t.Errorf("the tenant's keys with an account key: %d %v", status, body)
	}
	if status, body, _ := w.c.do("GET", "/accounts/"+w.other+"/api-keys", secret, ""); status != 403 {
		t.Errorf("another account's keys with an account key: %d %v", status, body)
	}
}

func TestNobodyCreatesAKeyWiderThanTheirRights(t *testing.T) {
	w := newKeysWorld(t)
	// GIVEN a custom role with billing work, which Admin does not hold
	if status, body, _ := w.c.do("PUT", "/roles/Biller", w.operatorTok, `{"permissions":["usage.reset","users.read"]}`); status != 200 {
		t.Fatalf("define role: %d %v", status, body)
	}
	before := w.env.Items(t, w.ten.APIKeys(table.APIKeyScopeAccount(w.ten.AccountID)))
	for _, c := range []struct {
		who, token, path string
		body             map[string]any
		status           int
		code             string
	}{
		{"an Admin, a role beyond their rights", w.adminTok, w.accountKeys(), map[string]any{"name": "b", "role": "Biller"}, 403, "grant_exceeds_rights"},
		{"a Viewer", w.viewerTok, w.accountKeys(), map[string]any{"name": "v", "role": "Viewer"}, 403, ""},
		{"another account's Admin", w.otherAdminTok, w.accountKeys(), map[string]any{"name": "o", "role": "Viewer"}, 403, ""},
		{"an Admin, for the tenant", w.adminTok, "/tenant/api-keys", map[string]any{"name": "t"}, 403, "operators_only"},
		{"an operator not switched in", w.operatorTok, w.accountKeys(), map[string]any{"name": "s", "role": "Viewer"}, 403, "switch_required"},
	} {
		status, body := w.create(t, c.token, c.path, c.body)
		if status != c.status || (c.code != "" && code(body) != c.code) {
			t.Errorf("%s: %d %v, want %d %s", c.who, status, body, c.status, c.code)
		}
	}
	if after := w.env.Items(t, w.ten.APIKeys(table.APIKeyScopeAccount(w.ten.AccountID))); after != before {
		t.Errorf("refusals wrote %d items", after-before)
	}
}

func TestBadKeyRequestsAre422AndChangeNothing(t *testing.T) {
	w := newKeysWorld(t)
	past := w.env.Clock.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		path  string
		body  map[string]any
		field string
	}{
		{w.accountKeys(), map[string]any{"name": "  ", "role": "Viewer"}, "name"},
		{w.accountKeys(), map[string]any{"name": strings.Repeat("n", 101), "role": "Viewer"}, "name"},
		{w.accountKeys(), map[string]any{"name": "no-role"}, "role"},
		{w.accountKeys(), map[string]any{"name": "unknown", "role": "Nobody"}, "roles"},
		{w.accountKeys(), map[string]any{"name": "old", "role": "Viewer", "expiresAt": past}, "expiresAt"},
		{"/tenant/api-keys", map[string]any{"name": "with-role", "role": "Admin"}, "role"},
	} {
		token := w.adminTok
		if c.path == "/tenant/api-keys" {
			token = w.operatorTok
		}
		status, body := w.create(t, token, c.path, c.body)
		errs, _ := body["errors"].([]any)
		if status != 422 || len(errs) == 0 || errs[0].(map[string]any)["field"] != c.field {
			t.Errorf("%v: %d %v, want 422 on %s", c.body, status, body, c.field)
		}
	}
	for _, scope := range []string{table.APIKeyScopeTenant, table.APIKeyScopeAccount(w.ten.AccountID)} {
		if n := w.env.Items(t, w.ten.APIKeys(scope)); n != 0 {
			t.Errorf("bad requests wrote %d items in %s", n, scope)
		}
	}
}

func TestAtMostTwoActiveKeysPerName(t *testing.T) {
	w := newKeysWorld(t)
	// GIVEN two keys named alike, created at the same moment as others
	var wg sync.WaitGroup
	statuses := make([]int, 6)
	ids := make([]string, 6)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := w.create(t, w.operatorTok, "/tenant/api-keys", map[string]any{"name": "billing"})
			statuses[i] = status
			ids[i], _ = body["id"].(string)
		}()
	}
	wg.Wait()
	made := []string{}
	for i, s := range statuses {
		switch s {
		case 201:
			made = append(made, ids[i])
		case 409, 503:
		default:
			t.Errorf("create: %d", s)
		}
	}
	// THEN two exist, however many raced
	if len(made) != 2 {
		t.Fatalf("%d active keys of one name, want 2 (%v)", len(made), statuses)
	}
	if status, body := w.create(t, w.operatorTok, "/tenant/api-keys", map[string]any{"name": "billing"}); status != 409 || code(body) != "api_key_name_in_use" {
		t.Fatalf("third: %d %v", status, body)
	}
	// WHEN the old one is revoked THEN its successor can be made
	if status, body, _ := w.c.do("DELETE", "/tenant/api-keys/"+made[0], w.operatorTok, ""); status != 204 {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if status, body := w.create(t, w.operatorTok, "/tenant/api-keys", map[string]any{"name": "billing"}); status != 201 {
		t.Fatalf("successor: %d %v", status, body)
	}
}

func TestUnknownAndExpiredKeysAre401(t *testing.T) {
	w := newKeysWorld(t)
	exp := w.env.Clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	status, created := w.create(t, w.adminTok, w.accountKeys(), map[string]any{"name": "temp", "role": "Viewer", "expiresAt": exp})
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	secret := created["secret"].(string)
	path := "/accounts/" + w.ten.AccountID + "/users"
	if status, body, _ := w.c.do("GET", path, secret, ""); status != 200 {
		t.Fatalf("before expiry: %d %v", status, body)
	}
	// An unknown key of the right shape, a key of another shape, and a
	// key moved to another tenant are unknown.
	forged := secret[:len(secret)-43] + strings.Repeat("A", 43)
	other := strings.Replace(secret, "aak_"+w.ten.ID()+"_", "aak_tother_", 1)
	for _, k := range []string{forged, other, "aak_", "aak_" + w.ten.ID() + "_short"} {
		if status, body, _ := w.c.do("GET", path, k, ""); status != 401 || code(body) != "unknown_api_key" {
			t.Errorf("%.10s…: %d %v", k, status, body)
		}
	}
	w.env.Clock.Advance(time.Hour)
	if status, body, _ := w.c.do("GET", path, secret, ""); status != 401 || code(body) != "api_key_expired" {
		t.Fatalf("after expiry: %d %v", status, body)
	}
}

func TestAKeyOfAClosedAccountIsRefused(t *testing.T) {
	w := newKeysWorld(t)
	// GIVEN a key of the other account, working
	owner := access.Caller{Tenant: w.ten.Tenant, UserID: w.otherAdminID, SessionID: "prepare", AccountID: w.other, Roles: []string{access.RoleAdmin}}
	_, secret := makeKey(t, w.env, owner, w.other, "closing", access.RoleAdmin, nil)
	path := "/accounts/" + w.other + "/users"
	if status, body, _ := w.c.do("GET", path, secret, ""); status != 200 {
		t.Fatalf("before close: %d %v", status, body)
	}
	// WHEN an operator closes the account, keeping its data
	if status, body, _ := w.c.do("POST", "/accounts/"+w.other+"/close", w.operatorTok, `{"confirmName":"Other","wipe":false}`); status != 200 {
		t.Fatalf("close: %d %v", status, body)
	}
	// THEN its key is refused on its next call
	if status, body, _ := w.c.do("GET", path, secret, ""); status != 401 {
		t.Fatalf("after close: %d %v", status, body)
	}
}

// lastUsedAt is written once per minute of use, however many requests.
func TestLastUsedAtIsWrittenAtMostOnceAMinute(t *testing.T) {
	env := testkit.New(t)
	ten := env.NewTenant(t)
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "prepare", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	_, secret := makeKey(t, env, admin, ten.AccountID, "busy", access.RoleViewer, nil)
	svc := &apikeys.Service{Store: env.Store, Clock: env.Clock}
	ctx := context.Background()
	lastUsed := func() int64 {
		var k apikeys.Key
		if _, err := env.Store.Get(ctx, ten.APIKey(ids.Hash(secret)), &k); err != nil {
			t.Fatal(err)
		}
		return k.LastUsedAt
	}
	calls := func(f func()) int64 { env.Calls.Reset(); f(); return env.Calls.Count() }
	hundred := func() {
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.Authorize(ctx, secret); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	// WHEN 100 requests run, then 100 more within the minute
	first := calls(hundred)
	at := lastUsed()
	env.Clock.Advance(30 * time.Second)
	second := calls(hundred)
	if at == 0 || lastUsed() != at {
		t.Fatalf("lastUsedAt %d then %d: written within its minute", at, lastUsed())
	}
	// THEN the second hundred read (key, account) and wrote nothing
	if second != 200 {
		t.Errorf("100 requests within the minute made %d calls, want 200 (two reads each, no write)", second)
	}
	// AND the first hundred wrote at most a few times (concurrent first
	// requests each try; the condition lets one win)
	if first > 200+100 || first < 201 {
		t.Errorf("first 100 requests made %d calls", first)
	}
	// WHEN a minute has passed THEN the next request records the new instant
	env.Clock.Advance(31 * time.Second)
	if _, err := svc.Authorize(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if lastUsed() <= at {
		t.Errorf("lastUsedAt not moved after a minute")
	}
}

// Every route that acts as a person refuses keys (NoKey): the sessions'
// own routes, passwords, invitations (they carry a person's authority)
// and minting keys.
func TestRoutesThatActAsAPersonRefuseKeys(t *testing.T) {
	person := []string{"POST /auth/sign-out", "GET /me", "POST /me/switch-account", "POST /me/password",
		"PUT /users/{userId}/password", "POST /accounts/{accountId}/users",
		"POST /accounts/{accountId}/invitations", "POST /invitations/{invitationId}/resend",
		"POST /tenant/api-keys", "POST /accounts/{accountId}/api-keys"}
	for _, k := range person {
		r, ok := routes.Lookup(k)
		if !ok || !r.NoKey {
			t.Errorf("%s must refuse API keys (NoKey)", k)
		}
	}
	for _, r := range routes.Table {
		if strings.HasPrefix(r.Path, "/me") || strings.HasPrefix(r.Path, "/auth/") && r.Auth {
			if !r.NoKey {
				t.Errorf("%s is a session's own route: it must refuse API keys (NoKey)", r.Key())
			}
		}
	}
}

// An account key's use is in the account's access history: one entry per
// minute of use, written with lastUsedAt, naming the key; its client shown
// to Admins only.
func TestAKeysUseIsInTheAccessHistoryOnceAMinute(t *testing.T) {
	w := newKeysWorld(t)
	status, created := w.create(t, w.adminTok, w.accountKeys(), map[string]any{"name": "crm-sync", "role": "Viewer"})
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	secret, keyID := created["secret"].(string), created["id"].(string)
	users := "/accounts/" + w.ten.AccountID + "/users"
	keyEntries := func(token string) []map[string]any {
		t.Helper()
		status, body, _ := w.c.do("GET", "/accounts/"+w.ten.AccountID+"/access-history", token, "")
		if status != 200 {
			t.Fatalf("access history: %d %v", status, body)
		}
		var out []map[string]any
		for _, e := range body["entries"].([]any) {
			if e := e.(map[string]any); e["via"] == "api_key" {
				out = append(out, e)
			}
		}
		return out
	}
	// WHEN the key makes 100 requests at once, within one minute
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body, _ := w.c.do("GET", users, secret, ""); status != 200 {
				t.Errorf("read with the key: %d %v", status, body)
			}
		}()
	}
	wg.Wait()
	// THEN the account's history holds exactly one entry, naming the key,
	// with its client for the Admin
	got := keyEntries(w.adminTok)
	if len(got) != 1 {
		t.Fatalf("100 requests in a minute wrote %d access entries, want 1: %v", len(got), got)
	}
	user, _ := got[0]["user"].(map[string]any)
	if got[0]["event"] != "api_key_used" || user["id"] != keyID || user["name"] != "crm-sync" ||
		got[0]["ip"] == nil || got[0]["userAgent"] == nil {
		t.Fatalf("the Admin's entry: %v", got[0])
	}
	// AND a Viewer sees the entry, never its client, in the JSON or the CSV
	seen := keyEntries(w.viewerTok)
	if len(seen) != 1 || seen[0]["ip"] != nil || seen[0]["userAgent"] != nil {
		t.Fatalf("the Viewer's entries: %v", seen)
	}
	status, _, csvBody := w.c.raw("GET", "/accounts/"+w.ten.AccountID+"/access-history/export.csv", w.viewerTok, "", "")
	if status != 200 || !strings.Contains(csvBody, keyID) || strings.Contains(csvBody, "127.0.0.1") || strings.Contains(csvBody, "Go-http-client") {
		t.Fatalf("the Viewer's CSV: %d\n%s", status, csvBody)
	}
	// AND no user's history holds it
	if n := w.env.Items(t, w.ten.User(keyID).PK); n != 0 {
		t.Errorf("the key's use wrote %d items in a user partition", n)
	}
	// WHEN the clock moves a minute THEN the next request writes the second
	w.env.Clock.Advance(time.Minute + time.Second)
	if status, body, _ := w.c.do("GET", users, secret, ""); status != 200 {
		t.Fatalf("read with the key: %d %v", status, body)
	}
	if got := keyEntries(w.adminTok); len(got) != 2 {
		t.Fatalf("after a minute: %d entries, want 2", len(got))
	}
}

// A tenant key does only the tenant administration its scopes name: the
// decision is access's (Require for work on an account, RequireOperator
// for the tenant's own settings), so every route follows it.
func TestATenantKeyDoesOnlyItsScopes(t *testing.T) {
	w := newKeysWorld(t)
	// GIVEN two tenant keys: one scoped to usage.reset, one to tenant.manage
	status, resetter := w.create(t, w.operatorTok, "/tenant/api-keys", map[string]any{"name": "billing", "scopes": []string{"usage.reset"}})
	if status != 201 || toJSON(resetter["scopes"]) != `["usage.reset"]` {
		t.Fatalf("create: %d %v", status, resetter)
	}
	status, manager := w.create(t, w.operatorTok, "/tenant/api-keys", map[string]any{"name": "settings", "scopes": []string{"tenant.manage", "tenant.manage"}})
	if status != 201 || toJSON(manager["scopes"]) != `["tenant.manage"]` {
		t.Fatalf("create: %d %v", status, manager)
	}
	reset := func(secret string) (int, map[string]any) {
		status, body, _ := w.c.do("POST", "/accounts/"+w.ten.AccountID+"/usage/reset", secret, "")
		return status, body
	}
	putRole := func(secret string) (int, map[string]any) {
		status, body, _ := w.c.do("PUT", "/roles/Scoped", secret, `{"permissions":["users.read"]}`)
		return status, body
	}
	// THEN each does its own action and is 403 api_key_scope for the other's
	if status, body := reset(resetter["secret"].(string)); status != 200 {
		t.Errorf("usage reset with a usage.reset key: %d %v", status, body)
	}
	if status, body := putRole(resetter["secret"].(string)); status != 403 || code(body) != "api_key_scope" {
		t.Errorf("a role with a usage.reset key: %d %v, want 403 api_key_scope", status, body)
	}
	if status, body := putRole(manager["secret"].(string)); status != 200 {
		t.Errorf("a role with a tenant.manage key: %d %v", status, body)
	}
	if status, body := reset(manager["secret"].(string)); status != 403 || code(body) != "api_key_scope" {
		t.Errorf("usage reset with a tenant.manage key: %d %v, want 403 api_key_scope", status, body)
	}
	// AND the tenant's own administration outside the key's scopes is refused
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/accounts", `{"name":"Another customer"}`},
		{"PUT", "/plans/pro", `{"name":"Pro","limits":{"tasks":10000}}`},
		{"PUT", "/licence-types/contractor", `{"name":"Contractor"}`},
		{"PATCH", "/tenant/settings", `{"twoFactorRequired":true}`},
	} {
		if status, body, _ := w.c.do(r.method, r.path, resetter["secret"].(string), r.body); status != 403 || code(body) != "api_key_scope" {
			t.Errorf("%s %s with a usage.reset key: %d %v, want 403 api_key_scope", r.method, r.path, status, body)
		}
	}
	if status, body, _ := w.c.do("PUT", "/plans/pro", manager["secret"].(string), `{"name":"Pro","limits":{"tasks":10000}}`); status != 200 {
		t.Errorf("a plan with a tenant.manage key: %d %v", status, body)
	}
	// AND a narrower key cannot revoke a wider one
	if status, body, _ := w.c.do("DELETE", "/tenant/api-keys/"+manager["id"].(string), resetter["secret"].(string), ""); status != 403 || code(body) != "api_key_scope" {
		t.Errorf("revoke a tenant.manage key with a usage.reset key: %d %v", status, body)
	}
	// AND without scopes a key holds all its creator's, and the list shows them
	status, full := w.create(t, w.operatorTok, "/tenant/api-keys", map[string]any{"name": "everything"})
	if status != 201 || len(full["scopes"].([]any)) != len(access.TenantActions) {
		t.Fatalf("create without scopes: %d %v", status, full)
	}
	_, list, _ := w.c.do("GET", "/tenant/api-keys", w.operatorTok, "")
	for _, k := range list["keys"].([]any) {
		if k := k.(map[string]any); k["id"] == resetter["id"] && toJSON(k["scopes"]) != `["usage.reset"]` {
			t.Errorf("listed: %v", k)
		}
	}
}

func TestBadScopesAre422AndCreateNothing(t *testing.T) {
	w := newKeysWorld(t)
	for _, c := range []struct {
		token, path string
		body        map[string]any
	}{
		{w.operatorTok, "/tenant/api-keys", map[string]any{"name": "typo", "scopes": []string{"usage.reset", "usage.rest"}}},
		{w.operatorTok, "/tenant/api-keys", map[string]any{"name": "not-tenant-work", "scopes": []string{"users.read"}}},
		{w.operatorTok, "/tenant/api-keys", map[string]any{"name": "empty", "scopes": []string{}}},
		{w.adminTok, w.accountKeys(), map[string]any{"name": "account", "role": "Viewer", "scopes": []string{"usage.reset"}}},
	} {
		status, body := w.create(t, c.token, c.path, c.body)
		errs, _ := body["errors"].([]any)
		if status != 422 || len(errs) == 0 || errs[0].(map[string]any)["field"] != "scopes" {
			t.Errorf("%v: %d %v, want 422 on scopes", c.body, status, body)
		}
	}
	for _, scope := range []string{table.APIKeyScopeTenant, table.APIKeyScopeAccount(w.ten.AccountID)} {
		if n := w.env.Items(t, w.ten.APIKeys(scope)); n != 0 {
			t.Errorf("bad scopes wrote %d items in %s", n, scope)
		}
	}
}
