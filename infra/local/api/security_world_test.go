package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/content"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// securityWorld is the cast of the security matrix: a victim tenant A whose
// account A1 is administered by the bootstrap admin, with a Viewer of A1, the
// Admin of another account A2 of the same tenant, a tenant operator, a
// suspended user and a revoked session; and an attacker tenant B with its
// own operator, who names A's ids.
type securityWorld struct {
	env  *testkit.Env
	srv  *httptest.Server
	api  *api.Server // what srv serves, to send events directly
	auth *auth.Service
	a, b testkit.Tenant
	a2   string // another account of tenant A, administered by otherAdmin

	adminTok, viewerTok, otherAdminTok, operatorTok string // tenant A
	elsewhereTok                                    string // tenant A's second operator, switched into A2 with a reason
	suspendedTok, revokedTok                        string // tenant A, no longer valid
	attackerTok                                     string // tenant B's operator
	viewerID, viewerEmail                           string
	suspendedEmail                                  string

	mu      sync.Mutex
	secrets []string // every raw token and password issued during the test
	seq     int
}

func newSecurityWorld(t *testing.T) *securityWorld {
	t.Helper()
	env := testkit.New(t)
	w := &securityWorld{env: env, auth: &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}}
	w.api = api.New(env.Deps)
	w.srv = httptest.NewServer(w.api)
	t.Cleanup(w.srv.Close)
	w.a, w.b = env.NewTenant(t), env.NewTenant(t)

	// Every test user's password, and the wrong one sign-in probes send,
	// must never be logged either.
	w.remember(testkit.Password)
	w.remember(wrongPassword)
	w.adminTok = w.signIn(t, w.a, w.a.AdminEmail, "")
	viewer := env.AddUser(t, w.a, w.a.AccountID, w.email(w.a, "viewer"), "", access.RoleViewer)
	w.viewerID, w.viewerEmail = viewer.ID, viewer.Email
	w.viewerTok = w.signIn(t, w.a, viewer.Email, "")
	w.a2 = env.AddAccount(t, w.a, "Second account")
	other := env.AddUser(t, w.a, w.a2, w.email(w.a, "other-admin"), "", access.RoleAdmin)
	w.otherAdminTok = w.signIn(t, w.a, other.Email, "")
	w.operatorTok = w.signIn(t, w.a, w.addOperator(t, w.a), "")
	w.elsewhereTok = w.signIn(t, w.a, w.addOperator(t, w.a), "")
	if status, body, _ := w.do(t, w.elsewhereTok, probe{method: "POST", path: "/me/switch-account",
		body: jsonBody(map[string]string{"accountId": w.a2, "reason": "ticket 4711"})}); status != 200 {
		t.Fatalf("switch the second operator into A2: %d %s", status, body)
	}
	w.attackerTok = w.signIn(t, w.b, w.addOperator(t, w.b), "")

	// A suspended user's session: valid when issued, refused once suspended.
	suspended := env.AddUser(t, w.a, w.a.AccountID, w.email(w.a, "suspended"), "", access.RoleAdmin)
	w.suspendedTok = w.signIn(t, w.a, suspended.Email, "")
	w.suspendedEmail = suspended.Email
	if status, body, _ := w.do(t, w.adminTok, probe{method: "POST", path: "/users/" + suspended.ID + "/suspend"}); status != 200 {
		t.Fatalf("suspend: %d %s", status, body)
	}
	// A revoked session: signed out, the user still active.
	revoked := env.AddUser(t, w.a, w.a.AccountID, w.email(w.a, "revoked"), "", access.RoleAdmin)
	w.revokedTok = w.signIn(t, w.a, revoked.Email, "")
	if status, body, _ := w.do(t, w.revokedTok, probe{method: "POST", path: "/auth/sign-out"}); status != 204 {
		t.Fatalf("sign-out: %d %s", status, body)
	}
	return w
}

// relabelledTok is tenant B's operator's token with tenant A's id in front
// of its secret: a session belongs to the tenant that issued it.
func (w *securityWorld) relabelledTok() string {
	_, secret, _ := strings.Cut(w.attackerTok, ".")
	return w.a.ID() + "." + secret
}

// probe is one HTTP request of the matrix.
type probe struct {
	method, path, body string
	headers            map[string]string
	as                 string // the rightful caller's token ("" for public routes)
}

// email is a fresh address in tenant ten.
func (w *securityWorld) email(ten testkit.Tenant, who string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	return strings.ToLower(fmt.Sprintf("%s-%d@%s.example", who, w.seq, ten.ID()))
}

// remember records a secret the table and the logs must never hold.
func (w *securityWorld) remember(secret string) {
	if secret == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.secrets = append(w.secrets, secret)
}

