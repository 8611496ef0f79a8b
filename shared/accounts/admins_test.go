package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

var ctx = context.Background()

// The rule, in one place: a membership is an admin one when it holds the
// Admin role and a licence, and only then does it carry the admin index.
func TestAdminMembershipRule(t *testing.T) {
	ten := table.MustTenant("acme")
	cases := []struct {
		name    string
		roles   []string
		licence string
		admin   bool
	}{
		{"admin with a licence", []string{access.RoleAdmin}, "standard", true},
		{"admin among other roles", []string{"Auditor", access.RoleAdmin, access.RoleViewer}, "guest", true},
		{"admin without a licence", []string{access.RoleAdmin}, "", false},
		{"viewer with a licence", []string{access.RoleViewer}, "standard", false},
		{"a role that only looks like Admin", []string{"admin", "Admins"}, "standard", false},
		{"no roles", nil, "standard", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := accounts.NewMembership(ten, accounts.Membership{AccountID: "A1", UserID: "U1", Email: "u@x.example", Roles: c.roles, Licence: c.licence})
			if m.HoldsAdmin() != c.admin {
				t.Fatalf("HoldsAdmin = %v", m.HoldsAdmin())
			}
			if accounts.IsActiveAdmin(m, identity.UserActive) != c.admin || accounts.IsActiveAdmin(m, identity.UserSuspended) {
				t.Fatal("IsActiveAdmin disagrees with HoldsAdmin and the user's status")
			}
			want := table.IndexKey{}
			if c.admin {
				want = ten.AccountAdmins("A1", "U1")
			}
			if got := (table.IndexKey{PK: m.GSI3PK, SK: m.GSI3SK}); got != want || m.AdminIndex(ten) != want {
				t.Fatalf("admin index %+v, want %+v", got, want)
			}
			// The update builder sets exactly those keys, or removes them.
			expr, err := expression.NewBuilder().WithUpdate(m.WithAdminIndex(ten, store.BumpVersion())).Build()
			if err != nil {
				t.Fatal(err)
			}
			sets := false
			for _, v := range expr.Values() {
				if s, ok := v.(*types.AttributeValueMemberS); ok && s.Value == want.PK && c.admin {
					sets = true
				}
			}
			if sets != c.admin || !c.admin && !strings.Contains(*expr.Update(), "REMOVE") {
				t.Fatalf("update %q does not keep the admin index (admin: %v)", *expr.Update(), c.admin)
			}
		})
	}
}

// readMeter passes every call on to DynamoDB Local and counts the items the
// reads touched: a Query's ScannedCount (what it read, before any filter)
// and the items a GetItem or BatchGetItem returned.
type readMeter struct {
	store.DynamoDB
	calls, items atomic.Int64
}

func (r *readMeter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	r.calls.Add(1)
	out, err := r.DynamoDB.Query(ctx, in, opts...)
	if err == nil {
		r.items.Add(int64(out.ScannedCount))
	}
	return out, err
}

func (r *readMeter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	r.calls.Add(1)
	out, err := r.DynamoDB.BatchGetItem(ctx, in, opts...)
	if err == nil {
		for _, items := range out.Responses {
			r.items.Add(int64(len(items)))
		}
	}
	return out, err
}

func (r *readMeter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.calls.Add(1)
	out, err := r.DynamoDB.GetItem(ctx, in, opts...)
	if err == nil && out.Item != nil {
		r.items.Add(1)
	}
	return out, err
}

func (r *readMeter) reset() { r.calls.Store(0); r.items.Store(0) }

var (
	errLast    = errors.New("last admin")
	errChanged = errors.New("admin changed")
)

// addMembers puts n users, each a member of accountID with roles and a
// licence, 25 at a time.
func addMembers(t *testing.T, env *testkit.Env, ten table.Tenant, accountID, prefix string, n int, roles ...string) []string {
	t.Helper()
	var ids []string
	var writes []*store.Write
	flush := func() {
		if err := env.Store.Transact(ctx, "add members", writes...); err != nil {
			t.Fatal(err)
		}
		writes = nil
	}
	now := env.Clock.Now()
	for i := range n {
		email := fmt.Sprintf("%s%d@members.example", prefix, i)
		u := identity.NewUser(ten, identity.User{ID: env.IDs.NewID(), Email: email, Status: identity.UserActive, HomeAccountID: accountID, CreatedAt: now, UpdatedAt: now})
		m := accounts.NewMembership(ten, accounts.Membership{AccountID: accountID, UserID: u.ID, Email: email, Roles: roles, Licence: "standard", CreatedAt: now, UpdatedAt: now})
		writes = append(writes, store.Put(u), store.Put(m))
		ids = append(ids, u.ID)
		if len(writes) == 50 {
			flush()
		}
	}
	if len(writes) > 0 {
		flush()
	}
	return ids
}

