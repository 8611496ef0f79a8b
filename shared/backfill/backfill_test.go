package backfill_test

import (
	"context"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/backfill"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

var ctx = context.Background()

func account(t *testing.T, env *testkit.Env, ten table.Tenant, id string) accounts.Account {
	t.Helper()
	var a accounts.Account
	if ok, err := env.Store.Get(ctx, ten.Account(id), &a); err != nil || !ok {
		t.Fatalf("account %s: %v %v", id, ok, err)
	}
	return a
}

// Parents written by an older version kept the count (and the role
// "parent") of children wiped since. The repair counts what is really
// linked, deletes links to children that are gone, clears the role when
// nothing is left, logs each recount, and finds nothing to do when run
// again.
func TestChildCountsRepairsPhantomChildren(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	now := env.Clock.Now()
	seed := func(a accounts.Account) string {
		a = accounts.NewAccount(ten.Tenant, a)
		if err := env.Store.Do(ctx, "seed account", store.Put(a)); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	link := func(parent, child string) {
		k := ten.AccountLink(parent, child)
		if err := env.Store.Do(ctx, "seed link", store.Put(links.Link{PK: k.PK, SK: k.SK, Type: "ACCOUNT_LINK", ParentID: parent, ChildID: child, LinkedAt: now})); err != nil {
			t.Fatal(err)
		}
	}
	// A parent with one real child, one wiped child whose link went, and
	// one wiped child whose link stayed: count 3, truly 1.
	mixed := seed(accounts.Account{ID: env.IDs.NewID(), Name: "Mixed parent", ChildCount: 3, CreatedAt: now, UpdatedAt: now})
	real := seed(accounts.Account{ID: env.IDs.NewID(), Name: "Real child", ParentID: mixed, CreatedAt: now, UpdatedAt: now})
	link(mixed, real)
	gone := env.IDs.NewID()
	link(mixed, gone)
	// A parent whose only child was wiped: count 1, truly none.
	phantom := seed(accounts.Account{ID: env.IDs.NewID(), Name: "Phantom parent", ChildCount: 1, CreatedAt: now, UpdatedAt: now})
	// A healthy parent is left alone.
	healthy := seed(accounts.Account{ID: env.IDs.NewID(), Name: "Healthy parent", ChildCount: 1, CreatedAt: now, UpdatedAt: now})
	kid := seed(accounts.Account{ID: env.IDs.NewID(), Name: "Healthy child", ParentID: healthy, CreatedAt: now, UpdatedAt: now})
	link(healthy, kid)
	healthyVersion := account(t, env, ten.Tenant, healthy).Version

	svc := backfill.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	rep, err := svc.ChildCounts(ctx, ten.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Repaired != 2 || rep.Removed != 1 {
		t.Fatalf("first run: %v, want 2 repaired and 1 dangling link removed", rep)
	}
	if a := account(t, env, ten.Tenant, mixed); a.ChildCount != 1 {
		t.Fatalf("mixed parent: childCount %d, want 1", a.ChildCount)
	}
	var l links.Link
	if ok, _ := env.Store.Get(ctx, ten.AccountLink(mixed, gone), &l); ok {
		t.Fatal("the link to the wiped child is still there")
	}
	a := account(t, env, ten.Tenant, phantom)
	var raw map[string]any
	_, _ = env.Store.Get(ctx, ten.Account(phantom), &raw)
	if _, has := raw["childCount"]; has || a.ChildCount != 0 {
		t.Fatalf("phantom parent still counts children: %v", raw["childCount"])
	}
	if got := env.Changes(t, ten.Tenant, phantom, "account.children_recounted"); len(got) != 1 || got[0].Actor.ID != "backfill" {
		t.Fatalf("phantom parent's log: %+v", got)
	}
	if a := account(t, env, ten.Tenant, healthy); a.ChildCount != 1 || a.Version != healthyVersion {
		t.Fatalf("healthy parent changed: %+v", a)
	}

	again, err := svc.ChildCounts(ctx, ten.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	if again.Repaired != 0 || again.Removed != 0 {
		t.Fatalf("second run changed things: %v", again)
	}
}

// Access-history entries written before entries carried their account's
// key are given it, so they appear in the account's history; entries that
// have it are not touched, and a second run finds nothing.
func TestAccessHistoryGivesOldEntriesTheirAccountKey(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	now := env.Clock.Now()
	u := env.AddUser(t, ten, ten.AccountID, "old@history.example", "")
	var oldIDs []string
	for range backfill.PageSize + 5 { // more than a page
		e := identity.NewAccessEntry(ten.Tenant, env.IDs.NewID(), u.ID, "sign_in", ten.AccountID, now, "198.51.100.7", "old")
		e.GSI1PK, e.GSI1SK = "", "" // the old shape
		if err := env.Store.Do(ctx, "seed old entry", store.Put(e)); err != nil {
			t.Fatal(err)
		}
		oldIDs = append(oldIDs, e.ID)
	}
	current := identity.NewAccessEntry(ten.Tenant, env.IDs.NewID(), u.ID, "sign_in", ten.AccountID, now, "198.51.100.7", "new")
	if err := env.Store.Do(ctx, "seed entry", store.Put(current)); err != nil {
		t.Fatal(err)
	}
	inAccount := func() int {
		ix := ten.AccountAccess(ten.AccountID, "")
		items, err := env.Store.QueryAll(ctx, store.Query{Index: table.GSI1, Partition: ix.PK, SKPrefix: ix.SK}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(items)
	}
	if n := inAccount(); n != 1 {
		t.Fatalf("before the repair the account's history has %d entries, want 1", n)
	}
	svc := backfill.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	rep, err := svc.AccessHistory(ctx, ten.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Repaired != len(oldIDs) {
		t.Fatalf("repaired %v, want %d", rep, len(oldIDs))
	}
	if n := inAccount(); n != len(oldIDs)+1 {
		t.Fatalf("after the repair the account's history has %d entries, want %d", n, len(oldIDs)+1)
	}
	var e identity.AccessEntry
	if _, err := env.Store.Get(ctx, ten.AccessEntry(u.ID, oldIDs[0]), &e); err != nil || e.GSI1SK != table.AccessHistoryPrefix+oldIDs[0] {
		t.Fatalf("old entry: %+v %v", e, err)
	}
	again, err := svc.AccessHistory(ctx, ten.Tenant)
	if err != nil || again.Repaired != 0 {
		t.Fatalf("second run: %v %v", again, err)
	}
	var out strings.Builder
	if err := svc.Run(ctx, ten.Tenant, &out); err != nil || !strings.Contains(out.String(), "access history account keys: 0 read, 0 repaired, 0 removed") {
		t.Fatalf("run: %q %v", out.String(), err)
	}
}
