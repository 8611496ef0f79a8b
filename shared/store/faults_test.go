package store_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// Transaction conflicts and throttling, injected at the SDK's HTTP edge, are
// retried within bounds; past them the caller gets 503 and nothing is
// half-written.
func TestTransientFaultsAreRetriedWithinBounds(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	faults := awsclient.NewFaultInjector()
	faulty := store.New(awsclient.DynamoDB(env.AWS, func(o *dynamodb.Options) { o.HTTPClient = faults }), env.Config.Table)
	ctx := context.Background()

	create := func(email string) (identity.User, error) {
		u := identity.NewUser(ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: email, Status: identity.UserActive})
		return u, faulty.Transact(ctx, "create user",
			store.Put(u).If(store.NotExists()),
			store.Put(identity.NewEmailClaim(ten.Tenant, email, u.ID)).If(store.NotExists()).OrFail(apperr.ErrEmailTaken))
	}
	exists := func(u identity.User) bool {
		var got identity.User
		ok, err := env.Store.Get(ctx, ten.User(u.ID), &got)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	// Two conflicts, then success: written exactly once.
	faults.Add(awsclient.Fault{Operation: "TransactWriteItems", Times: 2, Status: 400, Body: awsclient.DynamoConflict})
	u, err := create("retry@faults.example")
	if err != nil || !exists(u) || faults.Injected("TransactWriteItems") != 2 {
		t.Fatalf("after 2 conflicts: err=%v exists=%v injected=%d", err, exists(u), faults.Injected("TransactWriteItems"))
	}

	// Conflicts forever: 503, nothing written.
	faults.Add(awsclient.Fault{Operation: "TransactWriteItems", Times: -1, Status: 400, Body: awsclient.DynamoConflict})
	u, err = create("never@faults.example")
	if apperr.KindOf(err) != apperr.KindUnavailable || exists(u) {
		t.Fatalf("endless conflicts: err=%v exists=%v", err, exists(u))
	}
	var claim identity.EmailClaim
	if ok, _ := env.Store.Get(ctx, ten.EmailClaim("never@faults.example"), &claim); ok {
		t.Fatal("the email claim was half-written")
	}
	faults.Clear()

	// Throttling of single writes: retried, then 503.
	faults.Add(awsclient.Fault{Operation: "PutItem", Times: -1, Status: 400, Body: awsclient.DynamoThrottled})
	u2 := identity.NewUser(ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: "throttled@faults.example"})
	err = faulty.Do(ctx, "put", store.Put(u2))
	if apperr.KindOf(err) != apperr.KindUnavailable || exists(u2) {
		t.Fatalf("endless throttling: err=%v", err)
	}
	if n := faults.Injected("PutItem"); n < 2 || n > 30 {
		t.Fatalf("throttled PutItem tried %d times: want a bounded retry", n)
	}
}
