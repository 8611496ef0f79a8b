package administration_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
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
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// throttledInvitationReads is a fault injector at the SDK's HTTP edge: while
// armed, every BatchGetItem that reads an invitation item is answered with
// throttling (the SDK's retryer is off, so the store sees what it would see
// once the retryer gave up).
type throttledInvitationReads struct {
	next  aws.HTTPClient
	mu    sync.Mutex
	armed bool
	hits  int
}

func (f *throttledInvitationReads) arm(on bool) {
	f.mu.Lock()
	f.armed = on
	f.mu.Unlock()
}

func (f *throttledInvitationReads) injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

func (f *throttledInvitationReads) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".BatchGetItem") && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		fail := f.armed && bytes.Contains(body, []byte(`#I#`))
		if fail {
			f.hits++
		}
		f.mu.Unlock()
		if fail {
			return &http.Response{StatusCode: 400, Status: "Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": []string{"application/x-amz-json-1.0"}, "X-Amzn-Requestid": []string{"fault-injected"}},
				Body:   io.NopCloser(strings.NewReader(awsclient.DynamoThrottled)), ContentLength: int64(len(awsclient.DynamoThrottled)), Request: req}, nil
		}
	}
	return f.next.Do(req)
}

// twoInvitations invites, from doomed, one address to doomed only and one
// to doomed and keep (by support staff switched into doomed, who is an
// Admin of keep), both without email.
func (w *world) twoInvitations(t *testing.T, op access.Caller, doomed, keep, onlyEmail, bothEmail string) (onlyHere, both invitations.EmailResult) {
	t.Helper()
	inv := invitations.New(w.env.Service())
	no := false
	asSupport := supportIn(op, doomed)
	w.env.AddMembership(t, w.ten, keep, op.UserID, "support@ops.example", access.RoleAdmin)
	r, err := inv.Invite(ctx, mustInvite(t, invitations.InviteRequest{Emails: []string{onlyEmail}, SendEmail: &no}, asSupport, doomed))
	wantKind(t, "invite to the doomed account", err, ok)
	onlyHere = r.Results[0]
	r, err = inv.Invite(ctx, mustInvite(t, invitations.InviteRequest{Emails: []string{bothEmail}, AccountIDs: []string{keep}, SendEmail: &no}, asSupport, doomed))
	wantKind(t, "invite to both accounts", err, ok)
	both = r.Results[0]
	if onlyHere.Result != invitations.ResultCreated || both.Result != invitations.ResultCreated {
		t.Fatalf("invitations: %+v %+v", onlyHere, both)
	}
	return onlyHere, both
}

func (w *world) invitation(t testing.TB, id string) (invitations.Invitation, bool) {
	t.Helper()
	var inv invitations.Invitation
	found, err := w.env.Store.Get(ctx, w.ten.Invitation(id), &inv)
	if err != nil {
		t.Fatal(err)
	}
	return inv, found
}

// A wipe whose read of the account's invitations fails (throttled) fails
// the call instead of skipping them, and deletes nothing it could not
// account for: no invitation loses its entry in the account while it still
// names it. Repeated once the reads work, it completes with nothing of the
// account left, the invitation only to it included.
func TestAWipeThatCannotReadTheInvitationsFailsAndARetryLeavesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	doomed, keep := w.env.AddAccount(t, w.ten, "Throttled Doomed"), w.env.AddAccount(t, w.ten, "Throttled Keep")
	for _, e := range []string{"a@throttled.example", "b@throttled.example", "c@throttled.example"} {
		w.quickMember(t, doomed, e, access.RoleViewer)
	}
	onlyHere, both := w.twoInvitations(t, op, doomed, keep, "only@throttled.example", "both@throttled.example")

	faults := &throttledInvitationReads{next: awshttp.NewBuildableClient()}
	faulty := *w.adm
	faulty.Store = store.New(awsclient.DynamoDB(w.env.AWS, func(o *dynamodb.Options) {
		o.HTTPClient = faults
		o.RetryMaxAttempts = 1
	}), w.env.Config.Table)
	close := administration.CloseAccount{Caller: op, AccountID: doomed, ConfirmName: "Throttled Doomed", Wipe: true}

	faults.arm(true)
	res, err := faulty.CloseAccount(ctx, close)
	wantKind(t, "a wipe whose invitation reads are throttled", err, apperr.KindUnavailable)
	if res.Complete || faults.injected() == 0 {
		t.Fatalf("the throttled wipe: %+v, %d faults", res, faults.injected())
	}
	// Nothing of an invitation went without the rest of it.
	for _, r := range []invitations.EmailResult{onlyHere, both} {
		inv, found := w.invitation(t, r.InvitationID)
		if !found || !w.exists(t, w.ten.AccountInvitation(doomed, r.InvitationID)) || len(inv.AccountIDs) == 0 || inv.AccountIDs[0] != doomed {
			t.Fatalf("after the failed call, invitation %s: found %v, %+v", r.InvitationID, found, inv.AccountIDs)
		}
	}

	faults.arm(false)
	if calls, failures := w.wipe(t, &faulty, op, doomed, "Throttled Doomed"); failures != 0 {
		t.Fatalf("the retried wipe failed %d times in %d calls", failures, calls)
	}
	if n := w.partition(t, doomed); n != 0 {
		t.Fatalf("%d items of the wiped account left", n)
	}
	if _, found := w.invitation(t, onlyHere.InvitationID); found {
		t.Fatal("the invitation only to the wiped account is left behind")
	}
	inv, found := w.invitation(t, both.InvitationID)
	if !found || len(inv.AccountIDs) != 1 || inv.AccountIDs[0] != keep || inv.InvitedAsSupport(doomed) {
		t.Fatalf("the invitation to both accounts: found %v, accounts %v, support in %v", found, inv.AccountIDs, inv.InviterSupport)
	}
}

