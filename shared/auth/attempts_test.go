package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

func signInFrom(svc *auth.Service, ten testkit.Tenant, email, password, ip string) error {
	_, err := svc.SignIn(context.Background(), auth.SignIn{Tenant: ten.Tenant, Email: email, Password: password, IP: ip, UserAgent: "test"})
	return err
}

// 50 wrong passwords for one email at the same moment: the attempts are
// counted before the password is verified, so no more than the limit are
// verified (401); every other one is refused unverified (429).
func TestConcurrentGuessesNeverVerifyMoreThanTheLimit(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = signInFrom(svc, ten, ten.AdminEmail, fmt.Sprintf("Wrong-Guess-%02d", i), "198.51.100.1")
		}()
	}
	close(start)
	wg.Wait()
	verified, refused := 0, 0
	for _, err := range errs {
		switch {
		case errors.Is(err, auth.ErrInvalidCredentials):
			verified++
		case apperr.KindOf(err) == apperr.KindRateLimited:
			refused++
		default:
			t.Fatalf("unexpected answer: %v", err)
		}
	}
	if limit := tenancy.DefaultLimits.PerClientFailures; verified > limit || verified+refused != n {
		t.Fatalf("%d guesses verified (limit %d), %d refused", verified, limit, refused)
	}
	// Locked now, even for the right password from the same client.
	if err := signInFrom(svc, ten, ten.AdminEmail, ten.AdminPassword, "198.51.100.1"); apperr.KindOf(err) != apperr.KindRateLimited {
		t.Fatalf("the right password from the locked client: %v", err)
	}
}

// An attacker's failures from one address lock that address out of the
// email, not the rightful user signing in from elsewhere; the attacker's
// lock-out ends when its back-off has passed, and doubles when they go on.
func TestALockoutTheAttackerCannotAimAtTheVictim(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	const attacker, victim = "203.0.113.66", "192.0.2.10"
	limited := 0
	for i := range 100 {
		err := signInFrom(svc, ten, ten.AdminEmail, fmt.Sprintf("Guess-%03d-Wrong", i), attacker)
		if apperr.KindOf(err) == apperr.KindRateLimited {
			limited++
		} else if !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if limited != 100-tenancy.DefaultLimits.PerClientFailures {
		t.Fatalf("%d of 100 guesses refused unverified, want all but %d", limited, tenancy.DefaultLimits.PerClientFailures)
	}
	if err := signInFrom(svc, ten, ten.AdminEmail, ten.AdminPassword, victim); err != nil {
		t.Fatalf("the rightful user from elsewhere: %v", err)
	}
	err := signInFrom(svc, ten, ten.AdminEmail, ten.AdminPassword, attacker)
	e, _ := apperr.As(err)
	if e == nil || e.Kind != apperr.KindRateLimited || e.Extra["retryAfterSeconds"] == nil {
		t.Fatalf("from the attacker's address: %v, want 429 with retryAfterSeconds", err)
	}
	lock := time.Duration(tenancy.DefaultLimits.PerClientLockSecs) * time.Second
	env.Clock.Advance(lock + time.Second)
	// The back-off passed: the attacker guesses again, and the next lock is twice as long.
	for i := range tenancy.DefaultLimits.PerClientFailures {
		if err := signInFrom(svc, ten, ten.AdminEmail, fmt.Sprintf("Again-%d-Wrong", i), attacker); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("after the back-off, guess %d: %v", i, err)
		}
	}
	env.Clock.Advance(lock + time.Second)
	if err := signInFrom(svc, ten, ten.AdminEmail, ten.AdminPassword, attacker); apperr.KindOf(err) != apperr.KindRateLimited {
		t.Fatalf("the second lock-out did not double: %v", err)
	}
	env.Clock.Advance(lock)
	if err := signInFrom(svc, ten, ten.AdminEmail, ten.AdminPassword, attacker); err != nil {
		t.Fatalf("after the doubled back-off: %v", err)
	}
}

// One wrong password for each of 200 emails from one address (spraying):
// refused, unverified, once the address has reached its own limit.
func TestSprayingIsLimitedPerAddress(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	limit := tenancy.DefaultLimits.PerAddressFailures
	first := -1
	for i := range 200 {
		err := signInFrom(svc, ten, fmt.Sprintf("user%03d@sprayed.example", i), "Summer-2026-Password!", "203.0.113.77")
		if apperr.KindOf(err) == apperr.KindRateLimited {
			if first < 0 {
				first = i
				t.Logf("first refusal at %d: %v", i, err)
			}
			continue
		}
		if first >= 0 {
			t.Fatalf("email %d verified after the address was limited at %d: %v", i, first, err)
		}
	}
	if first != limit {
		t.Fatalf("spraying refused from attempt %d, want %d", first, limit)
	}
	// Another address is not affected.
	if err := signInFrom(svc, ten, ten.AdminEmail, ten.AdminPassword, "192.0.2.20"); err != nil {
		t.Fatalf("from another address: %v", err)
	}
}

// Many people behind one address (an office's NAT) signing in at the same
// moment all get in: the address counter is not a queue of one.
func TestConcurrentSignInsFromOneAddressAllSucceed(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	const n = 20
	users := make([]testkit.User, n)
	for i := range n {
		users[i] = env.AddUser(t, ten, ten.AccountID, fmt.Sprintf("office%02d@nat.example", i), "")
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = signInFrom(svc, ten, users[i].Email, users[i].Password, "198.51.100.200")
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("user %d: %v", i, err)
		}
	}
}
