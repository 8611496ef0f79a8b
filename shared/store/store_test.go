package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

func TestPutGetRoundTrip(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	ctx := context.Background()
	u := identity.NewUser(ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: "round@trip.example", FirstName: "Round", Status: identity.UserActive, CreatedAt: env.Clock.Now()})
	if err := env.Store.Do(ctx, "put", store.Put(u).If(store.NotExists())); err != nil {
		t.Fatal(err)
	}
	var got identity.User
	ok, err := env.Store.Get(ctx, ten.User(u.ID), &got)
	if err != nil || !ok {
		t.Fatalf("get: ok=%v err=%v", ok, err)
	}
	if got.Email != u.Email || got.FirstName != "Round" || got.Version != 1 || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("round trip changed the user: %+v", got)
	}
	// A second put of the same key must fail its condition.
	err = env.Store.Do(ctx, "put again", store.Put(u).If(store.NotExists()).OrFail(apperr.ErrEmailTaken))
	if !errors.Is(err, apperr.ErrEmailTaken) {
		t.Fatalf("want email taken, got %v", err)
	}
	if ok, _ := env.Store.Get(ctx, ten.User("missing"), &got); ok {
		t.Fatal("found a user that does not exist")
	}
}

// Fifty goroutines create a user with the same email: exactly one wins and
// the others get "email taken"; exactly one user item exists.
func TestEmailUniquenessUnderRace(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	ctx := context.Background()
	const racers = 50
	var wg sync.WaitGroup
	errs := make([]error, racers)
	ids := make([]string, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := identity.NewUser(ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: "same@race.example", Status: identity.UserActive})
			ids[i] = u.ID
			errs[i] = env.Store.Transact(ctx, "create user",
				store.Put(u).If(store.NotExists()),
				store.Put(identity.NewEmailClaim(ten.Tenant, u.Email, u.ID)).If(store.NotExists()).OrFail(apperr.ErrEmailTaken))
		}()
	}
	wg.Wait()
	wins, winner := 0, ""
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
			winner = ids[i]
		case errors.Is(err, apperr.ErrEmailTaken):
		default:
			t.Errorf("racer %d: unexpected error %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d racers created the email, want exactly 1", wins)
	}
	var claim identity.EmailClaim
	if ok, err := env.Store.Get(ctx, ten.EmailClaim("same@race.example"), &claim); !ok || err != nil || claim.UserID != winner {
		t.Fatalf("claim points at %q, want the winner %q (ok=%v err=%v)", claim.UserID, winner, ok, err)
	}
	for i, id := range ids {
		var u identity.User
		ok, _ := env.Store.Get(ctx, ten.User(id), &u)
		if ok != (id == winner) {
			t.Fatalf("racer %d: user item exists=%v, winner=%v: a loser was half-written", i, ok, id == winner)
		}
	}
}

func TestTransactReportsTheFailedWritesError(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	ctx := context.Background()
	// The admin exists at version 1: a write conditioned on version 7 fails
	// with the error it named, and the other write is not applied.
	other := identity.NewUser(ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: "x@y.example", Status: identity.UserActive})
	err := env.Store.Transact(ctx, "stale edit",
		store.Put(other).If(store.NotExists()),
		store.Update(ten.User(ten.AdminID), store.BumpVersion().Set(expression.Name("firstName"), expression.Value("New"))).
			If(store.AtVersion(7)).OrFail(apperr.ErrVersionConflict))
	if !errors.Is(err, apperr.ErrVersionConflict) {
		t.Fatalf("want version conflict, got %v", err)
	}
	if apperr.KindOf(err) != apperr.KindPreconditionFailed {
		t.Fatalf("kind = %v", apperr.KindOf(err))
	}
	var u identity.User
	if ok, _ := env.Store.Get(ctx, ten.User(other.ID), &u); ok {
		t.Fatal("the transaction was half-applied")
	}
	// At the right version it applies and bumps the version.
	err = env.Store.Transact(ctx, "fresh edit",
		store.Put(other).If(store.NotExists()),
		store.Update(ten.User(ten.AdminID), store.BumpVersion().Set(expression.Name("firstName"), expression.Value("New"))).
			If(store.AtVersion(1)).OrFail(apperr.ErrVersionConflict))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := env.Store.Get(ctx, ten.User(ten.AdminID), &u); !ok || u.Version != 2 || u.FirstName != "New" {
		t.Fatalf("after edit: %+v", u)
	}
}

