package content_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/content"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

type world struct {
	env      *testkit.Env
	ten      testkit.Tenant
	svc      *content.Service
	admin    access.Caller
	operator access.Caller // support staff, not switched: session in the tenant's account, no reason
	source   testkit.User
	target   testkit.User
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return worldOn(t, testkit.New(t))
}

// newIsolatedWorld runs on a table of its own: the resume job reads the due
// index across tenants.
func newIsolatedWorld(t testing.TB) *world {
	t.Helper()
	env := testkit.New(t)
	env.OwnTable(t, "content")
	return worldOn(t, env)
}

func worldOn(t testing.TB, env *testkit.Env) *world {
	ten := env.NewTenant(t)
	svc := content.New(env.Service())
	svc.Settle = 10 * time.Millisecond
	w := &world{env: env, ten: ten, svc: svc,
		admin:    access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}},
		operator: access.Caller{Tenant: ten.Tenant, UserID: "support-1", SessionID: "s", AccountID: ten.AccountID, Operator: true}}
	w.source = env.AddUser(t, ten, ten.AccountID, "leaver@"+ten.ID()+".example", "", access.RoleViewer)
	w.target = env.AddUser(t, ten, ten.AccountID, "heir@"+ten.ID()+".example", "", access.RoleViewer)
	return w
}

// supportReason is why the operator entered an account as support.
const supportReason = "ticket 77: reassign a leaver's automations"

// supportIn is the operator switched into accountID with a reason: the only
// way support does account work (content) inside a customer account.
func (w *world) supportIn(accountID string) access.Caller {
	c := w.operator
	c.AccountID, c.SupportReason = accountID, supportReason
	return c
}

// seed writes n items owned by owner directly (50 per transaction).
func (w *world) seed(t testing.TB, owner string, n int) []string {
	t.Helper()
	var ids []string
	var batch []*store.Write
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := w.env.Store.Transact(context.Background(), "seed content", batch...); err != nil {
			t.Fatal(err)
		}
		batch = nil
	}
	now := w.env.Clock.Now()
	for i := range n {
		it := content.NewItem(w.ten.Tenant, content.Item{ID: w.env.IDs.NewID(), AccountID: w.ten.AccountID, ContentType: "automation",
			Name: fmt.Sprintf("Automation %d", i), OwnerID: owner, CreatedAt: now, UpdatedAt: now})
		ids = append(ids, it.ID)
		batch = append(batch, store.Put(it).If(store.NotExists()))
		if len(batch) == 50 {
			flush()
		}
	}
	flush()
	return ids
}

// owned lists every item owner has in the account, through the owner index.
func (w *world) owned(t testing.TB, owner string) []content.Item {
	t.Helper()
	var all []content.Item
	q := content.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, OwnerID: owner, Limit: content.MaxPageSize}
	for {
		p, err := w.svc.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Items...)
		if p.Cursor == "" {
			return all
		}
		q.Cursor = p.Cursor
	}
}

func (w *world) changes(t testing.TB, action string) []changelog.Entry {
	t.Helper()
	return w.env.Changes(t, w.ten.Tenant, w.ten.AccountID, action)
}

func (w *world) start(ctx, budget context.Context, svc *content.Service, target string) (content.Progress, error) {
	cmd, err := content.StartRequest{TargetUserID: target}.Command(w.admin, w.source.ID)
	if err != nil {
		return content.Progress{}, err
	}
	return svc.Start(ctx, budget, cmd)
}

// spent is a budget already used up: a runner given it records the job and
// hands it back at once.
func spent() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// code is an error's stable code ("" for none).
func code(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return err.Error()
}
