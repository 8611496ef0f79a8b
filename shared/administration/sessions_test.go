package administration_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

func (w *world) auth() *auth.Service {
	return &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
}

// signIn opens a session of u and returns its token.
func (w *world) signIn(t testing.TB, emailAddr, password string) string {
	t.Helper()
	s, err := w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: emailAddr, Password: password})
	if err != nil {
		t.Fatalf("sign in %s: %v", emailAddr, err)
	}
	return s.Token
}

func (w *world) authorized(token string) error {
	_, err := w.auth().Authorize(ctx, token)
	return err
}

func TestOwnPasswordChangeRevokesTheOtherSessions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	u, _ := w.member(t, w.ten.AccountID, "changer@example.org")
	phone := w.signIn(t, u.Email, u.Password)
	laptop := w.signIn(t, u.Email, u.Password)
	me, err := w.auth().Authorize(ctx, laptop)
	wantKind(t, "authorize", err, ok)

	for name, tc := range map[string]struct {
		req   administration.OwnPasswordRequest
		field string
	}{
		"confirmation differs": {administration.OwnPasswordRequest{CurrentPassword: u.Password, NewPassword: "Copper-Lantern-58-Ridge", Confirmation: "Copper-Lantern-58-Ridgf"}, "confirmation"},
		"same as before":       {administration.OwnPasswordRequest{CurrentPassword: u.Password, NewPassword: u.Password, Confirmation: u.Password}, "newPassword"},
	} {
		_, err := tc.req.Command(me, "", "")
		if e, _ := apperr.As(err); e == nil || e.Fields[0].Field != tc.field {
			t.Errorf("%s: %v", name, err)
		}
	}
	change := func(current, next string) (auth.Signed, error) {
		cmd, err := administration.OwnPasswordRequest{CurrentPassword: current, NewPassword: next, Confirmation: next}.Command(me, "203.0.113.9", "test")
		if err != nil {
			return auth.Signed{}, err
		}
		return w.adm.ChangeOwnPassword(ctx, cmd)
	}
	_, err = change("Wrong-Password-11-Guess", "Copper-Lantern-58-Ridge")
	wantKind(t, "wrong current password", err, apperr.KindForbidden, "wrong_password")
	wantFields(t, "wrong current password", err, "currentPassword", "wrong_password")
	_, err = change("Wrong-Password-12-Guess", "short")
	wantKind(t, "a wrong current password before a bad new one", err, apperr.KindForbidden, "wrong_password")
	_, err = change(u.Password, "Password1234!")
	wantKind(t, "a blocklisted password", err, apperr.KindUnprocessable)
	wantFields(t, "a blocklisted password", err, "newPassword", identity.CodePasswordCommon)
	_, err = change(u.Password, "short")
	wantKind(t, "too short", err, apperr.KindUnprocessable)
	wantFields(t, "too short", err, "newPassword", identity.CodePasswordTooShort, identity.CodePasswordNeedsUppercase,
		identity.CodePasswordNeedsDigit, identity.CodePasswordNeedsSpecial)

	long := strings.Repeat("Long-Pass-9 ", 8) // 96 characters: never truncated, always allowed
	signed, err := change(u.Password, long)
	wantKind(t, "change", err, ok)
	wantKind(t, "the new session", w.authorized(signed.Token), ok)
	wantKind(t, "the phone's session", w.authorized(phone), apperr.KindUnauthenticated)
	wantKind(t, "the old session of this device", w.authorized(laptop), apperr.KindUnauthenticated)
	if _, err := w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: long[:72]}); !auth.IsInvalidCredentials(err) {
		t.Fatalf("a truncated password signed in: %v", err)
	}
	w.signIn(t, u.Email, long)
	stored := w.user(t, u.ID)
	if strings.Contains(stored.PasswordHash, long) || !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
		t.Fatal("not an argon2id hash")
	}
	log := w.changes(t, w.ten.AccountID, "user.password_changed")
	if len(log) != 1 || strings.Contains(fmt.Sprint(log[0].Before, log[0].After), long) {
		t.Fatalf("log %+v", log)
	}
}