// The guard reads the account's admins, not its members: with 1 admin and
// 300 other members it reads a handful of items, as with 1 admin alone.
func TestTheAdminGuardReadsOnlyTheAdmins(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	meter := &readMeter{DynamoDB: env.DB}
	metered := store.New(meter, env.Config.Table)
	acct := ten.AccountID
	addMembers(t, env, ten.Tenant, acct, "viewer", 300, access.RoleViewer)
	// Members with Admin but no licence are not admins, and not indexed.
	unlicensed := addMembers(t, env, ten.Tenant, acct, "nolicence", 3, access.RoleAdmin)
	for _, id := range unlicensed {
		m := accounts.Membership{AccountID: acct, UserID: id, Roles: []string{access.RoleAdmin}}
		upd := m.WithAdminIndex(ten.Tenant, expression.Remove(expression.Name("licence")))
		if err := env.Store.Do(ctx, "remove licence", store.Update(ten.Membership(acct, id), upd)); err != nil {
			t.Fatal(err)
		}
	}

	// The measurement sees what a filtered read of the members costs.
	isAdmin := accounts.AdminCondition()
	if _, err := metered.QueryAll(ctx, store.Query{Partition: ten.AccountPartition(acct), SKPrefix: table.MembershipPrefix, Filter: &isAdmin}, 0); err != nil {
		t.Fatal(err)
	}
	if meter.items.Load() < 300 {
		t.Fatalf("the meter counted %d items for a filtered read of 304 members", meter.items.Load())
	}

	// The bootstrap admin is the only admin: 409, reading one index key.
	meter.reset()
	g := accounts.NewAdminGuard(metered, ten.Tenant, errLast, errChanged)
	if err := g.Keep(ctx, acct, ten.AdminID); !errors.Is(err, errLast) {
		t.Fatalf("the only admin leaves: %v", err)
	}
	if items, calls := meter.items.Load(), meter.calls.Load(); items > 2 || calls > 2 {
		t.Fatalf("the guard read %d items in %d calls among 304 members", items, calls)
	}

	// A second admin keeps the account: found and checked, still a few reads.
	addMembers(t, env, ten.Tenant, acct, "admin", 1, access.RoleAdmin, access.RoleViewer)
	meter.reset()
	g = accounts.NewAdminGuard(metered, ten.Tenant, errLast, errChanged)
	if err := g.Keep(ctx, acct, ten.AdminID); err != nil {
		t.Fatalf("with another admin: %v", err)
	}
	if items, calls := meter.items.Load(), meter.calls.Load(); items > 4 || calls > 2 {
		t.Fatalf("the guard read %d items in %d calls among 305 members", items, calls)
	}
	if len(g.Checks()) != 2 {
		t.Fatalf("%d checks, want the other admin's membership and user", len(g.Checks()))
	}
	// Keeping the same account again adds no second check of the same items
	// (a transaction may name an item only once).
	if err := g.Keep(ctx, acct, ten.AdminID); err != nil || len(g.Checks()) != 2 {
		t.Fatalf("the same account again: %v, %d checks", err, len(g.Checks()))
	}
}

// The guard's choice is re-checked at commit: if the other admin stops being
// one (demoted, licence removed, suspended) before the transaction commits,
// it fails with the guard's "changed" error and nothing is written.
func TestTheAdminGuardRechecksAtCommit(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	acct := ten.AccountID
	changes := map[string]func(userID string) *store.Write{
		"demoted": func(id string) *store.Write {
			m := accounts.Membership{AccountID: acct, UserID: id, Roles: []string{access.RoleViewer}, Licence: "standard"}
			return store.Update(ten.Membership(acct, id), m.WithAdminIndex(ten.Tenant,
				expression.Set(expression.Name("roles"), expression.Value(&types.AttributeValueMemberSS{Value: m.Roles}))))
		},
		"licence removed": func(id string) *store.Write {
			m := accounts.Membership{AccountID: acct, UserID: id, Roles: []string{access.RoleAdmin}}
			return store.Update(ten.Membership(acct, id), m.WithAdminIndex(ten.Tenant, expression.Remove(expression.Name("licence"))))
		},
		"suspended": func(id string) *store.Write {
			return store.Update(ten.User(id), expression.Set(expression.Name("status"), expression.Value(identity.UserSuspended)))
		},
	}
	for name, change := range changes {
		other := addMembers(t, env, ten.Tenant, acct, "other-"+name[:3], 1, access.RoleAdmin)[0]
		g := accounts.NewAdminGuard(env.Store, ten.Tenant, errLast, errChanged)
		if err := g.Keep(ctx, acct, ten.AdminID); err != nil {
			t.Fatalf("%s: keep: %v", name, err)
		}
		if err := env.Store.Do(ctx, name, change(other)); err != nil {
			t.Fatal(err)
		}
		demote := store.Update(ten.Membership(acct, ten.AdminID), expression.Set(expression.Name("note"), expression.Value(name)))
		err := env.Store.Transact(ctx, "leave", append(g.Checks(), demote)...)
		if !errors.Is(err, errChanged) {
			t.Fatalf("%s before commit: %v", name, err)
		}
		var m map[string]any
		if _, err := env.Store.Get(ctx, ten.Membership(acct, ten.AdminID), &m); err != nil || m["note"] != nil {
			t.Fatalf("%s: the change was written: %v %v", name, m["note"], err)
		}
		// Read again, no other active admin is found.
		if err := accounts.NewAdminGuard(env.Store, ten.Tenant, errLast, errChanged).Keep(ctx, acct, ten.AdminID); !errors.Is(err, errLast) {
			t.Fatalf("%s: keep again: %v", name, err)
		}
	}
}
