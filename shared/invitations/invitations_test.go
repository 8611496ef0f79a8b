package invitations_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/sesmail"
	"github.com/acme/accountadmin/shared/testkit"
)

func TestInviteEmailsASingleUseLink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	addr := address("first")
	cmd, err := invitations.InviteRequest{Emails: []string{"  " + strings.ToUpper(addr) + " "}, Roles: []string{access.RoleAdmin},
		Message: "Welcome <b>aboard</b>"}.Command(w.admin, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.svc.Invite(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Results[0]
	if r.Result != invitations.ResultCreated || r.NormalizedEmail != addr || r.Delivery != invitations.DeliverySent || r.AcceptURL != "" {
		t.Fatalf("result = %+v", r)
	}
	if want := testkit.Start.Add(invitations.ValidFor); !r.ExpiresAt.Equal(want) {
		t.Fatalf("expires %v, want %v", r.ExpiresAt, want)
	}
	inv := w.invitation(t, r.InvitationID)
	if inv.Status != invitations.StatusPending || inv.Delivery != invitations.DeliverySent || inv.GSI3PK == "" ||
		!slices.Equal(inv.Roles, []string{access.RoleAdmin}) || inv.InviterEmail != w.ten.AdminEmail {
		t.Fatalf("invitation = %+v", inv)
	}
	if !w.exists(t, w.ten.PendingInvitation(w.ten.AccountID, addr)) || !w.exists(t, w.ten.AccountInvitation(w.ten.AccountID, inv.ID)) {
		t.Fatal("guard or account entry missing")
	}
	if len(w.changes(t, w.ten.AccountID, "invitation.created")) != 1 {
		t.Fatal("no change-log entry")
	}
	mails, err := inbox().To(ctx, addr)
	if err != nil || len(mails) != 1 {
		t.Fatalf("inbox: %d %v", len(mails), err)
	}
	m := mails[0]
	if !strings.Contains(m.Subject, "Ada Admin") || !strings.Contains(m.Body.HTML, "Welcome &lt;b&gt;aboard&lt;/b&gt;") ||
		!strings.Contains(m.Body.Text, "> Welcome <b>aboard</b>") || m.From != w.env.Config.Sender {
		t.Fatalf("email = %+v", m)
	}
	token := tokenOf(t, m.Body.Text)
	if tokenOf(t, m.Body.HTML) != token || !strings.HasPrefix(token, w.ten.ID()+"."+inv.ID+".") {
		t.Fatalf("token %q", token)
	}
	if logs := w.env.Logs.String(); strings.Contains(logs, token) || strings.Contains(logs, inv.TokenHash) {
		t.Fatal("the token or its hash was logged")
	}
	// The token is not stored, only its hash.
	if inv.TokenHash == token || strings.Contains(inv.TokenHash, strings.Split(token, ".")[2]) {
		t.Fatal("the token is stored")
	}
	offer, err := w.svc.Open(ctx, token, "")
	if err != nil || offer.Email != addr || offer.ExistingUser || offer.Inviter.Email != w.ten.AdminEmail {
		t.Fatalf("open: %+v %v", offer, err)
	}
	// Opening changes nothing.
	if after := w.invitation(t, inv.ID); after.Version != inv.Version || after.Status != invitations.StatusPending {
		t.Fatalf("open changed the invitation: %+v", after)
	}
	// Listing shows it as pending, newest first.
	page, err := w.svc.List(ctx, invitations.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, Status: invitations.StatusPending, Limit: 10})
	if err != nil || len(page.Invitations) != 1 || page.Invitations[0].ID != inv.ID {
		t.Fatalf("list: %+v %v", page, err)
	}
}