func TestWrongCurrentPasswordsLockLikeSignIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	u, me := w.member(t, w.ten.AccountID, "guessed@example.org")
	for i := range tenancy.DefaultLimits.PerClientFailures {
		_, err := w.adm.ChangeOwnPassword(ctx, administration.ChangeOwnPassword{Caller: me, Current: fmt.Sprintf("Guess-%d-Wrong-Pass", i), New: "Copper-Lantern-58-Ridge"})
		wantKind(t, "guess", err, apperr.KindForbidden, "wrong_password")
	}
	_, err := w.adm.ChangeOwnPassword(ctx, administration.ChangeOwnPassword{Caller: me, Current: u.Password, New: "Copper-Lantern-58-Ridge"})
	wantKind(t, "locked even with the right one", err, apperr.KindRateLimited)
	_, err = w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: u.Password})
	wantKind(t, "sign-in is locked too", err, apperr.KindRateLimited)
}

// A wrong admin password is 403 wrong_password, counted by the same
// limiter: after the limit even the right one is refused unverified (429).
func TestWrongAdminPasswordsAreForbiddenAndLock(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	target, _ := w.member(t, w.ten.AccountID, "reset@example.org")
	before := w.user(t, target.ID).Version
	const ip = "198.51.100.77"
	for i := range tenancy.DefaultLimits.PerClientFailures {
		_, err := w.adm.SetPassword(ctx, administration.SetPassword{Caller: w.admin(), UserID: target.ID, AdminPassword: fmt.Sprintf("Guess-%d-Wrong-Pass", i),
			Password: "Copper-Lantern-58-Ridge", IP: ip})
		wantKind(t, "guess", err, apperr.KindForbidden, "wrong_password")
	}
	_, err := w.adm.SetPassword(ctx, administration.SetPassword{Caller: w.admin(), UserID: target.ID, AdminPassword: testkit.Password,
		Password: "Copper-Lantern-58-Ridge", IP: ip})
	wantKind(t, "locked even with the right one", err, apperr.KindRateLimited)
	if got := w.user(t, target.ID); got.Version != before {
		t.Fatalf("the password was set while locked: version %d", got.Version)
	}
}

// wantFields fails unless err lists exactly codes, in order, all on field.
func wantFields(t testing.TB, what string, err error, field string, codes ...string) {
	t.Helper()
	e, _ := apperr.As(err)
	if e == nil || len(e.Fields) != len(codes) {
		t.Fatalf("%s: want %s %v, got %v", what, field, codes, err)
	}
	for i, f := range e.Fields {
		if f.Field != field || f.Code != codes[i] || f.Detail == "" {
			t.Fatalf("%s: field %d is %+v, want %s %s", what, i, f, field, codes[i])
		}
	}
}