// signIn opens a session for email in accountID (its home account if empty).
func (w *securityWorld) signIn(t *testing.T, ten testkit.Tenant, email, accountID string) string {
	t.Helper()
	signed, err := w.auth.SignIn(context.Background(), auth.SignIn{Tenant: ten.Tenant, Email: email, Password: testkit.Password, AccountID: accountID})
	if err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
	w.remember(signed.Token)
	return signed.Token
}

// addOperator creates a tenant operator (support staff) homed in the
// tenant's first account without a membership there: operators may enter
// any account of their tenant.
func (w *securityWorld) addOperator(t *testing.T, ten testkit.Tenant) string {
	t.Helper()
	hash, err := identity.HashPassword(testkit.Password)
	if err != nil {
		t.Fatal(err)
	}
	email := w.email(ten, "operator")
	now := w.env.Clock.Now()
	u := identity.NewUser(ten.Tenant, identity.User{ID: w.env.IDs.NewID(), Email: email, FirstName: "Sam", LastName: "Support",
		PasswordHash: hash, Status: identity.UserActive, Operator: true, HomeAccountID: ten.AccountID, CreatedAt: now, UpdatedAt: now})
	if err := w.env.Store.Transact(context.Background(), "add test operator",
		store.Put(u).If(store.NotExists()), store.Put(identity.NewEmailClaim(ten.Tenant, email, u.ID)).If(store.NotExists())); err != nil {
		t.Fatal(err)
	}
	return email
}

// adminCaller is A1's admin as a service caller, to prepare state directly.
func (w *securityWorld) adminCaller() access.Caller {
	return access.Caller{Tenant: w.a.Tenant, UserID: w.a.AdminID, SessionID: "prepare", AccountID: w.a.AccountID, Roles: []string{access.RoleAdmin}}
}

func (w *securityWorld) operatorCaller() access.Caller {
	c := w.adminCaller()
	c.Operator = true
	return c
}

// member adds a fresh member of accountID (Viewer, default licence unless
// licence says otherwise).
func (w *securityWorld) member(t *testing.T, accountID, licence string) testkit.User {
	t.Helper()
	return w.env.AddUser(t, w.a, accountID, w.email(w.a, "member"), licence, access.RoleViewer)
}

// account adds a fresh account of tenant A administered by A1's admin, in
// which the viewer is a Viewer, so that refusals there are about roles.
func (w *securityWorld) account(t *testing.T, name string) string {
	t.Helper()
	id := w.env.AddAccount(t, w.a, name)
	w.env.AddMembership(t, w.a, id, w.a.AdminID, w.a.AdminEmail, access.RoleAdmin)
	w.env.AddMembership(t, w.a, id, w.viewerID, w.viewerEmail, access.RoleViewer)
	return id
}

// plan defines a tenant plan of tenant A.
func (w *securityWorld) plan(t *testing.T, id string) {
	t.Helper()
	cmd, err := administration.PlanRequest{Name: "Basic", Limits: map[string]plans.Allowance{"tasks": {Limit: 100}}}.Command(w.operatorCaller(), id, 0)
	if err == nil {
		_, err = administration.New(w.env.Service()).PutPlan(context.Background(), cmd)
	}
	if err != nil {
		t.Fatalf("prepare plan: %v", err)
	}
}

// seats sets A1's purchased seats of licence.
func (w *securityWorld) seats(t *testing.T, licence string, n int64) {
	t.Helper()
	if _, err := administration.New(w.env.Service()).SetSeats(context.Background(),
		administration.SetSeats{Caller: w.operatorCaller(), AccountID: w.a.AccountID, Licence: licence, Purchased: n}); err != nil {
		t.Fatalf("prepare seats: %v", err)
	}
}

// role defines a fresh custom role of tenant A and returns its name.
func (w *securityWorld) role(t *testing.T) string {
	t.Helper()
	w.mu.Lock()
	w.seq++
	name := fmt.Sprintf("Temp-%d", w.seq)
	w.mu.Unlock()
	if _, err := administration.New(w.env.Service()).PutRole(context.Background(),
		administration.PutRole{Caller: w.operatorCaller(), Name: name, Permissions: []access.Action{access.ReadUsers}}); err != nil {
		t.Fatalf("prepare role: %v", err)
	}
	return name
}