func TestBulkInviteWithDuplicatesAndABadAddress(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	member := w.env.AddUser(t, w.ten, w.ten.AccountID, address("member"), "")
	pending := address("pending")
	pendingID, _ := w.invite(t, pending)
	w.env.Clock.Advance(time.Second) // ids are time ordered: the bulk ones are newer
	a, b := address("a"), address("b")
	emails := []string{a, "not-an-address", strings.ToUpper(a), member.Email, b, pending, " " + b + " ", "x@", ""}
	for i := 0; i < 40; i++ {
		emails = append(emails, address("bulk"))
	}
	cmd, err := invitations.InviteRequest{Emails: emails}.Command(w.admin, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.svc.Invite(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != len(emails) {
		t.Fatalf("%d results for %d emails", len(res.Results), len(emails))
	}
	want := []string{"created", "invalid", "already_invited", "already_member", "created", "already_invited", "already_invited", "invalid", "invalid"}
	for i, w := range want {
		if got := res.Results[i].Result; got != w {
			t.Errorf("result %d (%q) = %s (%s), want %s", i, emails[i], got, res.Results[i].Detail, w)
		}
	}
	if res.Results[2].InvitationID != res.Results[0].InvitationID || res.Results[5].InvitationID != pendingID {
		t.Errorf("duplicates must point at the invitation: %+v", res.Results[:6])
	}
	if res.Counts["created"] != 42 || res.Counts["invalid"] != 3 || res.Counts["already_invited"] != 3 || res.Counts["already_member"] != 1 {
		t.Fatalf("counts = %v", res.Counts)
	}
	// One invitation per address, whatever the duplicates.
	page, err := w.svc.List(ctx, invitations.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, Status: invitations.StatusPending, Limit: 100})
	if err != nil || len(page.Invitations) != 43 {
		t.Fatalf("pending = %d, %v", len(page.Invitations), err)
	}
	// Newest first, paged with an opaque cursor.
	p1, err := w.svc.List(ctx, invitations.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, Status: invitations.StatusPending, Limit: 40})
	if err != nil || len(p1.Invitations) != 40 || p1.NextCursor == "" {
		t.Fatalf("page 1: %d %q %v", len(p1.Invitations), p1.NextCursor, err)
	}
	p2, err := w.svc.List(ctx, invitations.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, Status: invitations.StatusPending, Limit: 40, Cursor: p1.NextCursor})
	if err != nil || len(p2.Invitations) != 3 || p2.Invitations[2].ID != pendingID {
		t.Fatalf("page 2: %+v %v", p2, err)
	}
	if got, _ := inbox().To(ctx, a); len(got) != 1 {
		t.Fatalf("%s got %d emails", a, len(got))
	}
}

// Fifty people open one link at the same moment: exactly one joins, the
// others are told it was used (410), and exactly one user and membership exist.
func TestConcurrentAcceptsOfOneToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	addr := address("racer")
	id, token := w.invite(t, addr)
	const racers = 50
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.accept(ctx, token, newUser("Racer"), "")
		}()
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, invitations.ErrAccepted):
		default:
			t.Errorf("racer %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d accepts succeeded, want exactly 1", wins)
	}
	n := 0
	for _, m := range w.members(t, w.ten.AccountID) {
		if m.Email == addr {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d memberships for %s, want 1", n, addr)
	}
	inv := w.invitation(t, id)
	if inv.Status != invitations.StatusAccepted || inv.GSI3PK != "" || inv.Version != 2 {
		t.Fatalf("invitation = %+v", inv)
	}
	if w.exists(t, w.ten.PendingInvitation(w.ten.AccountID, addr)) {
		t.Fatal("the pending guard survived the accept")
	}
	if len(w.changes(t, w.ten.AccountID, "invitation.accepted")) != 1 {
		t.Fatal("want one change-log entry")
	}
}

func TestAcceptSignsInAndRefusesAfterExpiry(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	late := address("late")
	_, lateToken := w.invite(t, late)
	onTime := address("ontime")
	w.env.Clock.Advance(time.Hour)
	_, onTimeToken := w.invite(t, onTime)

	// At the first invitation's expiry + 1 s, the job has not run: the accept
	// path refuses it by itself, and says when it expired and whom to ask.
	w.env.Clock.Set(testkit.Start.Add(invitations.ValidFor + time.Second))
	_, err := w.accept(ctx, lateToken, newUser("Late"), "")
	if !errors.Is(err, invitations.ErrExpired) || apperr.KindOf(err) != apperr.KindGone {
		t.Fatalf("want 410 expired, got %v", err)
	}
	e, _ := apperr.As(err)
	if !strings.Contains(e.Detail, "expired on Monday 30 November 2026, 09:00 UTC") || !strings.Contains(e.Detail, w.ten.AdminEmail) {
		t.Fatalf("detail = %q", e.Detail)
	}
	if _, err := w.svc.Open(ctx, lateToken, ""); !errors.Is(err, invitations.ErrExpired) {
		t.Fatalf("open: %v", err)
	}
	if w.exists(t, w.ten.EmailClaim(late)) {
		t.Fatal("a refused accept created the user")
	}

	// The other one is 59 min 59 s from its expiry: it works and signs in.
	got, err := w.accept(ctx, onTimeToken, newUser("Onthe"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !got.NewUser || got.Token == "" || got.AccountID != w.ten.AccountID || !slices.Equal(got.AccountIDs, []string{w.ten.AccountID}) {
		t.Fatalf("accepted = %+v", got)
	}
	authSvc := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	caller, err := authSvc.Authorize(ctx, got.Token)
	if err != nil || caller.UserID != got.UserID || !slices.Equal(caller.Roles, []string{access.RoleViewer}) {
		t.Fatalf("the accept's session does not sign in: %+v %v", caller, err)
	}
	if _, err := authSvc.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: onTime, Password: newUser("").Password}); err != nil {
		t.Fatalf("sign in as the new user: %v", err)
	}
	// A used link says so.
	if _, err := w.accept(ctx, onTimeToken, newUser("Again"), ""); !errors.Is(err, invitations.ErrAccepted) {
		t.Fatalf("second accept: %v", err)
	}
}

func TestNewUserMustMeetThePasswordPolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	addr := address("policy")
	id, token := w.invite(t, addr)
	for name, r := range map[string]invitations.AcceptRequest{
		"too short":     {FirstName: "A", LastName: "B", Password: "Sh0rt!"},
		"too simple":    {FirstName: "A", LastName: "B", Password: "alllowercaseletters"},
		"no names":      {Password: "Plum-Orchard-93-Lantern"},
		"no password":   {FirstName: "A", LastName: "B"},
		"name too long": {FirstName: strings.Repeat("n", 101), LastName: "B", Password: "Plum-Orchard-93-Lantern"},
	} {
		_, err := w.accept(ctx, token, r, "")
		if apperr.KindOf(err) != apperr.KindUnprocessable {
			t.Errorf("%s: want 422, got %v", name, err)
		}
	}
	if inv := w.invitation(t, id); inv.Status != invitations.StatusPending || inv.Version != 1 {
		t.Fatalf("bad input changed the invitation: %+v", inv)
	}
}

// Someone whose address has an account joins in their own session, never
// with a password posted to the public accept (that would be a password
// oracle beside the throttled sign-in): a password, the new-user form or no
// session is 422 sign_in_to_accept, and nothing is written or counted. The
// membership is external when their home account is elsewhere.
func TestExistingUserAcceptsInTheirOwnSession(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	other := w.env.AddAccount(t, w.ten, "Other Co")
	u := w.env.AddUser(t, w.ten, other, address("existing"), "")
	id, token := w.invite(t, u.Email)

	offer, err := w.svc.Open(ctx, token, "")
	if err != nil || !offer.ExistingUser {
		t.Fatalf("open: %+v %v", offer, err)
	}
	s, err := (&auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}).
		SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: u.Password})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		r       invitations.AcceptRequest
		session string
	}{
		"no session":                 {invitations.AcceptRequest{}, ""},
		"its right password":         {invitations.AcceptRequest{Password: u.Password}, ""},
		"a wrong password":           {invitations.AcceptRequest{Password: "Wrong-Password-1"}, ""},
		"the new-user form":          {newUser("Dup"), ""},
		"a password and the session": {invitations.AcceptRequest{Password: u.Password}, s.Token},
	} {
		_, err := w.accept(ctx, token, c.r, c.session)
		e, _ := apperr.As(err)
		if !errors.Is(err, invitations.ErrSignInToAccept) || apperr.KindOf(err) != apperr.KindUnprocessable ||
			!strings.Contains(e.Detail, "sign in as "+u.Email+" and accept") {
			t.Errorf("%s: want 422 sign_in_to_accept, got %v", name, err)
		}
	}
	inv := w.invitation(t, id)
	if inv.Status != invitations.StatusPending || inv.Version != 1 {
		t.Fatalf("a refused accept touched the invitation: %+v", inv)
	}
	if w.exists(t, w.ten.Attempts("EMAIL", u.Email)) {
		t.Fatal("a refused accept counted as a failed sign-in")
	}
	got, err := w.accept(ctx, token, invitations.AcceptRequest{}, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got.NewUser || got.UserID != u.ID {
		t.Fatalf("accepted = %+v", got)
	}
	var found bool
	for _, m := range w.members(t, w.ten.AccountID) {
		if m.UserID == u.ID {
			found = true
			if !m.External || m.Licence == "" {
				t.Fatalf("membership = %+v", m)
			}
		}
	}
	if !found {
		t.Fatal("no membership")
	}
}