func TestAdminSetsAPasswordAfterReenteringTheirOwn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	u, _ := w.member(t, w.ten.AccountID, "forgetful@example.org")
	session := w.signIn(t, u.Email, u.Password)
	_, viewer := w.member(t, w.ten.AccountID, "viewer@example.org")
	set := func(c access.Caller, r administration.AdminPasswordRequest) (administration.PasswordSet, error) {
		cmd, err := r.Command(c, u.ID, "198.51.100.7")
		if err != nil {
			return administration.PasswordSet{}, err
		}
		return w.adm.SetPassword(ctx, cmd)
	}
	_, err := set(w.admin(), administration.AdminPasswordRequest{AdminPassword: "not-mine", Password: "Copper-Lantern-58-Ridge"})
	wantKind(t, "wrong admin password", err, apperr.KindForbidden, "wrong_password")
	wantFields(t, "wrong admin password", err, "adminPassword", "wrong_password")
	_, err = set(w.admin(), administration.AdminPasswordRequest{AdminPassword: testkit.Password, Password: "lantern"})
	wantKind(t, "a weak password for the user", err, apperr.KindUnprocessable)
	wantFields(t, "a weak password for the user", err, "password", identity.CodePasswordTooShort, identity.CodePasswordNeedsUppercase,
		identity.CodePasswordNeedsDigit, identity.CodePasswordNeedsSpecial)
	_, err = set(viewer, administration.AdminPasswordRequest{AdminPassword: testkit.Password, Password: "Copper-Lantern-58-Ridge"})
	wantKind(t, "a viewer", err, apperr.KindForbidden)
	_, err = set(w.admin(), administration.AdminPasswordRequest{AdminPassword: testkit.Password, Password: "Copper-Lantern-58-Ridge", Generate: true})
	wantKind(t, "both a password and generate", err, apperr.KindUnprocessable)
	_, err = w.adm.SetPassword(ctx, administration.SetPassword{Caller: w.admin(), UserID: w.ten.AdminID, AdminPassword: testkit.Password, Password: "Copper-Lantern-58-Ridge"})
	wantKind(t, "own password this way", err, apperr.KindConflict, "not_yourself")

	_, err = set(w.admin(), administration.AdminPasswordRequest{AdminPassword: testkit.Password, Password: "Copper-Lantern-58-Ridge"})
	wantKind(t, "set", err, ok)
	wantKind(t, "their old session", w.authorized(session), apperr.KindUnauthenticated)
	w.signIn(t, u.Email, "Copper-Lantern-58-Ridge")

	res, err := set(w.admin(), administration.AdminPasswordRequest{AdminPassword: testkit.Password, Generate: true})
	wantKind(t, "generate", err, ok)
	if !res.Emailed {
		t.Fatal("not emailed")
	}
	if len(w.changes(t, w.ten.AccountID, "user.password_set")) != 2 {
		t.Fatal("not logged")
	}
}

func TestGeneratedPasswordsMeetTheDefaultPolicy(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		p := administration.GeneratePassword(20)
		if len(p) != 20 || seen[p] {
			t.Fatalf("%q", p)
		}
		seen[p] = true
		if err := identity.DefaultPasswordPolicy.Check("password", p, "someone@example.org"); err != nil {
			t.Fatalf("%q: %v", p, err)
		}
	}
}

func TestSuspendReactivateAndSignOutEverywhere(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	u, _ := w.member(t, w.ten.AccountID, "suspect@example.org")
	session := w.signIn(t, u.Email, u.Password)

	_, err := w.adm.Suspend(ctx, w.admin(), w.ten.AdminID)
	wantKind(t, "suspend yourself", err, apperr.KindConflict, "not_yourself")
	_, viewer := w.member(t, w.ten.AccountID, "viewer@example.org")
	_, err = w.adm.Suspend(ctx, viewer, u.ID)
	wantKind(t, "a viewer suspends", err, apperr.KindForbidden)

	_, err = w.adm.Suspend(ctx, w.admin(), u.ID)
	wantKind(t, "suspend", err, ok)
	wantKind(t, "their session at once", w.authorized(session), apperr.KindUnauthenticated)
	_, err = w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: u.Password})
	wantKind(t, "sign in while suspended", err, apperr.KindForbidden, "user_suspended")
	if page, _ := w.dir.Members(ctx, directory.MemberQuery{Caller: w.admin(), AccountID: w.ten.AccountID, Email: "suspect", Limit: 5}); page.Members[0].Status != identity.UserSuspended {
		t.Fatalf("listed as %+v", page.Members)
	}

	_, err = w.adm.Reactivate(ctx, w.admin(), u.ID)
	wantKind(t, "reactivate", err, ok)
	wantKind(t, "the old session stays revoked", w.authorized(session), apperr.KindUnauthenticated)
	again := w.signIn(t, u.Email, u.Password)
	other := w.signIn(t, u.Email, u.Password)

	wantKind(t, "sign out everywhere", w.adm.SignOutEverywhere(ctx, w.admin(), u.ID), ok)
	for _, s := range []string{again, other} {
		wantKind(t, "after sign-out everywhere", w.authorized(s), apperr.KindUnauthenticated)
	}
	for _, action := range []string{"user.suspended", "user.reactivated", "user.signed_out_everywhere"} {
		if len(w.changes(t, w.ten.AccountID, action)) != 1 {
			t.Errorf("%s not logged", action)
		}
	}
}

func TestSuspendingTheLastAdminIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	acct := w.env.AddAccount(t, w.ten, "Run by one")
	a, _ := w.member(t, acct, "only@admin.example", access.RoleAdmin)
	op := supportIn(w.operator(t), acct) // suspending a customer's user is account work
	_, err := w.adm.Suspend(ctx, op, a.ID)
	wantKind(t, "suspend the only admin", err, apperr.KindConflict, "last_admin")
	b, _ := w.member(t, acct, "second@admin.example", access.RoleAdmin)
	_, err = w.adm.Suspend(ctx, op, b.ID)
	wantKind(t, "suspend one of two", err, ok)
	// A suspended admin does not count.
	_, err = w.adm.SetRoles(ctx, administration.SetRoles{Caller: op, AccountID: acct, UserID: a.ID, Roles: []string{access.RoleViewer}})
	wantKind(t, "demote the remaining active admin", err, apperr.KindConflict, "last_admin")
}

func TestDeleteUsersInBulk(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	second := w.env.AddAccount(t, w.ten, "Second")
	leaver, _ := w.member(t, w.ten.AccountID, "leaver@example.org")
	w.env.AddMembership(t, w.ten, second, leaver.ID, leaver.Email, access.RoleViewer)
	session := w.signIn(t, leaver.Email, leaver.Password)
	soleAdmin, _ := w.member(t, second, "boss@second.example", access.RoleAdmin)
	w.seats(t, op, w.ten.AccountID, "standard", 10)
	used := w.pool(t, w.ten.AccountID, "standard").Used

	cmd, err := administration.DeleteUsersRequest{UserIDs: []string{leaver.ID, w.ten.AdminID, "nobody", leaver.ID, soleAdmin.ID}}.Command(w.admin())
	wantKind(t, "command", err, ok)
	rep := w.adm.DeleteUsers(ctx, cmd, func(k apperr.Kind) int { return int(k) })
	got := map[string]string{}
	for _, r := range rep.Results {
		got[r.UserID] = r.Outcome + "/" + r.Code
	}
	want := map[string]string{leaver.ID: "deleted/", w.ten.AdminID: "failed/not_yourself", "nobody": "failed/not_found",
		soleAdmin.ID: "failed/forbidden"} // boss's home account is Second, where the caller is no one
	if len(rep.Results) != 4 || rep.Deleted != 1 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("report %+v", rep)
	}
	// The leaver is gone everywhere, their address is free, their sessions end.
	for _, a := range []string{w.ten.AccountID, second} {
		if _, found := w.membership(t, a, leaver.ID); found {
			t.Errorf("still a member of %s", a)
		}
		if len(w.changes(t, a, "user.deleted")) != 1 {
			t.Errorf("not logged in %s", a)
		}
	}
	if w.exists(t, w.ten.EmailClaim(leaver.Email)) {
		t.Error("the email claim stayed")
	}
	tomb := w.user(t, leaver.ID)
	if tomb.Status != identity.UserDeleted || tomb.PasswordHash != "" || tomb.GSI2PK != "" || tomb.FirstName == "" {
		t.Errorf("tombstone %+v", tomb)
	}
	wantKind(t, "their session", w.authorized(session), apperr.KindUnauthenticated)
	if p := w.pool(t, w.ten.AccountID, "standard"); p.Used != used-1 {
		t.Errorf("seat not freed: %+v (was %d)", p, used)
	}
	_, err = w.dir.User(ctx, w.admin(), leaver.ID)
	wantKind(t, "a deleted user's profile", err, apperr.KindNotFound)
	w.member(t, w.ten.AccountID, leaver.Email) // the address can be used again

	// The operator may delete the sole admin of Second? No: the account would have no admin.
	err = w.adm.DeleteUser(ctx, supportIn(op, second), soleAdmin.ID)
	wantKind(t, "delete a last admin", err, apperr.KindConflict, "last_admin")
	_, err = administration.DeleteUsersRequest{}.Command(w.admin())
	wantKind(t, "no ids", err, apperr.KindUnprocessable)
}

