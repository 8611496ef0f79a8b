package directory_test

import (
	"context"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
)

// An account's Admin reads who acted in their account's change log by name:
// an entry that named its actor as they were keeps that name; an entry
// written before entries named actors shows the id and the person's name
// and email now (marked as from the profile), a support person's too,
// although their profile stays closed to the Admin.
func TestChangeLogNamesItsActorsToTheAccountsAdmin(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	a := w.env.AddAccount(t, w.ten, "Customer A")
	adminA := w.env.AddUser(t, w.ten, a, "admin@a.example", "", access.RoleAdmin)
	op := signableOperator(t, w) // Sam Support
	now := w.env.Clock.Now()
	old := changelog.New(w.ten.Tenant, w.env.IDs.NewID(), now, a,
		changelog.Actor{Kind: changelog.ActorSupport, ID: op.ID, AccountID: a, Reason: "ticket 1"}, "account.renamed", "account", a, nil, nil)
	w.env.Clock.Advance(time.Second)
	named := changelog.New(w.ten.Tenant, w.env.IDs.NewID(), w.env.Clock.Now(), a,
		changelog.Actor{Kind: changelog.ActorSupport, ID: op.ID, AccountID: a, Reason: "ticket 2", Name: "Sam Before", Email: "before@support.example"},
		"account.renamed", "account", a, nil, nil)
	job := changelog.New(w.ten.Tenant, w.env.IDs.NewID(), w.env.Clock.Now(), a, changelog.System("rollover"), "usage.period_closed", "account", a, nil, nil)
	if err := w.env.Store.Transact(ctx, "entries", old.Write(), named.Write(), job.Write()); err != nil {
		t.Fatal(err)
	}
	admin := callerOf(w.ten, adminA.ID, a, access.RoleAdmin)
	page, err := w.dir.AccountChanges(ctx, admin, a, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]struct {
		actor   changelog.Actor
		profile bool
	}{}
	for _, c := range page.Changes {
		got[c.ID] = struct {
			actor   changelog.Actor
			profile bool
		}{c.Actor, c.ActorFromProfile}
	}
	if g := got[old.ID]; g.actor.ID != op.ID || g.actor.Name != "Sam Support" || g.actor.Email != op.Email || !g.profile || g.actor.Reason != "ticket 1" {
		t.Fatalf("old entry: %+v", g)
	}
	if g := got[named.ID]; g.actor.Name != "Sam Before" || g.actor.Email != "before@support.example" || g.profile {
		t.Fatalf("named entry: %+v", g)
	}
	if g := got[job.ID]; g.actor != changelog.System("rollover") || g.profile {
		t.Fatalf("job entry: %+v", g)
	}
	// The support person's profile itself stays closed to the Admin.
	if _, err := w.dir.User(ctx, admin, op.ID); apperr.KindOf(err) != apperr.KindForbidden && apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("the Admin reads the operator's profile: %v", err)
	}
}
