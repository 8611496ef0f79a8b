package administration_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// wipeUsers is who a wiped account leaves behind.
type wipeUsers struct {
	homeOnly testkit.User // home there, no other membership: deleted
	mover    testkit.User // home there, an external member elsewhere: moves
	visitor  testkit.User // an external member there, home elsewhere: stays
	gone     testkit.User // deleted before the wipe
}

// doomedAccount sets up an account to wipe and another that survives it.
func (w *world) doomedAccount(t *testing.T, op access.Caller) (doomed, elsewhere string, u wipeUsers) {
	t.Helper()
	doomed, elsewhere = w.env.AddAccount(t, w.ten, "Doomed Home"), w.env.AddAccount(t, w.ten, "Elsewhere")
	u.homeOnly, _ = w.member(t, doomed, "homeonly@doomed.example", access.RoleAdmin)
	u.mover, _ = w.member(t, doomed, "mover@doomed.example", access.RoleAdmin)
	u.visitor, _ = w.member(t, elsewhere, "visitor@elsewhere.example", access.RoleAdmin)
	w.env.AddMembership(t, w.ten, doomed, u.visitor.ID, u.visitor.Email, access.RoleViewer)
	u.gone, _ = w.member(t, doomed, "gone@doomed.example")
	wantKind(t, "delete a user before the wipe", w.adm.DeleteUser(ctx, supportIn(op, doomed), u.gone.ID), ok)
	cmd, err := associates.AssociateRequest{Accounts: []associates.AccountRoles{{AccountID: elsewhere, Roles: []string{access.RoleViewer}}}}.Command(op, u.mover.ID)
	wantKind(t, "associate command", err, ok)
	_, err = associates.New(w.env.Service()).Associate(ctx, cmd)
	wantKind(t, "associate the mover elsewhere", err, ok)
	if m, _ := w.membership(t, elsewhere, u.mover.ID); !m.External {
		t.Fatal("the mover's membership elsewhere is not external")
	}
	for i := range 4 {
		w.quickMember(t, doomed, string(rune('a'+i))+"-viewer@doomed.example")
	}
	return doomed, elsewhere, u
}

// wipe closes accountID with wipe, call after call, until it is complete.
func (w *world) wipe(t *testing.T, adm *administration.Service, c access.Caller, accountID, name string) (calls, failures int) {
	t.Helper()
	for calls < 50 {
		calls++
		res, err := adm.CloseAccount(ctx, administration.CloseAccount{Caller: c, AccountID: accountID, ConfirmName: name, Wipe: true})
		if err != nil {
			failures++
			continue
		}
		if res.Complete {
			return calls, failures
		}
	}
	t.Fatalf("the wipe of %s does not finish", accountID)
	return
}

// noHomeIn fails if any of the users still has accountID as their home.
func (w *world) noHomeIn(t *testing.T, accountID string, users ...testkit.User) {
	t.Helper()
	for _, u := range users {
		if got := w.user(t, u.ID); got.HomeAccountID == accountID {
			t.Fatalf("%s still has the wiped account as their home", u.Email)
		}
	}
}