// Two admins removing each other from their account at the same moment:
// exactly one succeeds.
func TestTwoAdminsRemovingEachOtherAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for round := range raceRounds {
		acct := w.env.AddAccount(t, w.ten, "Duel")
		a, asA := w.quickMember(t, acct, fmt.Sprintf("a%d@duel.example", round), access.RoleAdmin)
		b, asB := w.quickMember(t, acct, fmt.Sprintf("b%d@duel.example", round), access.RoleAdmin)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range []access.Caller{asA, asB} {
			target := []string{b.ID, a.ID}[i]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = w.adm.RemoveMembership(ctx, c, acct, target)
			}()
		}
		close(start)
		wg.Wait()
		left := 0
		for _, id := range []string{a.ID, b.ID} {
			if _, found := w.membership(t, acct, id); found {
				left++
			}
		}
		won := slices.IndexFunc(errs, func(err error) bool { return err == nil })
		lost := slices.IndexFunc(errs, func(err error) bool { return errors.Is(err, administration.ErrLastAdmin) })
		if won < 0 || lost < 0 || left != 1 {
			t.Fatalf("round %d: %v, %d members left", round, errs, left)
		}
	}
}

func TestRemovingAnExternalUsersAccess(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	home := w.env.AddAccount(t, w.ten, "Consultancy")
	consultant, _ := w.member(t, home, "consultant@consult.example", access.RoleAdmin)
	w.env.AddMembership(t, w.ten, w.ten.AccountID, consultant.ID, consultant.Email, access.RoleViewer)
	_, viewer := w.member(t, w.ten.AccountID, "viewer@example.org")

	wantKind(t, "a viewer removes", w.adm.RemoveMembership(ctx, viewer, w.ten.AccountID, consultant.ID), apperr.KindForbidden)
	wantKind(t, "the admin removes", w.adm.RemoveMembership(ctx, w.admin(), w.ten.AccountID, consultant.ID), ok)
	if _, found := w.membership(t, w.ten.AccountID, consultant.ID); found {
		t.Fatal("still a member")
	}
	if _, found := w.membership(t, home, consultant.ID); !found || w.user(t, consultant.ID).Status != identity.UserActive {
		t.Fatal("removed from their own account too")
	}
	wantKind(t, "again", w.adm.RemoveMembership(ctx, w.admin(), w.ten.AccountID, consultant.ID), apperr.KindNotFound, "not_member")
	if len(w.changes(t, w.ten.AccountID, "membership.removed")) != 1 {
		t.Fatal("not logged")
	}
	// Anyone may leave an account, even their home (which then moves), but
	// not their only one: that would delete them (see
	// TestRemovingAUserFromTheirOnlyAccountDeletesThem).
	u, me := w.member(t, w.ten.AccountID, "goer@example.org")
	w.env.AddMembership(t, w.ten, home, u.ID, u.Email, access.RoleViewer)
	wantKind(t, "leave", w.adm.RemoveMembership(ctx, me, w.ten.AccountID, u.ID), ok)
	if got := w.user(t, u.ID); got.HomeAccountID != home {
		t.Fatalf("the home of a user who left it: %q", got.HomeAccountID)
	}
}