// An invitation to a wiped account and a surviving one still works: its
// page shows the surviving account only, and the invitee joins it, at home
// there, and signs in to it.
func TestAnInvitationToAWipedAndASurvivingAccountJoinsTheSurvivingOne(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	doomed, keep := w.env.AddAccount(t, w.ten, "Wiped First"), w.env.AddAccount(t, w.ten, "Survives")
	_, both := w.twoInvitations(t, op, doomed, keep, "only@wiped.example", "joins@survives.example")
	w.wipe(t, w.adm, op, doomed, "Wiped First")

	token := tokenOf(t, both.AcceptURL)
	svc := invitations.New(w.env.Service())
	offer, err := svc.Open(ctx, token, "")
	wantKind(t, "open the invitation after the wipe", err, ok)
	if len(offer.Accounts) != 1 || offer.Accounts[0].ID != keep || offer.Accounts[0].Name != "Survives" {
		t.Fatalf("the page offers %+v", offer.Accounts)
	}
	userID := w.accept(t, both.AcceptURL)
	if m, found := w.membership(t, keep, userID); !found || m.External {
		t.Fatalf("the membership in the surviving account: %+v %v", m, found)
	}
	if u := w.user(t, userID); u.HomeAccountID != keep {
		t.Fatalf("the new user's home is %q, want %s", u.HomeAccountID, keep)
	}
	signed, err := w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: "joins@survives.example", Password: "Plum-Orchard-93-Lantern"})
	wantKind(t, "the invitee signs in", err, ok)
	if signed.AccountID != keep {
		t.Fatalf("signed in to %s", signed.AccountID)
	}
	if inv, _ := w.invitation(t, both.InvitationID); inv.Status != invitations.StatusAccepted {
		t.Fatalf("the invitation is %s", inv.Status)
	}
}

// The expiry job still expires an invitation to a wiped and a surviving
// account (it no longer names the wiped one, whose entry is gone).
func TestAnInvitationToAWipedAccountStillExpires(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	env.OwnTable(t, "wipexp") // the job reads every tenant's due invitations
	w := worldOn(t, env)
	op := w.operator(t)
	doomed, keep := w.env.AddAccount(t, w.ten, "Wiped Then"), w.env.AddAccount(t, w.ten, "Still Here")
	onlyHere, both := w.twoInvitations(t, op, doomed, keep, "only@expiry.example", "both@expiry.example")
	w.wipe(t, w.adm, op, doomed, "Wiped Then")

	w.env.Clock.Advance(invitations.ValidFor + time.Hour)
	rep, err := invitations.New(w.env.Service()).ExpireDue(ctx)
	wantKind(t, "the expiry job", err, ok)
	if rep.Expired != 1 || rep.Failed != 0 {
		t.Fatalf("the expiry job: %+v", rep)
	}
	if inv, _ := w.invitation(t, both.InvitationID); inv.Status != invitations.StatusExpired {
		t.Fatalf("the invitation to both is %s", inv.Status)
	}
	if _, found := w.invitation(t, onlyHere.InvitationID); found {
		t.Fatal("the invitation only to the wiped account is left")
	}
}

// tokenOf reads the token of an invitation link.
func tokenOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("token")
	if token == "" {
		t.Fatalf("no token in %q", link)
	}
	return token
}
