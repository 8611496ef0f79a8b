package apikeys_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apikeys"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// An authorized request resolves its bearer first (httpapi.Server.Serve, through
// auth.Service.Authorize): a session is one GetItem and one BatchGetItem
// (user, membership, account); an account's key two GetItems (the key, the
// account), a tenant's key one, and lastUsedAt one conditional write a
// minute at most (none here: the clock stands still).
func BenchmarkAuthorizeKeyVsSession(b *testing.B) {
	env := testkit.New(b)
	ten := env.NewTenant(b)
	svc := &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	ctx := context.Background()
	signed, err := svc.SignIn(ctx, auth.SignIn{Tenant: ten.Tenant, Email: ten.AdminEmail, Password: ten.AdminPassword})
	if err != nil {
		b.Fatal(err)
	}
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "bench", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	key := func(accountID, role string, c access.Caller) string {
		keys := &apikeys.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
		cmd, err := apikeys.CreateRequest{Name: "bench-" + env.IDs.NewID(), Role: role}.Command(c, accountID, env.Clock.Now())
		if err != nil {
			b.Fatal(err)
		}
		k, err := keys.Create(ctx, cmd)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Authorize(ctx, k.Secret); err != nil { // its first lastUsedAt
			b.Fatal(err)
		}
		return k.Secret
	}
	accountKey := key(ten.AccountID, access.RoleViewer, admin)
	op := admin
	op.Operator = true
	tenantKey := key("", "", op)
	authorize := func(raw string) func(b *testing.B) {
		return func(b *testing.B) {
			if _, err := svc.Authorize(ctx, raw); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("session", func(b *testing.B) {
		tok := identity.Token(signed.Token)
		env.Measure(b, authorize(signed.Token), func(b *testing.B) {
			rawGet(b, env, ten.Session(tok.Hash()))
			rawBatch(b, env, ten.User(ten.AdminID), ten.Membership(ten.AccountID, ten.AdminID), ten.Account(ten.AccountID))
		})
	})
	b.Run("account key", func(b *testing.B) {
		env.Measure(b, authorize(accountKey), func(b *testing.B) {
			rawGet(b, env, ten.APIKey(ids.Hash(accountKey)))
			rawGet(b, env, ten.Account(ten.AccountID))
		})
	})
	b.Run("tenant key", func(b *testing.B) {
		env.Measure(b, authorize(tenantKey), func(b *testing.B) {
			rawGet(b, env, ten.APIKey(ids.Hash(tenantKey)))
		})
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
