package administration_test

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/testkit"
)

func ptr(s string) *string { return &s }

func TestProfileRequestValidation(t *testing.T) {
	t.Parallel()
	c := access.Caller{}
	cases := []struct {
		name string
		req  administration.ProfileRequest
		bad  []string // fields reported
	}{
		{"names", administration.ProfileRequest{FirstName: ptr(" Ada "), LastName: ptr("Lovelace")}, nil},
		{"E.164 phone", administration.ProfileRequest{Phone: ptr("+447700900123")}, nil},
		{"clear phone and time zone", administration.ProfileRequest{Phone: ptr(""), TimeZone: ptr("")}, nil},
		{"IANA time zone", administration.ProfileRequest{TimeZone: ptr("America/Argentina/Buenos_Aires")}, nil},
		{"nothing", administration.ProfileRequest{}, []string{"(body)"}},
		{"blank first name", administration.ProfileRequest{FirstName: ptr("  ")}, []string{"firstName"}},
		{"control characters", administration.ProfileRequest{LastName: ptr("a\x00b")}, []string{"lastName"}},
		{"long name", administration.ProfileRequest{LastName: ptr(strings.Repeat("é", 101))}, []string{"lastName"}},
		{"national phone", administration.ProfileRequest{Phone: ptr("07700 900123")}, []string{"phone"}},
		{"phone with spaces", administration.ProfileRequest{Phone: ptr("+44 7700 900123")}, []string{"phone"}},
		{"phone too long", administration.ProfileRequest{Phone: ptr("+1234567890123456")}, []string{"phone"}},
		{"phone country 0", administration.ProfileRequest{Phone: ptr("+0447700900123")}, []string{"phone"}},
		{"made-up zone", administration.ProfileRequest{TimeZone: ptr("Mars/Olympus_Mons")}, []string{"timeZone"}},
		{"Local is the server's", administration.ProfileRequest{TimeZone: ptr("Local")}, []string{"timeZone"}},
		{"path in zone", administration.ProfileRequest{TimeZone: ptr("../../etc/passwd")}, []string{"timeZone"}},
		{"email", administration.ProfileRequest{Email: ptr("not an email")}, []string{"email"}},
		{"all bad at once", administration.ProfileRequest{FirstName: ptr(""), Phone: ptr("123"), TimeZone: ptr("X")}, []string{"firstName", "phone", "timeZone"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.req.Command(c, "u", 0)
			e, _ := apperr.As(err)
			var got []string
			if e != nil {
				for _, f := range e.Fields {
					got = append(got, f.Field)
				}
			}
			if !slices.Equal(got, tc.bad) {
				t.Errorf("fields %v, want %v (%v)", got, tc.bad, err)
			}
		})
	}
}

func TestUsersEditTheirOwnProfileButNotTheirEmail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	u, me := w.member(t, w.ten.AccountID, "self@example.org", access.RoleViewer)
	cmd, err := administration.ProfileRequest{FirstName: ptr("Grace"), Phone: ptr("+14155550100"), TimeZone: ptr("Europe/Paris")}.Command(me, u.ID, 1)
	wantKind(t, "command", err, ok)
	got, err := w.adm.EditProfile(ctx, cmd)
	wantKind(t, "own profile", err, ok)
	stored := w.user(t, u.ID)
	if stored.FirstName != "Grace" || stored.Phone != "+14155550100" || stored.TimeZone != "Europe/Paris" || stored.Version != 2 || got.User.Version != 2 {
		t.Fatalf("stored %+v", stored)
	}
	log := w.changes(t, w.ten.AccountID, "user.profile_changed")
	if len(log) != 1 || log[0].After["firstName"] != "Grace" || log[0].Before["firstName"] != "Test" || log[0].SubjectID != u.ID {
		t.Fatalf("change log %+v", log)
	}
	// Clearing the phone removes it.
	_, err = w.adm.EditProfile(ctx, administration.EditProfile{Caller: me, UserID: u.ID, Phone: ptr(""), IfMatch: 2})
	wantKind(t, "clear phone", err, ok)
	if w.user(t, u.ID).Phone != "" {
		t.Fatal("phone kept")
	}
	// A stale ETag changes nothing.
	_, err = w.adm.EditProfile(ctx, administration.EditProfile{Caller: me, UserID: u.ID, LastName: ptr("Stale"), IfMatch: 2})
	wantKind(t, "stale", err, apperr.KindPreconditionFailed)
	// Their own email, no.
	_, err = w.adm.EditProfile(ctx, administration.EditProfile{Caller: me, UserID: u.ID, Email: ptr("new-self@example.org")})
	wantKind(t, "own email", err, apperr.KindForbidden)
	if w.user(t, u.ID).Email != "self@example.org" {
		t.Fatal("email changed")
	}
}

