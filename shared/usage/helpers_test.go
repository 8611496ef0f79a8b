package usage_test

import (
	"context"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/usage"
)

// world is one test's stack: env, a tenant, and the service over them.
type world struct {
	env   *testkit.Env
	ten   testkit.Tenant
	svc   *usage.Service
	admin access.Caller
	// operator is tenant support staff, not switched anywhere (their session
	// is in the tenant's account, not as support): they read usage and
	// reset it in every account of the tenant; recording needs supportIn.
	operator access.Caller
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return worldOn(t, testkit.New(t))
}

// newIsolatedWorld runs on a table of its own: the rollover job reads the due
// index across tenants, so a test that runs it must not share a table with
// tests whose clocks are elsewhere.
func newIsolatedWorld(t testing.TB) *world {
	t.Helper()
	env := testkit.New(t)
	env.OwnTable(t, "usage")
	return worldOn(t, env)
}

func worldOn(t testing.TB, env *testkit.Env) *world {
	ten := env.NewTenant(t)
	return &world{env: env, ten: ten, svc: usage.New(env.Service()), admin: callerOf(ten, ten.AdminID, ten.AccountID, access.RoleAdmin),
		operator: access.Caller{Tenant: ten.Tenant, UserID: "support", SessionID: "s", AccountID: ten.AccountID, Operator: true}}
}

// supportReason is why the operator entered an account as support.
const supportReason = "ticket 1: usage looks wrong"

// supportIn is the operator with their session switched into accountID
// with a reason: how support does work inside a customer account
// (recording usage there).
func (w *world) supportIn(accountID string) access.Caller {
	c := w.operator
	c.AccountID, c.SupportReason = accountID, supportReason
	return c
}

func callerOf(ten testkit.Tenant, userID, accountID string, roles ...string) access.Caller {
	return access.Caller{Tenant: ten.Tenant, UserID: userID, SessionID: "test-session", AccountID: accountID, Roles: roles}
}

func (w *world) allow(t testing.TB, accountID string, allowances map[string]usage.Allowance) {
	t.Helper()
	if err := usage.SaveAllowances(context.Background(), w.env.Store, w.ten.Tenant, accountID, allowances, w.env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
}

func (w *world) record(c access.Caller, accountID, metric string, amount int64) (usage.Recorded, error) {
	cmd, err := usage.RecordRequest{Metric: metric, Amount: &amount}.Command(c, accountID)
	if err != nil {
		return usage.Recorded{}, err
	}
	return w.svc.Record(context.Background(), cmd)
}

func (w *world) mustRecord(t testing.TB, accountID, metric string, amount int64) usage.Recorded {
	t.Helper()
	r, err := w.record(w.admin, accountID, metric, amount)
	if err != nil {
		t.Fatalf("record %d %s: %v", amount, metric, err)
	}
	return r
}

func (w *world) report(t testing.TB, accountID string) usage.Report {
	t.Helper()
	r, err := w.svc.Report(context.Background(), w.admin, accountID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func metric(r []usage.MetricUsage, name string) usage.MetricUsage {
	for _, m := range r {
		if m.Metric == name {
			return m
		}
	}
	return usage.MetricUsage{Metric: name + " (absent)"}
}

// changes is an account's change log with the given action, oldest first.
func (w *world) changes(t testing.TB, accountID, action string) []changelog.Entry {
	t.Helper()
	return w.env.Changes(t, w.ten.Tenant, accountID, action)
}