// Someone signed in as another user opens the link: they are told so, and
// the invitation is not used up (Auth0 consumes it; users hate that).
func TestSignedInOtherUserDoesNotUseTheInvitation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	invited := address("invited")
	id, token := w.invite(t, invited)
	other := w.env.AddUser(t, w.ten, w.ten.AccountID, address("colleague"), "")
	authSvc := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	s, err := authSvc.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: other.Email, Password: other.Password})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Open(ctx, token, s.Token)
	if !errors.Is(err, invitations.ErrForAnotherUser) {
		t.Fatalf("open: %v", err)
	}
	e, _ := apperr.As(err)
	if !strings.Contains(e.Detail, other.Email) || !strings.Contains(e.Detail, "this invitation is for "+invited+"; sign out and sign in as "+invited) ||
		!strings.Contains(e.Detail, "has not been used") {
		t.Fatalf("detail = %q", e.Detail)
	}
	for _, r := range []invitations.AcceptRequest{{}, newUser("Other"), {Password: other.Password}} {
		if _, err := w.accept(ctx, token, r, s.Token); !errors.Is(err, invitations.ErrForAnotherUser) || apperr.KindOf(err) != apperr.KindForbidden {
			t.Fatalf("accept while signed in as someone else: %v", err)
		}
	}
	if inv := w.invitation(t, id); inv.Status != invitations.StatusPending || inv.Version != 1 {
		t.Fatalf("the invitation was touched: %+v", inv)
	}
	if _, err := w.accept(ctx, token, newUser("Right"), ""); err != nil {
		t.Fatalf("the invitee can still accept: %v", err)
	}
}

// A signed-in invitee needs no password: the session proves who they are.
func TestSignedInInviteeAcceptsWithTheirSession(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	other := w.env.AddAccount(t, w.ten, "Home")
	u := w.env.AddUser(t, w.ten, other, address("session"), "")
	_, token := w.invite(t, u.Email)
	authSvc := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	s, err := authSvc.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: u.Password})
	if err != nil {
		t.Fatal(err)
	}
	offer, err := w.svc.Open(ctx, token, s.Token)
	if err != nil || !offer.SignedIn {
		t.Fatalf("open: %+v %v", offer, err)
	}
	got, err := w.accept(ctx, token, invitations.AcceptRequest{}, s.Token)
	if err != nil || got.UserID != u.ID || got.AccountID != w.ten.AccountID {
		t.Fatalf("accept: %+v %v", got, err)
	}
}

func TestResendInvalidatesTheOldLinkAndRenewsTheSevenDays(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	ctx := context.Background()
	addr := address("resent")
	id, oldToken := w.invite(t, addr)
	w.env.Clock.Advance(6 * 24 * time.Hour)
	res, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: w.admin, InvitationID: id, SendEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Invitation.Sends != 2 || res.Invitation.Delivery != invitations.DeliverySent || res.AcceptURL != "" ||
		!res.Invitation.ExpiresAt.Equal(w.env.Clock.Now().Add(invitations.ValidFor)) {
		t.Fatalf("resent = %+v", res)
	}
	mails, _ := inbox().To(ctx, addr)
	if len(mails) != 1 {
		t.Fatalf("%d emails", len(mails))
	}
	newToken := tokenOf(t, mails[0].Body.Text)
	if _, err := w.accept(ctx, oldToken, newUser("Old"), ""); !errors.Is(err, invitations.ErrReplaced) || apperr.KindOf(err) != apperr.KindGone {
		t.Fatalf("old link: %v", err)
	}
	// Past the original expiry, the job leaves it alone (its due key moved)
	// and the new link still works.
	w.env.Clock.Advance(2 * 24 * time.Hour)
	rep, err := w.svc.ExpireDue(ctx)
	if err != nil || rep.Expired != 0 {
		t.Fatalf("job: %+v %v", rep, err)
	}
	if _, err := w.svc.Open(ctx, newToken, ""); err != nil {
		t.Fatalf("new link: %v", err)
	}
	// A stale If-Match is refused.
	if _, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: w.admin, InvitationID: id, IfMatch: 1}); !errors.Is(err, apperr.ErrVersionConflict) {
		t.Fatalf("stale resend: %v", err)
	}
	if _, err := w.accept(ctx, newToken, newUser("New"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: w.admin, InvitationID: id}); !errors.Is(err, invitations.ErrNotPending) {
		t.Fatalf("resend of an accepted invitation: %v", err)
	}
}