// Wiping an account leaves no user pointing at it: a user whose home it was
// and who is a member nowhere else is deleted (sessions revoked, email free
// to be invited again); one who is a member elsewhere moves home there (no
// longer external) and still signs in; other members keep their user.
func TestWipingMovesOrDeletesTheUsersItWasHomeTo(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	doomed, elsewhere, u := w.doomedAccount(t, op)
	homeOnlySession := w.signIn(t, u.homeOnly.Email, u.homeOnly.Password)
	moverSession := w.signIn(t, u.mover.Email, u.mover.Password)
	visitorBefore := w.user(t, u.visitor.ID)
	if w.user(t, u.gone.ID).HomeAccountID != "" {
		t.Fatal("a deleted user keeps a home account")
	}

	w.enrolled(t, u.homeOnly.ID)
	w.adm.WipeBudget = 25 // a member whose home it is costs 20: several calls
	if calls, _ := w.wipe(t, w.adm, op, doomed, "Doomed Home"); calls < 3 {
		t.Errorf("the wipe took %d calls", calls)
	}
	if n := w.partition(t, doomed); n != 0 {
		t.Fatalf("%d items left of the wiped account", n)
	}
	w.noHomeIn(t, doomed, u.homeOnly, u.mover, u.visitor, u.gone)

	// The home-only user is deleted: sessions refused, sign-in refused, email free.
	if got := w.user(t, u.homeOnly.ID); got.Status != identity.UserDeleted || got.PasswordHash != "" {
		t.Fatalf("home-only user: %+v", got)
	}
	wantKind(t, "home-only user's session", w.authorized(homeOnlySession), apperr.KindUnauthenticated)
	_, err := w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.homeOnly.Email, Password: u.homeOnly.Password})
	wantKind(t, "home-only user signs in", err, apperr.KindUnauthenticated)
	if w.exists(t, w.ten.EmailClaim(u.homeOnly.Email)) {
		t.Fatal("the deleted user's email is still claimed")
	}
	if w.exists(t, w.ten.TwoFactor(u.homeOnly.ID)) {
		t.Fatal("the deleted user's second factors are still there")
	}
	logged := 0
	for _, e := range w.changes(t, w.ten.AccountID, "user.deleted") {
		if e.SubjectID == u.homeOnly.ID {
			logged++
		}
	}
	if logged != 1 {
		t.Fatalf("the deletion is logged %d times where the operator works", logged)
	}
	// ... and can be invited again, becoming a new user.
	no := false
	res, err := invitations.New(w.env.Service()).Invite(ctx, mustInvite(t, invitations.InviteRequest{Emails: []string{u.homeOnly.Email}, SendEmail: &no}, supportIn(op, elsewhere), elsewhere))
	wantKind(t, "invite the address again", err, ok)
	if res.Results[0].Result != invitations.ResultCreated {
		t.Fatalf("invite again: %+v", res.Results[0])
	}
	if again := w.accept(t, res.Results[0].AcceptURL); again == u.homeOnly.ID {
		t.Fatal("the deleted user came back")
	}

	// The mover keeps their user, now at home in the other account, and signs in there.
	mover := w.user(t, u.mover.ID)
	if mover.Status != identity.UserActive || mover.HomeAccountID != elsewhere {
		t.Fatalf("mover: status %s, home %s", mover.Status, mover.HomeAccountID)
	}
	if m, found := w.membership(t, elsewhere, u.mover.ID); !found || m.External {
		t.Fatalf("the mover's new home membership: %+v %v", m, found)
	}
	wantKind(t, "the mover's session in the wiped account", w.authorized(moverSession), apperr.KindUnauthenticated)
	signed, err := w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.mover.Email, Password: u.mover.Password})
	wantKind(t, "the mover signs in", err, ok)
	if signed.AccountID != elsewhere {
		t.Fatalf("the mover signed in to %s", signed.AccountID)
	}
	wantKind(t, "the mover's new session", w.authorized(signed.Token), ok)
	if e := w.changes(t, elsewhere, "user.home_moved"); len(e) != 1 || e[0].SubjectID != u.mover.ID {
		t.Fatalf("the move is not logged in the new home: %+v", e)
	}

	// The visitor only lost the membership of the wiped account.
	if got := w.user(t, u.visitor.ID); got.Version != visitorBefore.Version || got.HomeAccountID != elsewhere {
		t.Fatalf("the visitor's user changed: %+v", got)
	}

	// Wiping twice is safe: there is no such account any more, nobody changed.
	moverVersion := w.user(t, u.mover.ID).Version
	_, err = w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: doomed, ConfirmName: "Doomed Home", Wipe: true})
	wantKind(t, "the second wipe", err, apperr.KindNotFound)
	if w.user(t, u.mover.ID).Version != moverVersion || len(w.changes(t, elsewhere, "user.home_moved")) != 1 {
		t.Fatal("the second wipe moved the mover again")
	}
}

// cutShort is a fault injector at the SDK's HTTP edge: it fails every
// second TransactWriteItems with a (non-retried) validation error, so a wipe
// is cut short in the middle of its work, again and again.
type cutShort struct {
	next aws.HTTPClient
	mu   sync.Mutex
	n    int
}

