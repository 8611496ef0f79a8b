package auth_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// Every authorized request resolves its session first (httpapi.Serve): one GetItem (the session) and one
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
// is the DynamoDB calls plus one password verification.
func BenchmarkSignIn(b *testing.B) {
	env := testkit.New(b)
	ten := env.NewTenant(b)
	svc := service(env)
	ctx := context.Background()
	hash, _ := identity.HashPassword(ten.AdminPassword)
	env.Measure(b,
		func(b *testing.B) {
			if _, err := svc.SignIn(ctx, auth.SignIn{Tenant: ten.Tenant, Email: ten.AdminEmail, Password: ten.AdminPassword}); err != nil {
				b.Fatal(err)
			}
		},
		func(b *testing.B) {
			rawGet(b, env, ten.Settings())
			attempts := []table.Key{ten.Attempts("CLIENT", ten.AdminEmail+"#unknown"), ten.Attempts("EMAIL", ten.AdminEmail), ten.Attempts("ADDRESS", "unknown")}
			rawBatch(b, env, attempts...)
			var reserve []types.TransactWriteItem
			for _, k := range attempts {
				reserve = append(reserve, types.TransactWriteItem{Put: &types.Put{TableName: env.TableName(), Item: k.AV()}})
			}
			if _, err := env.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: reserve}); err != nil {
				b.Fatal(err)
			}
			rawGet(b, env, ten.EmailClaim(ten.AdminEmail))
			rawGet(b, env, ten.User(ten.AdminID))
			if ok, _ := identity.VerifyPassword(ten.AdminPassword, hash); !ok {
				b.Fatal("verify")
			}
			rawBatch(b, env, ten.Account(ten.AccountID), ten.Membership(ten.AccountID, ten.AdminID))
			k := ten.Session("bench-" + env.IDs.NewID())
			_, err := env.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: env.TableName(), Item: k.AV()}},
				{Put: &types.Put{TableName: env.TableName(), Item: table.Key{PK: k.PK, SK: "ACCESS#x"}.AV()}},
				{Delete: &types.Delete{TableName: env.TableName(), Key: attempts[0].AV()}},
				{Delete: &types.Delete{TableName: env.TableName(), Key: attempts[1].AV()}},
				{Put: &types.Put{TableName: env.TableName(), Item: attempts[2].AV()}},
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