func TestRevokeKillsTheLink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	addr := address("revoked")
	id, token := w.invite(t, addr)
	if err := w.svc.Revoke(ctx, invitations.RevokeCommand{Caller: w.admin, InvitationID: id, IfMatch: 1}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		func() error { _, err := w.svc.Open(ctx, token, ""); return err }(),
		func() error { _, err := w.accept(ctx, token, newUser("Gone"), ""); return err }(),
	} {
		if !errors.Is(err, invitations.ErrRevoked) || apperr.KindOf(err) != apperr.KindGone {
			t.Fatalf("want 410 revoked, got %v", err)
		}
	}
	inv := w.invitation(t, id)
	if inv.Status != invitations.StatusRevoked || inv.GSI3PK != "" || inv.RevokedBy != w.ten.AdminID {
		t.Fatalf("invitation = %+v", inv)
	}
	if w.exists(t, w.ten.PendingInvitation(w.ten.AccountID, addr)) {
		t.Fatal("guard kept")
	}
	// Revoking again changes nothing; the address can be invited again.
	if err := w.svc.Revoke(ctx, invitations.RevokeCommand{Caller: w.admin, InvitationID: id}); err != nil {
		t.Fatal(err)
	}
	if w.invitation(t, id).Version != inv.Version {
		t.Fatal("second revoke changed the invitation")
	}
	w.invite(t, addr)
	page, err := w.svc.List(ctx, invitations.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, Status: invitations.StatusRevoked, Limit: 10})
	if err != nil || len(page.Invitations) != 1 || page.Invitations[0].ID != id {
		t.Fatalf("revoked list: %+v %v", page, err)
	}
	if _, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: w.admin, InvitationID: id}); !errors.Is(err, invitations.ErrNotPending) {
		t.Fatalf("resend of a revoked invitation: %v", err)
	}
}

func TestOnlyAdminsOfEveryTargetAccountMayInvite(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	second := w.env.AddAccount(t, w.ten, "Second")
	viewer := w.env.AddUser(t, w.ten, w.ten.AccountID, address("viewer"), "", access.RoleViewer)
	// Admin of the second account only.
	otherAdmin := w.env.AddUser(t, w.ten, second, address("otheradmin"), "", access.RoleAdmin)
	stranger := testkit.New(t).NewTenant(t) // another tenant, on the same table

	addr := address("target")
	cases := []struct {
		name     string
		caller   access.Caller
		accounts []string
		want     apperr.Kind
	}{
		{"viewer", callerOf(w.ten, viewer.ID, w.ten.AccountID, access.RoleViewer), []string{w.ten.AccountID}, apperr.KindForbidden},
		{"admin of another account", callerOf(w.ten, otherAdmin.ID, second, access.RoleAdmin), []string{w.ten.AccountID}, apperr.KindForbidden},
		{"admin of one target but not the other", callerOf(w.ten, otherAdmin.ID, second, access.RoleAdmin), []string{second, w.ten.AccountID}, apperr.KindForbidden},
		{"another tenant's account", callerOf(stranger, stranger.AdminID, stranger.AccountID, access.RoleAdmin), []string{stranger.AccountID, w.ten.AccountID}, apperr.KindNotFound},
	}
	for _, tc := range cases {
		cmd, err := invitations.InviteRequest{Emails: []string{addr}, AccountIDs: tc.accounts[1:]}.Command(tc.caller, tc.accounts[0])
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Invite(ctx, cmd)
		if apperr.KindOf(err) != tc.want {
			t.Errorf("%s: want %v, got %v", tc.name, tc.want, err)
		}
	}
	for _, a := range []string{w.ten.AccountID, second} {
		if w.count(t, w.ten.Account(a).PK, "PENDING#")+w.count(t, w.ten.Account(a).PK, "INVITE#")+w.count(t, w.ten.Account(a).PK, "QUOTA#") > 0 {
			t.Fatalf("a refused invite wrote to account %s", a)
		}
	}
	// Resend and revoke need the same rights; another tenant sees nothing.
	id, _ := w.invite(t, addr)
	viewerCaller := callerOf(w.ten, viewer.ID, w.ten.AccountID, access.RoleViewer)
	if _, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: viewerCaller, InvitationID: id}); apperr.KindOf(err) != apperr.KindForbidden {
		t.Errorf("viewer resend: %v", err)
	}
	if err := w.svc.Revoke(ctx, invitations.RevokeCommand{Caller: viewerCaller, InvitationID: id}); apperr.KindOf(err) != apperr.KindForbidden {
		t.Errorf("viewer revoke: %v", err)
	}
	strangerCaller := callerOf(stranger, stranger.AdminID, stranger.AccountID, access.RoleAdmin)
	if err := w.svc.Revoke(ctx, invitations.RevokeCommand{Caller: strangerCaller, InvitationID: id}); apperr.KindOf(err) != apperr.KindNotFound {
		t.Errorf("cross-tenant revoke: %v", err)
	}
	if _, err := w.svc.List(ctx, invitations.ListQuery{Caller: strangerCaller, AccountID: w.ten.AccountID, Status: "pending"}); apperr.KindOf(err) != apperr.KindNotFound {
		t.Errorf("cross-tenant list: %v", err)
	}
	if w.invitation(t, id).Version != 1 {
		t.Fatal("a refused call changed the invitation")
	}
}