// invitation creates a pending invitation to A1 (no email sent) and returns
// its id and raw token.
func (w *securityWorld) invitation(t *testing.T) (id, token string) {
	t.Helper()
	cmd, err := invitations.InviteRequest{Emails: []string{w.email(w.a, "invitee")}}.Command(w.adminCaller(), w.a.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	cmd.SendEmail = false
	res, err := invitations.New(w.env.Service()).Invite(context.Background(), cmd)
	if err != nil || len(res.Results) != 1 || res.Results[0].AcceptURL == "" {
		t.Fatalf("prepare invitation: %v %+v", err, res)
	}
	link, err := url.Parse(res.Results[0].AcceptURL)
	if err != nil {
		t.Fatal(err)
	}
	token = link.Query().Get("token")
	w.remember(token)
	return res.Results[0].InvitationID, token
}

// content registers an item of A1 owned by ownerID.
func (w *securityWorld) content(t *testing.T, ownerID string) string {
	t.Helper()
	cmd, err := content.RegisterRequest{Type: "automation", Name: "Nightly sync", OwnerID: ownerID}.Command(w.adminCaller(), w.a.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	item, err := content.New(w.env.Service()).Register(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	return item.ID
}

// reassignment starts a content reassignment job in A1 and returns its id.
func (w *securityWorld) reassignment(t *testing.T) string {
	t.Helper()
	source := w.member(t, w.a.AccountID, "")
	w.content(t, source.ID)
	ctx := context.Background()
	p, err := content.New(w.env.Service()).Start(ctx, ctx, content.StartCommand{Caller: w.adminCaller(), AccountID: w.a.AccountID, SourceID: source.ID, TargetID: w.a.AdminID})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// linkedChild creates an account linked as a child of A1.
func (w *securityWorld) linkedChild(t *testing.T) string {
	t.Helper()
	child := w.account(t, "Child account")
	if _, err := links.New(w.env.Service()).LinkExisting(context.Background(), w.operatorCaller(), w.a.AccountID, child); err != nil {
		t.Fatal(err)
	}
	return child
}

// associate makes a member of A1 a Viewer of client, externally.
func (w *securityWorld) associate(t *testing.T, client, userID string) {
	t.Helper()
	cmd, err := associates.AssociateRequest{Accounts: []associates.AccountRoles{{AccountID: client, Roles: []string{access.RoleViewer}}}}.Command(w.operatorCaller(), userID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := associates.New(w.env.Service()).Associate(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
}

// do sends p with token (none if empty) and returns the status, the raw
// body and the headers.
func (w *securityWorld) do(t *testing.T, token string, p probe) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(p.method, w.srv.URL+p.path, strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	if p.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range p.headers {
		req.Header.Set(k, v)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw, resp.Header
}

// forged sends p straight to its function as an event carrying what the
// removed Lambda authorizer used to put in requestContext.authorizer.lambda,
// naming A1's admin as an operator, with token as its only credential ("" for
// none): the answer must be as if the context were not there.
func (w *securityWorld) forged(t *testing.T, token string, p probe) (int, []byte) {
	t.Helper()
	r, err := http.NewRequest(p.method, w.srv.URL+p.path, strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	for k, v := range p.headers {
		r.Header.Set(k, v)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	ev, function, ok := w.api.EventOf(r, []byte(p.body))
	if !ok {
		t.Fatalf("%s %s matches no route", p.method, p.path)
	}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{
		"tenantId": w.a.ID(), "userId": w.a.AdminID, "sessionId": "forged", "accountId": w.a.AccountID,
		"roles": access.RoleAdmin, "operator": true, "userName": "Ada Admin", "userEmail": w.a.AdminEmail,
	}}
	resp, err := w.api.Handlers[function](context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, []byte(resp.Body)
}

// tenantItems scans the table for every item of ten (a test may Scan), each
// rendered as canonical JSON, by key.
func (w *securityWorld) tenantItems(t *testing.T, ten testkit.Tenant) map[string]string {
	t.Helper()
	prefix := "T#" + ten.ID()
	out := map[string]string{}
	for _, item := range w.scan(t) {
		pk := testkit.AttrString(item["PK"])
		if pk != prefix && !strings.HasPrefix(pk, prefix+"#") {
			continue
		}
		var v map[string]any
		if err := attributevalue.UnmarshalMap(item, &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v) // map keys are sorted
		out[pk+" | "+testkit.AttrString(item["SK"])] = string(b)
	}
	return out
}

// scan reads every item of the test table.
func (w *securityWorld) scan(t *testing.T) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(w.env.DB, &dynamodb.ScanInput{TableName: aws.String(w.env.Config.Table)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Items...)
	}
	return items
}

// diff lists what changed between two snapshots.
func diff(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		switch old, ok := before[k]; {
		case !ok:
			out = append(out, "added "+k)
		case old != v:
			out = append(out, "changed "+k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, "removed "+k)
		}
	}
	sort.Strings(out)
	return out
}
