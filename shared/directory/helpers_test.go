package directory_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

type world struct {
	env  *testkit.Env
	ten  testkit.Tenant
	dir  *directory.Directory
	adm  *administration.Service
	read *readCounter // what dir reads
}

func newWorld(t testing.TB) *world {
	t.Helper()
	env := testkit.New(t)
	read := &readCounter{DynamoDB: env.DB}
	dir := directory.New(env.Service())
	dir.Store = store.New(read, env.Config.Table)
	return &world{env: env, ten: env.NewTenant(t), dir: dir, adm: administration.New(env.Service()), read: read}
}

// readCounter counts the Queries a store issues and the items they read
// (DynamoDB's ScannedCount: items evaluated, before any filter).
type readCounter struct {
	store.DynamoDB
	queries, scanned atomic.Int64
}

func (r *readCounter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := r.DynamoDB.Query(ctx, in, opts...)
	if err == nil {
		r.queries.Add(1)
		r.scanned.Add(int64(out.ScannedCount))
	}
	return out, err
}

func (r *readCounter) reset() { r.queries.Store(0); r.scanned.Store(0) }

func callerOf(ten testkit.Tenant, userID, accountID string, roles ...string) access.Caller {
	return access.Caller{Tenant: ten.Tenant, UserID: userID, SessionID: "session-" + userID, AccountID: accountID, Roles: roles}
}

func (w *world) admin() access.Caller {
	return callerOf(w.ten, w.ten.AdminID, w.ten.AccountID, access.RoleAdmin)
}

// operator adds a tenant operator (support staff) and returns them as a caller.
func (w *world) operator(t testing.TB) access.Caller {
	t.Helper()
	now := w.env.Clock.Now()
	u := identity.NewUser(w.ten.Tenant, identity.User{ID: w.env.IDs.NewID(), Email: "support-" + w.env.IDs.NewID()[20:] + "@ops.example",
		FirstName: "Sam", LastName: "Support", Status: identity.UserActive, Operator: true, CreatedAt: now, UpdatedAt: now})
	if err := w.env.Store.Transact(context.Background(), "add operator", store.Put(u),
		store.Put(identity.NewEmailClaim(w.ten.Tenant, u.Email, u.ID)).If(store.NotExists())); err != nil {
		t.Fatal(err)
	}
	c := callerOf(w.ten, u.ID, w.ten.AccountID)
	c.Operator = true
	return c
}