func TestMultiAccountInvitation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	second := w.env.AddAccount(t, w.ten, "Second")
	w.env.AddMembership(t, w.ten, second, w.ten.AdminID, w.ten.AdminEmail, access.RoleAdmin)
	addr := address("multi")
	id, token := w.invite(t, addr, w.ten.AccountID, second)
	got, err := w.accept(ctx, token, newUser("Multi"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.AccountIDs, []string{w.ten.AccountID, second}) {
		t.Fatalf("joined %v", got.AccountIDs)
	}
	for _, a := range []string{w.ten.AccountID, second} {
		ok := false
		for _, m := range w.members(t, a) {
			if m.UserID == got.UserID {
				ok = true
				if m.External != (a == second) {
					t.Errorf("account %s: external = %v", a, m.External)
				}
			}
		}
		if !ok {
			t.Fatalf("no membership in %s", a)
		}
		page, err := w.svc.List(ctx, invitations.ListQuery{Caller: w.admin, AccountID: a, Status: invitations.StatusAccepted, Limit: 5})
		if err != nil || len(page.Invitations) != 1 || page.Invitations[0].ID != id {
			t.Fatalf("accepted list of %s: %+v %v", a, page, err)
		}
	}
}

func TestInvitationsAreRateLimited(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.svc.Limits = invitations.Limits{PerInviterPerHour: 3, PerAccountPerHour: 100}
	invite := func(n int) (invitations.InviteResult, error) {
		var emails []string
		for range n {
			emails = append(emails, address("limited"))
		}
		no := false
		cmd, err := invitations.InviteRequest{Emails: emails, SendEmail: &no}.Command(w.admin, w.ten.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		return w.svc.Invite(ctx, cmd)
	}
	if _, err := invite(2); err != nil {
		t.Fatal(err)
	}
	w.env.Clock.Advance(10 * time.Minute)
	res, err := invite(2)
	if apperr.KindOf(err) != apperr.KindRateLimited {
		t.Fatalf("want 429, got %+v %v", res, err)
	}
	e, _ := apperr.As(err)
	if e.Extra["retryAfterSeconds"] != int64(50*60) {
		t.Fatalf("retryAfterSeconds = %v", e.Extra["retryAfterSeconds"])
	}
	page, _ := w.svc.List(ctx, invitations.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, Status: invitations.StatusPending, Limit: 10})
	if len(page.Invitations) != 2 {
		t.Fatalf("a refused request created invitations: %d pending", len(page.Invitations))
	}
	if _, err := invite(1); err != nil {
		t.Fatalf("the third of the hour: %v", err)
	}
	// The account limit holds across inviters.
	w.svc.Limits = invitations.Limits{PerInviterPerHour: 100, PerAccountPerHour: 4}
	if _, err := invite(2); apperr.KindOf(err) != apperr.KindRateLimited || !strings.Contains(err.Error(), "account") {
		t.Fatalf("want the account's 429, got %v", err)
	}
	w.env.Clock.Advance(time.Hour)
	if _, err := invite(2); err != nil {
		t.Fatalf("next hour: %v", err)
	}
}