func TestProfilePermissionMatrix(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	other := w.env.AddAccount(t, w.ten, "Other")
	target, _ := w.member(t, w.ten.AccountID, "target@example.org", access.RoleViewer)
	_, viewer := w.member(t, w.ten.AccountID, "viewer@example.org", access.RoleViewer)
	_, otherAdmin := w.member(t, other, "admin@other.example", access.RoleAdmin)
	foreign := newWorld(t)

	for _, tc := range []struct {
		who    string
		caller access.Caller
		on     *world
		want   apperr.Kind
	}{
		{"viewer of the home account", viewer, w, apperr.KindForbidden},
		{"admin of another account", otherAdmin, w, apperr.KindForbidden},
		{"admin of another tenant", foreign.admin(), foreign, apperr.KindNotFound},
		{"admin of the home account", w.admin(), w, ok},
	} {
		_, err := tc.on.adm.EditProfile(ctx, administration.EditProfile{Caller: tc.caller, UserID: target.ID, LastName: ptr("By " + tc.who)})
		wantKind(t, tc.who+" edits", err, tc.want)
		_, err = tc.on.dir.User(ctx, tc.caller, target.ID)
		if tc.who == "viewer of the home account" {
			wantKind(t, tc.who+" reads", err, ok) // a member of the same account reads the profile
		} else {
			wantKind(t, tc.who+" reads", err, tc.want)
		}
	}
}

func TestAdminChangesAnEmailAndUniquenessFollows(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	second := w.env.AddAccount(t, w.ten, "Second")
	u, _ := w.member(t, w.ten.AccountID, "old@example.org", access.RoleViewer)
	w.env.AddMembership(t, w.ten, second, u.ID, u.Email, access.RoleViewer)
	taken, _ := w.member(t, w.ten.AccountID, "taken@example.org", access.RoleViewer)

	_, err := w.adm.EditProfile(ctx, administration.EditProfile{Caller: w.admin(), UserID: u.ID, Email: ptr(taken.Email)})
	wantKind(t, "taken email", err, apperr.KindConflict, "email_taken")

	_, err = w.adm.EditProfile(ctx, administration.EditProfile{Caller: w.admin(), UserID: u.ID, Email: ptr("new@example.org"), IfMatch: 1})
	wantKind(t, "change email", err, ok)
	if w.exists(t, w.ten.EmailClaim("old@example.org")) || !w.exists(t, w.ten.EmailClaim("new@example.org")) {
		t.Fatal("the claim did not move")
	}
	for _, a := range []string{w.ten.AccountID, second} {
		if m, _ := w.membership(t, a, u.ID); m.Email != "new@example.org" {
			t.Errorf("membership in %s still says %s", a, m.Email)
		}
		page, err := w.dir.Members(ctx, directory.MemberQuery{Caller: w.admin(), AccountID: w.ten.AccountID, Email: "new@", Limit: 10})
		wantKind(t, "members", err, ok)
		if len(page.Members) != 1 || page.Members[0].UserID != u.ID {
			t.Errorf("members by new email: %+v", page.Members)
		}
	}
	if log := w.changes(t, w.ten.AccountID, "user.email_changed"); len(log) != 1 || log[0].Before["email"] != "old@example.org" {
		t.Fatalf("change log %+v", log)
	}
	// The old address is free again; the user signs in with the new one.
	a := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	if _, err := a.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: "new@example.org", Password: testkit.Password}); err != nil {
		t.Fatalf("sign in with the new email: %v", err)
	}
	if _, err := a.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: "old@example.org", Password: testkit.Password}); !auth.IsInvalidCredentials(err) {
		t.Fatalf("sign in with the old email: %v", err)
	}
	// Both addresses were told.
	box := email.LocalInbox{Endpoint: os.Getenv(awsclient.EnvSESEndpoint)}
	for _, addr := range []string{"old@example.org", "new@example.org"} {
		msgs, err := box.To(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(msgs, func(m email.StoredEmail) bool { return strings.Contains(m.Body.Text, "new@example.org") }) {
			t.Errorf("%s was not told: %+v", addr, msgs)
		}
	}
}