func TestQueryPagesAndRejectsForeignCursors(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	ctx := context.Background()
	for i := range 5 {
		env.AddUser(t, a, a.AccountID, fmt.Sprintf("u%d@a.example", i), "")
		env.AddUser(t, b, b.AccountID, fmt.Sprintf("u%d@b.example", i), "")
	}
	q := store.Query{Partition: a.Account(a.AccountID).PK, SKPrefix: table.MembershipPrefix, Limit: 2}
	seen := 0
	for {
		p, err := env.Store.QueryPage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(p.Items)
		if p.Cursor == "" {
			break
		}
		q.Cursor = p.Cursor
	}
	if seen != 6 { // the admin and five users
		t.Fatalf("paged through %d members, want 6", seen)
	}
	// A cursor of tenant b's partition cannot be used on tenant a's query.
	pb, err := env.Store.QueryPage(ctx, store.Query{Partition: b.Account(b.AccountID).PK, SKPrefix: table.MembershipPrefix, Limit: 1})
	if err != nil || pb.Cursor == "" {
		t.Fatalf("page of b: %v", err)
	}
	for name, cursor := range map[string]string{"other tenant": pb.Cursor, "garbage": "not-a-cursor", "empty json": "e30"} {
		_, err := env.Store.QueryPage(ctx, store.Query{Partition: a.Account(a.AccountID).PK, SKPrefix: table.MembershipPrefix, Cursor: cursor})
		if !errors.Is(err, apperr.ErrBadCursor) {
			t.Errorf("%s cursor: want bad cursor, got %v", name, err)
		}
	}
}

func TestKeysNeedATenant(t *testing.T) {
	for _, id := range []string{"", "a#b", "a.b"} {
		if _, err := table.ForTenant(id); !errors.Is(err, table.ErrNoTenant) {
			t.Errorf("ForTenant(%q) = %v, want ErrNoTenant", id, err)
		}
	}
	k := table.MustTenant("acme").User("u1")
	if k.PK != "T#acme#U#u1" || k.SK != "USER" {
		t.Fatalf("user key = %+v", k)
	}
}

// Independent rules each add their checks to one transaction; checks of the
// same item are merged (DynamoDB refuses a transaction naming an item
// twice): two checks become one holding both conditions, and a check beside
// a change of the item becomes part of that change's condition.
func TestTransactMergesChecksOfOneItem(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	ctx := context.Background()
	admin := ten.User(ten.AdminID)
	other := identity.NewUser(ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: "merge@y.example", Status: identity.UserActive})
	errA, errB := apperr.New(apperr.KindConflict, "rule_a", "a"), apperr.New(apperr.KindConflict, "rule_b", "b")

	// Two checks of the admin, both true: the put goes through.
	if err := env.Store.Transact(ctx, "two true checks",
		store.Check(admin, store.AtVersion(1)).OrFail(errA),
		store.Check(admin, store.Is("status", identity.UserActive)).OrFail(errB),
		store.Put(other).If(store.NotExists())); err != nil {
		t.Fatalf("two checks of one item: %v", err)
	}
	// The second of two checks false: refused, nothing written.
	again := other
	again.ID = env.IDs.NewID()
	again = identity.NewUser(ten.Tenant, again)
	err := env.Store.Transact(ctx, "one false check",
		store.Check(admin, store.AtVersion(1)),
		store.Check(admin, store.Is("status", "suspended")).OrFail(errB),
		store.Put(again).If(store.NotExists()))
	if apperr.KindOf(err) != apperr.KindConflict {
		t.Fatalf("a false merged check: %v", err)
	}
	var u identity.User
	if ok, _ := env.Store.Get(ctx, ten.User(again.ID), &u); ok {
		t.Fatal("a refused transaction wrote")
	}
	// A check beside an update of the same item joins its condition.
	err = env.Store.Transact(ctx, "check and update",
		store.Check(admin, store.Is("status", "suspended")).OrFail(errA),
		store.Update(admin, store.BumpVersion()).If(store.AtVersion(1)),
		store.Put(again).If(store.NotExists()))
	if !errors.Is(err, errA) {
		t.Fatalf("a false check beside an update: %v, want the check's error", err)
	}
	if err := env.Store.Transact(ctx, "true check and update",
		store.Update(admin, store.BumpVersion()).If(store.AtVersion(1)),
		store.Check(admin, store.Is("status", identity.UserActive)).OrFail(errA),
		store.Put(again).If(store.NotExists())); err != nil {
		t.Fatalf("a true check beside an update: %v", err)
	}
	if ok, _ := env.Store.Get(ctx, admin, &u); !ok || u.Version != 2 {
		t.Fatalf("the update did not apply: %+v", u)
	}
}