// SES failures are injected at the SDK's HTTP edge: throttling is retried,
// MessageRejected is reported, and the invitation is kept and resendable.
func TestEmailFailuresKeepTheInvitation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	throttled, rejected := address("throttled"), address("rejected")
	w.faults.Add(sesmail.Fault{Recipient: throttled, Code: "Throttling", Times: 2})
	w.faults.Add(sesmail.Fault{Recipient: rejected, Code: "MessageRejected", Times: 1})
	cmd, err := invitations.InviteRequest{Emails: []string{throttled, rejected}}.Command(w.admin, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.svc.Invite(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Results[0]; r.Result != invitations.ResultCreated || r.Delivery != invitations.DeliverySent {
		t.Fatalf("throttled: %+v", r)
	}
	r := res.Results[1]
	if r.Result != invitations.ResultCreated || r.Delivery != invitations.DeliveryFailed || r.DeliveryError != email.ReasonRejected {
		t.Fatalf("rejected: %+v", r)
	}
	if w.faults.Injected() != 3 {
		t.Fatalf("%d faults injected, want 3 (2 throttles retried, 1 rejection not retried)", w.faults.Injected())
	}
	inv := w.invitation(t, r.InvitationID)
	if inv.Status != invitations.StatusPending || inv.Delivery != invitations.DeliveryFailed || inv.DeliveryError != email.ReasonRejected {
		t.Fatalf("invitation = %+v", inv)
	}
	if got, _ := inbox().To(ctx, throttled); len(got) != 1 {
		t.Fatalf("throttled address got %d emails", len(got))
	}
	if got, _ := inbox().To(ctx, rejected); len(got) != 0 {
		t.Fatal("rejected address got an email")
	}
	if logs := w.env.Logs.String(); !strings.Contains(logs, "invitation email not sent") || strings.Contains(logs, "token=") ||
		strings.Contains(logs, inv.TokenHash) {
		t.Fatalf("the failure must be logged, without the link: %s", logs)
	}
	resent, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: w.admin, InvitationID: r.InvitationID, SendEmail: true})
	if err != nil || resent.Invitation.Delivery != invitations.DeliverySent || resent.Invitation.DeliveryError != "" {
		t.Fatalf("resend: %+v %v", resent, err)
	}
	mails, _ := inbox().To(ctx, rejected)
	if len(mails) != 1 {
		t.Fatalf("after resend: %d emails", len(mails))
	}
	if _, err := w.accept(ctx, tokenOf(t, mails[0].Body.Text), newUser("Finally"), ""); err != nil {
		t.Fatal(err)
	}
}

// The job and accepts race on invitations at their expiry instant (the
// accept's clock one second before it, the job's after it, so each believes
// it may act): every invitation ends accepted or expired, never both, and
// changes once. The invitees are signed in already, so their accepts cost
// about what the job's writes cost, and the invitations sit in the first
// bucket the job reads: the two really interleave.
func TestExpiryJobRacingAccepts(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	ctx := context.Background()
	const n = 40
	home := w.env.AddAccount(t, w.ten, "Home")
	type inv struct{ id, token, session string }
	invs := make([]inv, n)
	authSvc := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	var wg sync.WaitGroup
	for i := range invs {
		u := w.env.AddUser(t, w.ten, home, address("race"), "")
		invs[i].id, invs[i].token = w.invite(t, u.Email)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := authSvc.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: u.Password})
			if err != nil {
				t.Error(err)
			}
			invs[i].session = s.Token
		}()
	}
	wg.Wait()
	expiry := testkit.Start.Add(invitations.ValidFor)
	acceptSvc, jobSvc := *w.svc, *w.svc
	acceptSvc.Clock = clock.NewManual(expiry.Add(-time.Second))
	jobSvc.Clock = clock.NewManual(expiry.Add(invitations.ExpiryLookBack - time.Hour))

	accepted := make([]bool, n)
	var rep invitations.ExpiryReport
	var jobErr error
	wg.Add(1)
	go func() { defer wg.Done(); rep, jobErr = jobSvc.ExpireDue(ctx) }()
	for i := range invs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 2 * time.Millisecond) // spread the accepts over the job's run
			cmd, _ := invitations.AcceptRequest{Token: invs[i].token}.Command(invs[i].session, "", "")
			_, err := acceptSvc.Accept(ctx, cmd)
			switch {
			case err == nil:
				accepted[i] = true
			case errors.Is(err, invitations.ErrExpired):
			default:
				t.Errorf("accept %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if jobErr != nil {
		t.Fatal(jobErr)
	}
	members := map[string]bool{}
	for _, m := range w.members(t, w.ten.AccountID) {
		members[m.UserID] = true
	}
	nAccepted := 0
	for i, in := range invs {
		got := w.invitation(t, in.id)
		switch {
		case accepted[i]:
			nAccepted++
			if got.Status != invitations.StatusAccepted || !members[got.AcceptedBy] {
				t.Errorf("%d: the accept won but status is %s", i, got.Status)
			}
		default:
			if got.Status != invitations.StatusExpired || got.AcceptedBy != "" {
				t.Errorf("%d: the job won but status is %s", i, got.Status)
			}
		}
		if got.Version != 2 {
			t.Errorf("%d: changed %d times", i, got.Version-1)
		}
	}
	if nAccepted+rep.Expired != n || len(members) != 1+nAccepted {
		t.Fatalf("%d accepted + %d expired by the job, %d members; want %d invitations each changed once", nAccepted, rep.Expired, len(members), n)
	}
	t.Logf("%d accepted, %d expired by the job, %d skipped", nAccepted, rep.Expired, rep.Skipped)
}

