package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

// Every authorized request resolves its session first (httpapi.Server.Serve): one GetItem (the session) and one
// BatchGetItem (user, membership, account).
func BenchmarkAuthorize(b *testing.B) {
	env := testkit.New(b)
	ten := env.NewTenant(b)
	svc := service(env)
	ctx := context.Background()
	signed, err := svc.SignIn(ctx, auth.SignIn{Tenant: ten.Tenant, Email: ten.AdminEmail, Password: ten.AdminPassword})
	if err != nil {
		b.Fatal(err)
	}
	tok := identity.Token(signed.Token)
	env.Measure(b,
		func(b *testing.B) {
			if _, err := svc.Authorize(ctx, signed.Token); err != nil {
				b.Fatal(err)
			}
		},
		func(b *testing.B) {
			rawGet(b, env, ten.Session(tok.Hash()))
			rawBatch(b, env, ten.User(ten.AdminID), ten.Membership(ten.AccountID, ten.AdminID), ten.Account(ten.AccountID))
		})
}

// Sign-in is dominated by argon2id by design (19 MiB, t=2): its raw baseline
// is the DynamoDB calls plus one password verification. The baseline keeps
// its own attempt counters (another client address and email) and writes
// them as the limiter does (shared/attempts: a counter item with its window,
// reserved on the condition that it is as read), so that neither path
// finds the other's counters in a state it did not write.
func BenchmarkSignIn(b *testing.B) {
	env := testkit.NewBench(b)
	ten := env.NewTenant(b)
	svc := service(env.Env)
	ctx := context.Background()
	hash, _ := identity.HashPassword(ten.AdminPassword)
	rawEmail := "raw-" + ten.AdminEmail
	env.Measure(b,
		func(b *testing.B) {
			if _, err := svc.SignIn(ctx, auth.SignIn{Tenant: ten.Tenant, Email: ten.AdminEmail, Password: ten.AdminPassword}); err != nil {
				b.Fatal(err)
			}
		},
		func(b *testing.B) {
			var settings tenancy.Settings
			if err := attributevalue.UnmarshalMap(env.RawGet(b, ten.Settings()), &settings); err != nil {
				b.Fatal(err)
			}
			lim := settings.Limit()
			attempts := []table.Key{ten.Attempts("CLIENT", rawEmail+"#raw"), ten.Attempts("EMAIL", rawEmail), ten.Attempts("ADDRESS", "raw")}
			max := []int{lim.PerClientFailures, lim.PerEmailFailures, lim.PerAddressFailures}
			window := []time.Duration{15 * time.Minute, time.Hour, 15 * time.Minute}
			found := map[string]map[string]types.AttributeValue{}
			for _, it := range env.RawBatchGetItems(b, attempts...) {
				found[testkit.AttrString(it["PK"])] = it
			}
			now := env.Clock.Now()
			var reserve []types.TransactWriteItem
			for i, k := range attempts {
				cur, ok := found[k.PK]
				if ok && testkit.AttrNumber(cur["windowEnd"]) > now.Unix() {
					// Within the window: count one more while it leaves room.
					reserve = append(reserve, types.TransactWriteItem{Update: &types.Update{TableName: env.TableName(), Key: k.AV(),
						UpdateExpression:         aws.String("ADD #count :one"),
						ConditionExpression:      aws.String("#count <= :room AND #windowEnd = :windowEnd AND #lockedUntil = :lockedUntil"),
						ExpressionAttributeNames: testkit.Names("#count", "count", "#windowEnd", "windowEnd", "#lockedUntil", "lockedUntil"),
						ExpressionAttributeValues: testkit.Values(":one", 1, ":room", max[i]-2, ":windowEnd", cur["windowEnd"],
							":lockedUntil", cur["lockedUntil"])}})
					continue
				}
				end := now.Add(window[i]).Unix()
				item := testkit.WithKey(map[string]types.AttributeValue{"type": testkit.S("ATTEMPTS"), "count": testkit.N(1),
					"windowEnd": testkit.N(end), "lockedUntil": testkit.N(0), "level": testkit.N(0),
					"ttl": testkit.N(end + int64(24*time.Hour/time.Second))}, k)
				put := &types.Put{TableName: env.TableName(), Item: item, ConditionExpression: aws.String("attribute_not_exists(#pk)"),
					ExpressionAttributeNames: testkit.Names("#pk", "PK")}
				if ok {
					put.ConditionExpression = aws.String("#count = :count AND #windowEnd = :windowEnd AND #lockedUntil = :lockedUntil")
					put.ExpressionAttributeNames = testkit.Names("#count", "count", "#windowEnd", "windowEnd", "#lockedUntil", "lockedUntil")
					put.ExpressionAttributeValues = testkit.Values(":count", cur["count"], ":windowEnd", cur["windowEnd"], ":lockedUntil", cur["lockedUntil"])
				}
				reserve = append(reserve, types.TransactWriteItem{Put: put})
			}
			if _, err := env.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: reserve}); err != nil {
				b.Fatal(err)
			}
			env.RawGet(b, ten.EmailClaim(ten.AdminEmail))
			env.RawGet(b, ten.User(ten.AdminID))
			if ok, _ := identity.VerifyPassword(ten.AdminPassword, hash); !ok {
				b.Fatal("verify")
			}
			// The account, the membership and the user's second factor (none).
			env.RawBatchGet(b, ten.Account(ten.AccountID), ten.Membership(ten.AccountID, ten.AdminID), ten.TwoFactor(ten.AdminID))
			k := ten.Session("bench-" + env.IDs.NewID())
			_, err := env.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: env.TableName(), Item: k.AV()}},
				{Put: &types.Put{TableName: env.TableName(), Item: ten.AccessEntry(ten.AdminID, env.IDs.NewID()).AV()}},
				// A success resets the per-email counters and gives the
				// address back its reservation.
				{Delete: &types.Delete{TableName: env.TableName(), Key: attempts[0].AV()}},
				{Delete: &types.Delete{TableName: env.TableName(), Key: attempts[1].AV()}},
				{Update: &types.Update{TableName: env.TableName(), Key: attempts[2].AV(), UpdateExpression: aws.String("ADD #count :minus"),
					ExpressionAttributeNames: testkit.Names("#count", "count"), ExpressionAttributeValues: testkit.Values(":minus", -1)}},
			}})
			if err != nil {
				b.Fatal(err)
			}
		})
}

func rawGet(b *testing.B, env *testkit.Env, k table.Key) {
	if _, err := env.DB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: env.TableName(), Key: k.AV(), ConsistentRead: aws.Bool(true)}); err != nil {
		b.Fatal(err)
	}
}

func rawBatch(b *testing.B, env *testkit.Env, keys ...table.Key) {
	var avs []map[string]types.AttributeValue
	for _, k := range keys {
		avs = append(avs, k.AV())
	}
	if _, err := env.DB.BatchGetItem(context.Background(), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		*env.TableName(): {Keys: avs, ConsistentRead: aws.Bool(true)}}}); err != nil {
		b.Fatal(err)
	}
}
