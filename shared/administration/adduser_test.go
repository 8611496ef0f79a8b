package administration_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/testkit"
)

const addedPassword = "Copper-Lantern-58-Ridge"

// signer is the sign-in service with SES local behind it, as the auth
// function has.
func (w *world) signer() *auth.Service {
	return &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs, Mail: w.env.Deps.Mail}
}

func (w *world) addUser(t *testing.T, c access.Caller, addr string, roles []string, generate bool) (administration.UserAdded, error) {
	t.Helper()
	req := administration.AddUserRequest{Email: addr, FirstName: "Noor", LastName: "Hire", Roles: roles, AdminPassword: testkit.Password}
	if generate {
		req.Generate = true
	} else {
		req.Password = addedPassword
	}
	cmd, err := req.Command(c, c.AccountID, "198.51.100.4")
	if err != nil {
		t.Fatalf("command: %v", err)
	}
	return w.adm.AddUser(ctx, cmd)
}

// inbox reads the emails SES local received for addr, newest last.
func inbox(t *testing.T, addr string) []email.StoredEmail {
	t.Helper()
	msgs, err := email.LocalInbox{Endpoint: os.Getenv(awsclient.EnvSESEndpoint)}.To(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

var sixDigits = regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`)

// latestCode is the code of the newest confirmation email to addr.
func latestCode(t *testing.T, addr string) string {
	t.Helper()
	msgs := inbox(t, addr)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.Contains(msgs[i].Subject, "confirm your email") {
			if m := sixDigits.FindStringSubmatch(msgs[i].Body.Text); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no code emailed to %s: %+v", addr, msgs)
	return ""
}

func signInAs(w *world, addr, password, code string) (auth.Signed, error) {
	addr, _ = identity.NormalizeEmail(addr) // as the auth function does
	return w.signer().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: addr, Password: password, EmailCode: code, IP: "192.0.2.8", UserAgent: "test"})
}

func (w *world) invite(c access.Caller, addr string) error {
	no := false
	cmd, err := invitations.InviteRequest{Emails: []string{addr}, Roles: []string{access.RoleViewer}, SendEmail: &no}.Command(c, c.AccountID)
	if err != nil {
		return err
	}
	_, err = invitations.New(w.env.Service()).Invite(ctx, cmd)
	return err
}

// An admin-created user exists at once, signs in with the password the
// admin set only after proving the address with the code emailed to it,
// cannot invite before that, and can afterwards.
func TestAddedUserProvesTheAddressAtFirstSignIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	addr := "noor-" + w.env.IDs.NewID()[20:] + "@example.org"
	added, err := w.addUser(t, w.admin(), addr, []string{access.RoleAdmin}, false)
	wantKind(t, "add user", err, ok)
	u := w.user(t, added.User.ID)
	if u.Status != identity.UserActive || !u.EmailUnverified || u.HomeAccountID != w.ten.AccountID || added.EmailVerified {
		t.Fatalf("added user %+v (view %+v)", u, added)
	}
	if m, found := w.membership(t, w.ten.AccountID, u.ID); !found || len(m.Roles) != 1 || m.Roles[0] != access.RoleAdmin || m.Licence == "" {
		t.Fatalf("membership %+v %v", m, found)
	}
	if log := w.changes(t, w.ten.AccountID, "user.created"); len(log) != 1 || log[0].SubjectID != u.ID {
		t.Fatalf("change log %+v", log)
	}
	me := callerOf(w.ten, u.ID, w.ten.AccountID, access.RoleAdmin)

	// Not before the address is proven: no invitations.
	wantKind(t, "invite while unverified", w.invite(me, "friend-"+addr), apperr.KindForbidden, "email_unverified")

	// The right password opens no session: a code goes to the address.
	_, err = signInAs(w, addr, addedPassword, "")
	wantKind(t, "first sign-in", err, apperr.KindForbidden, "email_code_required")
	code := latestCode(t, addr)
	signed, err := signInAs(w, addr, addedPassword, code)
	wantKind(t, "sign in with the code", err, ok)
	if signed.UserID != u.ID || signed.AccountID != w.ten.AccountID {
		t.Fatalf("signed %+v", signed)
	}
	if w.user(t, u.ID).EmailUnverified {
		t.Fatal("the address is still unverified after the proof")
	}
	if log := w.changes(t, w.ten.AccountID, "user.email_verified"); len(log) != 1 {
		t.Fatalf("change log %+v", log)
	}
	// The code is used up; later sign-ins are plain and send nothing.
	before := len(inbox(t, addr))
	_, err = signInAs(w, addr, addedPassword, "")
	wantKind(t, "later sign-in", err, ok)
	if n := len(inbox(t, addr)); n != before {
		t.Fatalf("a plain sign-in sent %d emails", n-before)
	}
	wantKind(t, "invite once verified", w.invite(me, "friend-"+addr), ok)
}

// generate: true emails a password to the user, which works (after the code).
func TestAddedUserWithAGeneratedPassword(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	addr := "gen-" + w.env.IDs.NewID()[20:] + "@example.org"
	added, err := w.addUser(t, w.admin(), addr, nil, true)
	wantKind(t, "add user", err, ok)
	if !added.Emailed {
		t.Fatalf("not emailed: %+v", added)
	}
	var password string
	for _, m := range inbox(t, addr) {
		if m.Subject == "Your new user" {
			if p := regexp.MustCompile(`(?m)^    (\S+)$`).FindStringSubmatch(m.Body.Text); p != nil {
				password = p[1]
			}
		}
	}
	if len(password) < 20 {
		t.Fatalf("no generated password in %+v", inbox(t, addr))
	}
	_, err = signInAs(w, addr, password, "")
	wantKind(t, "first sign-in", err, apperr.KindForbidden, "email_code_required")
	signed, err := signInAs(w, addr, password, latestCode(t, addr))
	wantKind(t, "sign in", err, ok)
	if signed.UserID != added.User.ID {
		t.Fatalf("signed %+v", signed)
	}
}

// A taken address is 409 and nothing is written.
func TestAddUserWithATakenEmail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pk := w.ten.Account(w.ten.AccountID).PK
	items := w.env.Items(t, pk)
	_, err := w.addUser(t, w.admin(), strings.ToUpper(w.ten.AdminEmail), []string{access.RoleViewer}, false)
	wantKind(t, "add a taken email", err, apperr.KindConflict, "email_taken")
	if n := w.env.Items(t, pk); n != items {
		t.Fatalf("the account partition has %d items, had %d", n, items)
	}
	if len(w.changes(t, w.ten.AccountID, "user.created")) != 0 {
		t.Fatal("a change was logged")
	}
}

// Nobody grants above their rights: a users.invite-only role adds Viewers,
// not Admins; operators only switched in.
func TestAddUserGrantCeiling(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.customRole(t, "Recruiter", access.InviteUsers)
	_, recruiter := w.member(t, w.ten.AccountID, "recruiter-"+w.env.IDs.NewID()[20:]+"@example.org", "Recruiter")
	pk := w.ten.Account(w.ten.AccountID).PK
	items := w.env.Items(t, pk)
	_, err := w.addUser(t, recruiter, "boss-"+w.env.IDs.NewID()[20:]+"@example.org", []string{access.RoleAdmin}, false)
	wantKind(t, "a recruiter adds an Admin", err, apperr.KindForbidden, "grant_exceeds_rights")
	if n := w.env.Items(t, pk); n != items {
		t.Fatalf("the account partition has %d items, had %d", n, items)
	}
	_, err = w.addUser(t, recruiter, "clerk-"+w.env.IDs.NewID()[20:]+"@example.org", []string{access.RoleViewer}, false)
	wantKind(t, "a recruiter adds a Viewer", err, ok)

	_, viewer := w.member(t, w.ten.AccountID, "viewer-"+w.env.IDs.NewID()[20:]+"@example.org", access.RoleViewer)
	_, err = w.addUser(t, viewer, "v-"+w.env.IDs.NewID()[20:]+"@example.org", []string{access.RoleViewer}, false)
	wantKind(t, "a viewer adds a user", err, apperr.KindForbidden)

	op := w.operator(t)
	_, err = w.addUser(t, op, "o-"+w.env.IDs.NewID()[20:]+"@example.org", []string{access.RoleViewer}, false)
	wantKind(t, "an operator not switched in", err, apperr.KindForbidden, "switch_required")
}

// The admin's re-entered password is checked: a wrong one adds nothing.
func TestAddUserChecksTheAdminPassword(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cmd, err := administration.AddUserRequest{Email: "x-" + w.env.IDs.NewID()[20:] + "@example.org", FirstName: "X", LastName: "Y",
		AdminPassword: "Wrong-Password-99", Password: addedPassword}.Command(w.admin(), w.ten.AccountID, "198.51.100.4")
	wantKind(t, "command", err, ok)
	_, err = w.adm.AddUser(ctx, cmd)
	if e, isApp := apperr.As(err); !isApp || (e.Kind != apperr.KindUnprocessable && e.Kind != apperr.KindForbidden) {
		t.Fatalf("wrong admin password: %v", err)
	}
	if len(w.changes(t, w.ten.AccountID, "user.created")) != 0 {
		t.Fatal("a user was added")
	}
}

// A wrong code is a failed attempt in the one limiter: after the limit,
// 429 even with the right code. An expired code is reported as expired.
func TestWrongEmailCodesCountInTheLimiter(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	addr := "guess-" + w.env.IDs.NewID()[20:] + "@example.org"
	_, err := w.addUser(t, w.admin(), addr, nil, false)
	wantKind(t, "add user", err, ok)

	_, err = signInAs(w, addr, addedPassword, "")
	wantKind(t, "challenge", err, apperr.KindForbidden, "email_code_required")
	code := latestCode(t, addr)
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	// The default lets 5 attempts per email and client address in 15
	// minutes: the challenge was one.
	for i := 0; i < 4; i++ {
		_, err = signInAs(w, addr, addedPassword, wrong)
		wantKind(t, "wrong code", err, apperr.KindUnauthenticated, "wrong_email_code")
	}
	_, err = signInAs(w, addr, addedPassword, code)
	wantKind(t, "the right code after the limit", err, apperr.KindRateLimited)
	if !w.user(t, w.userIDByEmail(t, addr)).EmailUnverified {
		t.Fatal("verified through a locked limiter")
	}

	// After the lock-out a new code is needed once the old one expired.
	w.env.Clock.Advance(auth.EmailCodeTTL + time.Minute)
	_, err = signInAs(w, addr, addedPassword, code)
	wantKind(t, "an expired code", err, apperr.KindUnauthenticated, "email_code_expired")
	_, err = signInAs(w, addr, addedPassword, "")
	wantKind(t, "a new challenge", err, apperr.KindForbidden, "email_code_required")
	_, err = signInAs(w, addr, addedPassword, code)
	if code != latestCode(t, addr) {
		wantKind(t, "the replaced code", err, apperr.KindUnauthenticated, "wrong_email_code")
	}
	_, err = signInAs(w, addr, addedPassword, latestCode(t, addr))
	wantKind(t, "the new code", err, ok)
}

func (w *world) userIDByEmail(t *testing.T, addr string) string {
	t.Helper()
	var claim identity.EmailClaim
	addr, _ = identity.NormalizeEmail(addr)
	if found, err := w.env.Store.Get(ctx, w.ten.EmailClaim(addr), &claim); err != nil || !found {
		t.Fatalf("claim of %s: %v %v", addr, found, err)
	}
	return claim.UserID
}
