package invitations_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/sesmail"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// world is one test's stack: env, a tenant, and the service over them.
type world struct {
	env    *testkit.Env
	ten    testkit.Tenant
	svc    *invitations.Service
	faults *sesmail.FaultInjector
	admin  access.Caller
}

func newWorld(t testing.TB) *world {
	t.Helper()
	env := testkit.New(t)
	return worldOn(t, env)
}

// newIsolatedWorld runs on a table of its own. The expiry job reads the due
// index across tenants, so a test that runs it must not share a table with
// tests whose clocks are elsewhere.
func newIsolatedWorld(t testing.TB) *world {
	t.Helper()
	env := testkit.New(t)
	env.OwnTable(t, "inv")
	return worldOn(t, env)
}

func worldOn(t testing.TB, env *testkit.Env) *world {
	faults := &sesmail.FaultInjector{}
	env.SES = awsclient.SES(env.AWS, faults.Option())
	ten := env.NewTenant(t)
	svc := invitations.New(env.Service())
	svc.Mail = &sesmail.Sender{SES: env.SES, From: env.Config.Sender, Backoff: time.Millisecond}
	return &world{env: env, ten: ten, svc: svc, faults: faults, admin: callerOf(ten, ten.AdminID, ten.AccountID, access.RoleAdmin)}
}

func callerOf(ten testkit.Tenant, userID, accountID string, roles ...string) access.Caller {
	return access.Caller{Tenant: ten.Tenant, UserID: userID, SessionID: "test-session", AccountID: accountID, Roles: roles}
}

var seq atomic.Int64

// address makes a recipient no other test uses, so SES local's shared store
// can be filtered by it.
func address(label string) string {
	return fmt.Sprintf("%s-%d-%s@invitee.example", label, seq.Add(1), strings.ToLower(strings.NewReplacer("_", "x", "-", "x").Replace(ids.NewSecret()[:8])))
}

// invite sends one invitation of Viewer without email and returns its id
// and token. (The tenant's default role is Admin: the tests that are about
// the default say so themselves.)
func (w *world) invite(t testing.TB, addr string, accountIDs ...string) (string, string) {
	t.Helper()
	if len(accountIDs) == 0 {
		accountIDs = []string{w.ten.AccountID}
	}
	no := false
	cmd, err := invitations.InviteRequest{Emails: []string{addr}, AccountIDs: accountIDs[1:], Roles: []string{access.RoleViewer},
		SendEmail: &no}.Command(w.admin, accountIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.svc.Invite(context.Background(), cmd)
	if err != nil {
		t.Fatalf("invite %s: %v", addr, err)
	}
	r := res.Results[0]
	if r.Result != invitations.ResultCreated || r.AcceptURL == "" {
		t.Fatalf("invite %s: %+v", addr, r)
	}
	return r.InvitationID, tokenOf(t, r.AcceptURL)
}

var tokenInLink = regexp.MustCompile(`token=([^\s"'<&]+)`)

// tokenOf reads the token out of a link (or a whole email body).
func tokenOf(t testing.TB, s string) string {
	t.Helper()
	m := tokenInLink.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no link in %q", s)
	}
	tok, err := url.QueryUnescape(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (w *world) invitation(t testing.TB, id string) invitations.Invitation {
	t.Helper()
	var inv invitations.Invitation
	ok, err := w.env.Store.Get(context.Background(), w.ten.Invitation(id), &inv)
	if err != nil || !ok {
		t.Fatalf("invitation %s: ok=%v err=%v", id, ok, err)
	}
	return inv
}

func (w *world) exists(t testing.TB, k table.Key) bool {
	t.Helper()
	var out map[string]any
	ok, err := w.env.Store.Get(context.Background(), k, &out)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// members lists an account's memberships.
func (w *world) members(t testing.TB, accountID string) []accounts.Membership {
	t.Helper()
	items, err := w.env.Store.QueryAll(context.Background(), store.Query{Partition: w.ten.Account(accountID).PK, SKPrefix: table.MembershipPrefix}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ms []accounts.Membership
	if err := attributevalue.UnmarshalListOfMaps(items, &ms); err != nil {
		t.Fatal(err)
	}
	return ms
}

// changes lists an account's change-log entries with action.
func (w *world) changes(t testing.TB, accountID, action string) []changelog.Entry {
	t.Helper()
	return w.env.Changes(t, w.ten.Tenant, accountID, action)
}

func inbox() email.LocalInbox {
	return email.LocalInbox{Endpoint: os.Getenv(awsclient.EnvSESEndpoint)}
}

func newUser(first string) invitations.AcceptRequest {
	return invitations.AcceptRequest{FirstName: first, LastName: "Newcomer", Password: "Plum-Orchard-93-Lantern"}
}

func (w *world) accept(ctx context.Context, token string, r invitations.AcceptRequest, session string) (invitations.Accepted, error) {
	r.Token = token
	cmd, err := r.Command(session, "198.51.100.7", "test")
	if err != nil {
		return invitations.Accepted{}, err
	}
	return w.svc.Accept(ctx, cmd)
}

// count is how many items of partition pk have a sort key starting with prefix.
func (w *world) count(t testing.TB, pk, prefix string) int {
	t.Helper()
	items, err := w.env.Store.QueryAll(context.Background(), store.Query{Partition: pk, SKPrefix: prefix}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}
