package links_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	linkhandler "github.com/acme/accountadmin/functions/link/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/jobs"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/testkit"
)

// BenchmarkLinkChild links an existing account as the child of another
// through the link function's handler (POST /accounts/{id}/children with an
// API Gateway event from events/link/add-child.json, without its
// Idempotency-Key), as a tenant operator (linking is tenant
// administration). Each run links a fresh pair, so the family it answers
// has one child.
//
// The raw baseline sends the same four requests: one BatchGetItem of both
// accounts and the caller's memberships of them (the permission checks and
// the link rules), the transaction (both accounts updated under the link
// rules, the link item and two change-log entries), then the family the
// response shows (the parent's CHILD# items, the accounts).
func BenchmarkLinkChild(b *testing.B) {
	env := testkit.NewBench(b)
	ten := env.NewTenant(b)
	h := linkhandler.New(env.Service())
	operator := access.Caller{Tenant: ten.Tenant, UserID: env.AddOperator(b, ten).ID, SessionID: "bench", AccountID: ten.AccountID, Operator: true}
	ops, raws := pairs(b, env, ten, b.N+1), pairs(b, env, ten, b.N+1)
	actor := changelog.Actor{Kind: changelog.ActorOperator, ID: operator.UserID}
	env.Measure(b,
		func(b *testing.B) {
			p := ops[0]
			ops = ops[1:]
			req := env.Event(b, "link/add-child.json", operator, "/accounts/"+ten.AccountID, "/accounts/"+p.parent)
			req.PathParameters["accountId"] = p.parent
			req.Body = `{"childId": "` + p.child + `"}`
			delete(req.Headers, "idempotency-key")
			testkit.Serve(b, h, req, 201)
		},
		func(b *testing.B) {
			env.RawAuthorize(b, operator)
			p := raws[0]
			raws = raws[1:]
			parent, child := ten.Account(p.parent), ten.Account(p.child)
			env.RawBatchGet(b, parent, ten.Membership(p.parent, operator.UserID), child, ten.Membership(p.child, operator.UserID))
			now := env.Clock.Now()
			lk := ten.AccountLink(p.parent, p.child)
			rules := "attribute_exists(#pk) AND #status = :active AND attribute_not_exists(#parent)"
			env.RawTransact(b,
				types.TransactWriteItem{Update: &types.Update{Key: child.AV(),
					UpdateExpression:          aws.String("ADD #v :one SET #parent = :parent, #updated = :now"),
					ConditionExpression:       aws.String(rules + " AND (attribute_not_exists(#cc) OR #cc = :zero)"),
					ExpressionAttributeNames:  testkit.Names("#pk", "PK", "#status", "status", "#parent", "parentId", "#cc", "childCount", "#v", "version", "#updated", "updatedAt"),
					ExpressionAttributeValues: testkit.Values(":active", "active", ":zero", 0, ":one", 1, ":parent", p.parent, ":now", now.Format(time.RFC3339Nano))}},
				types.TransactWriteItem{Update: &types.Update{Key: parent.AV(),
					UpdateExpression:          aws.String("ADD #v :one, #cc :one SET #updated = :now"),
					ConditionExpression:       aws.String(rules + " AND (attribute_not_exists(#cc) OR #cc < :max)"),
					ExpressionAttributeNames:  testkit.Names("#pk", "PK", "#status", "status", "#parent", "parentId", "#cc", "childCount", "#v", "version", "#updated", "updatedAt"),
					ExpressionAttributeValues: testkit.Values(":active", "active", ":max", links.MaxChildren, ":one", 1, ":now", now.Format(time.RFC3339Nano))}},
				testkit.PutIfNew(testkit.Item(b, links.Link{PK: lk.PK, SK: lk.SK, Type: "ACCOUNT_LINK", ParentID: p.parent, ChildID: p.child, LinkedAt: now, LinkedBy: operator.UserID})),
				testkit.PutIfNew(testkit.Item(b, changelog.New(ten.Tenant, env.IDs.NewID(), now, p.parent, actor, "account.child_linked", "account", p.child,
					nil, map[string]any{"childId": p.child}))),
				testkit.PutIfNew(testkit.Item(b, changelog.New(ten.Tenant, env.IDs.NewID(), now, p.child, actor, "account.linked", "account", p.child,
					map[string]any{"parentId": nil}, map[string]any{"parentId": p.parent}))))
			env.RawQuery(b, &dynamodb.QueryInput{KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
				ExpressionAttributeNames:  testkit.Names("#pk", "PK", "#sk", "SK"),
				ExpressionAttributeValues: testkit.Values(":pk", parent.PK, ":prefix", "CHILD#")})
			env.RawBatchGet(b, parent, child)
		})
}

type pair struct{ parent, child string }

// pairs makes n (parent, child) pairs of fresh accounts.
func pairs(b *testing.B, env *testkit.BenchEnv, ten testkit.Tenant, n int) []pair {
	out := make([]pair, n)
	jobs.Parallel(len(out), 16, func(i int) {
		p := pair{env.AddAccount(b, ten, fmt.Sprintf("Parent %d", i)), env.AddAccount(b, ten, fmt.Sprintf("Child %d", i))}
		out[i] = p
	})
	return out
}