// Delivered three times (in a row and at once), the job changes each
// invitation once; it never touches accepted or revoked ones or those not due.
func TestExpiryJobRunThreeTimes(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	ctx := context.Background()
	var due []string
	for i := range 6 {
		id, _ := w.invite(t, address("due"))
		due = append(due, id)
		w.env.Clock.Advance(time.Duration(i+1) * 3 * time.Hour) // spread over days: several buckets
	}
	acceptedID, acceptedTok := w.invite(t, address("accepted"))
	if _, err := w.accept(ctx, acceptedTok, newUser("Quick"), ""); err != nil {
		t.Fatal(err)
	}
	revokedID, _ := w.invite(t, address("revoked"))
	if err := w.svc.Revoke(ctx, invitations.RevokeCommand{Caller: w.admin, InvitationID: revokedID}); err != nil {
		t.Fatal(err)
	}
	w.env.Clock.Set(w.invitation(t, due[len(due)-1]).Expiry()) // the last due one is due exactly now
	notDueID, _ := w.invite(t, address("notdue"))

	first, err := w.svc.ExpireDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Expired != len(due) || first.Buckets != 31 {
		t.Fatalf("first run: %+v", first)
	}
	if first.IndexItemsRead != len(due) {
		t.Fatalf("the job read %d index items for %d due invitations", first.IndexItemsRead, len(due))
	}
	var wg sync.WaitGroup
	reps := make([]invitations.ExpiryReport, 3)
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); reps[i], _ = w.svc.ExpireDue(ctx) }()
	}
	wg.Wait()
	again, err := w.svc.ExpireDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(reps, again) {
		if r.Expired != 0 || r.Failed != 0 {
			t.Fatalf("a later run changed something: %+v", r)
		}
	}
	for _, id := range due {
		inv := w.invitation(t, id)
		if inv.Status != invitations.StatusExpired || inv.Version != 2 || inv.GSI3PK != "" {
			t.Fatalf("%s: %+v", id, inv)
		}
	}
	if n := len(w.changes(t, w.ten.AccountID, "invitation.expired")); n != len(due) {
		t.Fatalf("%d change-log entries, want %d", n, len(due))
	}
	for id, want := range map[string]string{acceptedID: invitations.StatusAccepted, revokedID: invitations.StatusRevoked, notDueID: invitations.StatusPending} {
		if got := w.invitation(t, id).Status; got != want {
			t.Fatalf("%s: %s, want %s", id, got, want)
		}
	}
	// Expired ones are listed as such, and can be resent back to pending.
	page, err := w.svc.List(ctx, invitations.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, Status: invitations.StatusExpired, Limit: 50})
	if err != nil || len(page.Invitations) != len(due) {
		t.Fatalf("expired list: %d %v", len(page.Invitations), err)
	}
	res, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: w.admin, InvitationID: due[0]})
	if err != nil || res.Invitation.Status != invitations.StatusPending || res.AcceptURL == "" {
		t.Fatalf("resend of an expired invitation: %+v %v", res, err)
	}
	if _, err := w.accept(ctx, tokenOf(t, res.AcceptURL), newUser("Revived"), ""); err != nil {
		t.Fatal(err)
	}
}
