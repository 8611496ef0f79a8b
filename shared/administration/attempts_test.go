package administration_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"

	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/tenancy"
)

// Every password check goes through the one limiter: 50 concurrent wrong
// current passwords, admin re-entries and sign-ins for one email, from one
// client, verify no more than the limit between them; every other one is
// refused unverified (429).
func TestConcurrentPasswordChecksShareOneLimit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const ip = "198.51.100.5"
	target, _ := w.member(t, w.ten.AccountID, "target@example.org")
	me := w.admin()
	const n = 51
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			guess := fmt.Sprintf("Wrong-Guess-%02d-x", i)
			switch i % 3 {
			case 0:
				_, errs[i] = w.adm.ChangeOwnPassword(ctx, administration.ChangeOwnPassword{Caller: me, Current: guess, New: "Copper-Lantern-58-Ridge", IP: ip})
			case 1:
				_, errs[i] = w.adm.SetPassword(ctx, administration.SetPassword{Caller: me, UserID: target.ID, AdminPassword: guess, Password: "Copper-Lantern-58-Ridge", IP: ip})
			default:
				_, errs[i] = w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: w.ten.AdminEmail, Password: guess, IP: ip})
			}
		}()
	}
	close(start)
	wg.Wait()
	verified := 0
	for i, err := range errs {
		switch apperr.KindOf(err) {
		case apperr.KindForbidden, apperr.KindUnauthenticated: // a wrong password, verified
			verified++
		case apperr.KindRateLimited:
		default:
			t.Fatalf("check %d: %v", i, err)
		}
	}
	if limit := tenancy.DefaultLimits.PerClientFailures; verified > limit {
		t.Fatalf("%d of %d concurrent checks verified a password, limit %d", verified, n, limit)
	}
	_, err := w.adm.ChangeOwnPassword(ctx, administration.ChangeOwnPassword{Caller: me, Current: w.ten.AdminPassword, New: "Copper-Lantern-58-Ridge", IP: ip})
	wantKind(t, "the right current password while locked", err, apperr.KindRateLimited)
}

// The throttles are tenant settings with safe defaults: operators change
// them (0 keeps a default), out-of-range values are refused, and the
// limiter applies them at once.
func TestLimitsAreTenantSettings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	_, err := administration.SettingsRequest{Limits: &tenancy.Limits{PerClientFailures: 1000}}.Command(op, 0)
	wantKind(t, "out of range", err, apperr.KindUnprocessable)
	cmd, err := administration.SettingsRequest{Limits: &tenancy.Limits{PerClientFailures: 2}}.Command(op, 0)
	wantKind(t, "command", err, ok)
	s, err := w.adm.UpdateSettings(ctx, cmd)
	wantKind(t, "update", err, ok)
	if l := s.Limit(); l.PerClientFailures != 2 || l.PerEmailFailures != tenancy.DefaultLimits.PerEmailFailures {
		t.Fatalf("limits %+v", l)
	}
	_, err = w.adm.UpdateSettings(ctx, administration.UpdateSettings{Caller: w.admin(), Limits: &tenancy.Limits{PerClientFailures: 100}})
	wantKind(t, "an Admin changes the limits", err, apperr.KindForbidden)
	sign := func(password string) error {
		_, err := w.auth().SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: w.ten.AdminEmail, Password: password, IP: "198.51.100.9"})
		return err
	}
	wantKind(t, "first wrong", sign("Wrong-Password-1"), apperr.KindUnauthenticated)
	wantKind(t, "second wrong", sign("Wrong-Password-2"), apperr.KindUnauthenticated)
	wantKind(t, "locked after two", sign(w.ten.AdminPassword), apperr.KindRateLimited)
}

// A look-alike address is refused where an email changes, saying why.
func TestAConfusableEmailIsRefusedWithItsReason(t *testing.T) {
	bad := "\u0430dmin@example.org" // a Cyrillic а
	_, err := administration.ProfileRequest{Email: &bad}.Command(w0(), "u1", 0)
	e, _ := apperr.As(err)
	if e == nil || e.Kind != apperr.KindUnprocessable || len(e.Fields) != 1 || e.Fields[0].Code != "confusable_email" ||
		!strings.Contains(e.Fields[0].Detail, "Cyrillic") {
		t.Fatalf("confusable email change: %v %+v", err, e)
	}
}

func w0() access.Caller { return access.Caller{UserID: "u0"} }