func (c *cutShort) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".TransactWriteItems") {
		c.mu.Lock()
		c.n++
		fail := c.n%2 == 0
		c.mu.Unlock()
		if fail {
			body := `{"__type":"com.amazon.coral.validate#ValidationException","message":"injected: cut short"}`
			return &http.Response{StatusCode: 400, Status: "Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": []string{"application/x-amz-json-1.0"}, "X-Amzn-Requestid": []string{"fault-injected"}},
				Body:   io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}, nil
		}
	}
	return c.next.Do(req)
}

// A wipe whose transactions keep failing half-way never leaves a user half
// moved or half deleted, and retried, it finishes with the same result.
func TestAWipeCutShortIsNeverHalfWritten(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	doomed, elsewhere, u := w.doomedAccount(t, op)
	faulty := *w.adm
	faulty.Store = store.New(awsclient.DynamoDB(w.env.AWS, func(o *dynamodb.Options) {
		o.HTTPClient = &cutShort{next: awshttp.NewBuildableClient()}
	}), w.env.Config.Table)
	faulty.WipeBudget = 21

	// After every call, each user is either untouched or wholly done.
	consistent := func() {
		t.Helper()
		_, stillMember := w.membership(t, doomed, u.homeOnly.ID)
		h := w.user(t, u.homeOnly.ID)
		claimed := w.exists(t, w.ten.EmailClaim(u.homeOnly.Email))
		if stillMember != (h.Status == identity.UserActive) || claimed != stillMember || (h.HomeAccountID == doomed) != stillMember {
			t.Fatalf("home-only user half-deleted: member %v, status %s, claimed %v, home %q", stillMember, h.Status, claimed, h.HomeAccountID)
		}
		_, stillMember = w.membership(t, doomed, u.mover.ID)
		m := w.user(t, u.mover.ID)
		there, _ := w.membership(t, elsewhere, u.mover.ID)
		if (m.HomeAccountID == doomed) != stillMember || there.External != stillMember {
			t.Fatalf("mover half-moved: member %v, home %s, external elsewhere %v", stillMember, m.HomeAccountID, there.External)
		}
	}
	failures := 0
	for calls := 0; ; calls++ {
		if calls > 60 {
			t.Fatal("the wipe does not finish")
		}
		res, err := faulty.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: doomed, ConfirmName: "Doomed Home", Wipe: true})
		consistent()
		if err != nil {
			failures++
			continue
		}
		if res.Complete {
			break
		}
	}
	if failures == 0 {
		t.Fatal("no call was cut short")
	}
	if n := w.partition(t, doomed); n != 0 {
		t.Fatalf("%d items left", n)
	}
	w.noHomeIn(t, doomed, u.homeOnly, u.mover, u.visitor, u.gone)
	if w.user(t, u.homeOnly.ID).Status != identity.UserDeleted || w.user(t, u.mover.ID).HomeAccountID != elsewhere {
		t.Fatal("the retried wipe did not finish the users")
	}
	if len(w.changes(t, elsewhere, "user.home_moved")) != 1 {
		t.Fatal("the move is logged other than once")
	}
}

// The new home of a user whose home is wiped is an open account when they
// have one, even one they joined after a closed one.
func TestAWipedHomeMovesToAnOpenAccount(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	doomed := w.env.AddAccount(t, w.ten, "Doomed Again")
	closed := w.env.AddAccount(t, w.ten, "Closed Before")
	open := w.env.AddAccount(t, w.ten, "Still Open")
	u, _ := w.member(t, doomed, "twohomes@doomed.example", access.RoleAdmin)
	w.env.AddMembership(t, w.ten, closed, u.ID, u.Email, access.RoleViewer) // joined first
	w.env.Clock.Advance(time.Minute)
	w.env.AddMembership(t, w.ten, open, u.ID, u.Email, access.RoleViewer)
	_, err := w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: closed, ConfirmName: "Closed Before"})
	wantKind(t, "close the first account", err, ok)

	w.wipe(t, w.adm, op, doomed, "Doomed Again")
	if got := w.user(t, u.ID); got.Status == identity.UserDeleted || got.HomeAccountID != open {
		t.Fatalf("home %q, status %s: want the open account %s", got.HomeAccountID, got.Status, open)
	}
}