// Two users racing to the same new email: exactly one gets it.
func TestRacingEmailChanges(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.adm.Mail = nil
	const n = 6
	users := make([]testkit.User, n)
	for i := range n {
		users[i], _ = w.member(t, w.ten.AccountID, "racer"+string(rune('a'+i))+"@example.org", access.RoleViewer)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.adm.EditProfile(ctx, administration.EditProfile{Caller: w.admin(), UserID: users[i].ID, Email: ptr("prize@example.org")})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if apperr.KindOf(err) != apperr.KindConflict {
			t.Errorf("loser: %v", err)
		}
	}
	var claim identity.EmailClaim
	if _, err := w.env.Store.Get(ctx, w.ten.EmailClaim("prize@example.org"), &claim); err != nil || won != 1 {
		t.Fatalf("%d won (%v)", won, err)
	}
	if w.user(t, claim.UserID).Email != "prize@example.org" {
		t.Fatal("the claim's user does not have the email")
	}
	owners := 0
	for _, u := range users {
		if w.user(t, u.ID).Email == "prize@example.org" {
			owners++
		}
	}
	if owners != 1 {
		t.Fatalf("%d users have the email", owners)
	}
}

func TestMembersListSearchesFiltersAndPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	other := w.env.AddAccount(t, w.ten, "Consultancy")
	for _, e := range []string{"dana@example.org", "bob@example.org", "carol@example.org", "erin@example.org"} {
		w.member(t, w.ten.AccountID, e, access.RoleViewer)
	}
	ext := w.env.AddUser(t, w.ten, other, "zed@consult.example", "")
	w.env.AddMembership(t, w.ten, w.ten.AccountID, ext.ID, ext.Email, access.RoleViewer)
	// AddMembership marks nobody external; this membership is.
	_, err := w.adm.SetRoles(ctx, administration.SetRoles{Caller: w.admin(), AccountID: w.ten.AccountID, UserID: ext.ID, Roles: []string{access.RoleAdmin, access.RoleViewer}})
	wantKind(t, "roles", err, ok)
	unlicensed := w.env.AddUser(t, w.ten, w.ten.AccountID, "ann@example.org", "-")

	list := func(q directory.MemberQuery) []string {
		q.Caller, q.AccountID, q.Limit = w.admin(), w.ten.AccountID, 2
		var out []string
		for i := 0; ; i++ {
			page, err := w.dir.Members(ctx, q)
			wantKind(t, "members", err, ok)
			for _, m := range page.Members {
				out = append(out, m.Email)
			}
			if page.NextCursor == "" || i > 20 {
				return out
			}
			q.Cursor = page.NextCursor
		}
	}
	all := []string{w.ten.AdminEmail, "ann@example.org", "bob@example.org", "carol@example.org", "dana@example.org", "erin@example.org", "zed@consult.example"}
	slices.Sort(all)
	if got := list(directory.MemberQuery{}); !slices.Equal(got, all) {
		t.Errorf("all: %v", got)
	}
	rev := slices.Clone(all)
	slices.Reverse(rev)
	if got := list(directory.MemberQuery{Desc: true}); !slices.Equal(got, rev) {
		t.Errorf("descending: %v", got)
	}
	if got := list(directory.MemberQuery{Email: "c"}); !slices.Equal(got, []string{"carol@example.org"}) {
		t.Errorf("prefix c: %v", got)
	}
	if got := list(directory.MemberQuery{Role: access.RoleAdmin}); !slices.Equal(got, []string{w.ten.AdminEmail, "zed@consult.example"}) {
		t.Errorf("admins: %v", got)
	}
	if got := list(directory.MemberQuery{Licence: directory.NoLicence}); !slices.Equal(got, []string{unlicensed.Email}) {
		t.Errorf("no licence: %v", got)
	}
	page, err := w.dir.Members(ctx, directory.MemberQuery{Caller: w.admin(), AccountID: w.ten.AccountID, Email: "zed", Limit: 5})
	wantKind(t, "zed", err, ok)
	if z := page.Members[0]; !slices.Equal(z.Roles, []string{"Admin", "Viewer"}) || z.Status != "active" || z.FirstName != "Test" || z.Version != 2 {
		t.Errorf("row %+v", z)
	}
	sheet := directory.MembersCSV(page.Members, time.UTC).String()
	if !strings.HasPrefix(sheet, "kind,user_id,invitation_id,email,first_name,last_name,status,roles,licence,external,joined_at,joined_at_utc,invited_at,invited_at_utc,expires_at,expires_at_utc\r\n") || !strings.Contains(sheet, "Admin;Viewer") {
		t.Errorf("csv %q", sheet)
	}
}
