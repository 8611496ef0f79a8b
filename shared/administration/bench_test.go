package administration_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	deletehandler "github.com/acme/accountadmin/functions/delete/handler"
	edithandler "github.com/acme/accountadmin/functions/edit/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/caps"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/jobs"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

// Benchmarks of the administration changes (`make bench`), each through its
// Lambda handler (functions/edit, functions/delete) with an API Gateway
// event built from the samples under events/, so JSON decoding, the
// caller's permissions, the If-Match and the response are included. Beside
// each, the raw baseline sends the same DynamoDB requests with the SDK:
// the same keys, item sizes, update and condition expressions and
// transaction shape (testkit.BenchEnv.Measure checks the request shapes
// match).

// version reads an item's version attribute, as a client would.
func version(b *testing.B, item map[string]types.AttributeValue) int64 {
	n, ok := item["version"].(*types.AttributeValueMemberN)
	if !ok {
		b.Fatalf("no version in %v", item["SK"])
	}
	var v int64
	fmt.Sscan(n.Value, &v)
	return v
}

func now(env *testkit.BenchEnv) string { return env.Clock.Now().UTC().Format(time.RFC3339Nano) }

// logEntry is a change-log item of the size the operation writes, under a
// fresh key.
func logEntry(b *testing.B, env *testkit.BenchEnv, ten testkit.Tenant, accountID, action, subjectType, subjectID string, before, after map[string]any) map[string]types.AttributeValue {
	return testkit.Item(b, changelog.New(ten.Tenant, env.IDs.NewID(), env.Clock.Now(), accountID,
		changelog.Actor{Kind: changelog.ActorUser, ID: ten.AdminID}, action, subjectType, subjectID, before, after))
}

// PATCH /accounts/{id} with If-Match: read the account, update it at its
// version with the change-log entry, then read its licence pools and its
// effective limits (plans.Load) for the response.
func BenchmarkRenameAccount(b *testing.B) {
	env := testkit.NewBench(b)
	ten := env.NewTenant(b)
	h := edithandler.New(env.Service())
	admin := callerOf(ten, ten.AdminID, ten.AccountID, access.RoleAdmin)
	rawAccount := env.AddAccount(b, ten, "Raw 0")
	n, rawN := 1, 1
	env.Measure(b,
		func(b *testing.B) {
			req := env.Event(b, "edit/rename-account.json", admin)
			req.Body = fmt.Sprintf(`{"name": "Renamed %d"}`, n)
			req.Headers["if-match"] = fmt.Sprintf(`"%d"`, n)
			testkit.Serve(b, h, req, 200)
			n++
		},
		func(b *testing.B) {
			env.RawAuthorize(b, admin)
			k := ten.Account(rawAccount)
			v := version(b, env.RawGet(b, k))
			name := fmt.Sprintf("Renamed %d", rawN)
			rawN++
			env.RawTransact(b,
				types.TransactWriteItem{Update: &types.Update{Key: k.AV(),
					UpdateExpression:         aws.String("ADD #v :one SET #name = :name, #gsi2sk = :gsi2sk, #updated = :now"),
					ConditionExpression:      aws.String("(#v = :v) AND (#status = :active)"),
					ExpressionAttributeNames: testkit.Names("#v", "version", "#name", "name", "#gsi2sk", "GSI2SK", "#updated", "updatedAt", "#status", "status"),
					ExpressionAttributeValues: testkit.Values(":one", 1, ":name", name, ":gsi2sk", ten.AccountsByName(strings.ToLower(name), rawAccount).SK,
						":now", now(env), ":v", v, ":active", "active")}},
				testkit.PutIfNew(logEntry(b, env, ten, rawAccount, "account.renamed", "account", rawAccount,
					map[string]any{"name": "Renamed 0"}, map[string]any{"name": name})))
			env.RawQuery(b, &dynamodb.QueryInput{KeyConditionExpression: aws.String("(#pk = :pk) AND (begins_with(#sk, :prefix))"),
				ExpressionAttributeNames:  testkit.Names("#pk", "PK", "#sk", "SK"),
				ExpressionAttributeValues: testkit.Values(":pk", k.PK, ":prefix", "LICENCE#")})
			// The response's effective limits: the default plan, the
			// tenant's usage defaults and the account's overrides.
			env.RawBatchGet(b, ten.Plan(plans.DefaultPlanID), ten.DefaultUsageAllowances(), ten.UsageAllowances(rawAccount))
		})
}

// PATCH /users/{id} (a member's first name) with If-Match: read the user
// and their memberships (GSI1), then one transaction updates the user at
// its version and status, copies the name to each membership (with the
// index keys that sort and search members by it) and writes the change-log
// entry.
func BenchmarkEditProfile(b *testing.B) {
	env := testkit.NewBench(b)
	ten := env.NewTenant(b)
	h := edithandler.New(env.Service())
	admin := callerOf(ten, ten.AdminID, ten.AccountID, access.RoleAdmin)
	u := env.AddUser(b, ten, ten.AccountID, "member@"+ten.ID()+".example", "")
	raw := env.AddUser(b, ten, ten.AccountID, "raw@"+ten.ID()+".example", "")
	n, rawN := 1, 1
	env.Measure(b,
		func(b *testing.B) {
			req := env.Event(b, "edit/edit-profile.json", admin, "/users/"+ten.AdminID, "/users/"+u.ID)
			req.PathParameters["userId"] = u.ID
			req.Body = fmt.Sprintf(`{"firstName": "Ada %d"}`, n)
			req.Headers["if-match"] = fmt.Sprintf(`"%d"`, n)
			testkit.Serve(b, h, req, 200)
			n++
		},
		func(b *testing.B) {
			env.RawAuthorize(b, admin)
			k := ten.User(raw.ID)
			v := version(b, env.RawGet(b, k))
			ix := ten.UserAccounts(raw.ID, "")
			ms := env.RawQuery(b, &dynamodb.QueryInput{IndexName: aws.String(table.GSI1),
				KeyConditionExpression:    aws.String("(#pk = :pk) AND (begins_with(#sk, :prefix))"),
				ExpressionAttributeNames:  testkit.Names("#pk", "GSI1PK", "#sk", "GSI1SK"),
				ExpressionAttributeValues: testkit.Values(":pk", ix.PK, ":prefix", ix.SK)})
			first := fmt.Sprintf("Ada %d", rawN)
			rawN++
			writes := []types.TransactWriteItem{}
			for _, m := range ms.Items {
				accountID := testkit.AttrString(m["accountId"])
				byEmail := ten.AccountMembersByEmail(accountID, raw.Email, raw.ID)
				byName, byFirst := accounts.NameIndex(ten.Tenant, accountID, raw.ID, raw.Email, first, "User")
				writes = append(writes, types.TransactWriteItem{Update: &types.Update{Key: ten.Membership(accountID, raw.ID).AV(),
					UpdateExpression: aws.String("SET #email = :email, #gsi2pk = :gsi2pk, #gsi2sk = :gsi2sk, #gsi4pk = :gsi4pk, #gsi4sk = :gsi4sk, " +
						"#first = :first, #last = :last, #gsi5pk = :gsi5pk, #gsi5sk = :gsi5sk"),
					ConditionExpression: aws.String("attribute_exists(#pk)"),
					ExpressionAttributeNames: testkit.Names("#email", "email", "#gsi2pk", "GSI2PK", "#gsi2sk", "GSI2SK", "#gsi4pk", "GSI4PK", "#gsi4sk", "GSI4SK",
						"#first", "firstName", "#last", "lastName", "#gsi5pk", "GSI5PK", "#gsi5sk", "GSI5SK", "#pk", "PK"),
					ExpressionAttributeValues: testkit.Values(":email", raw.Email, ":gsi2pk", byEmail.PK, ":gsi2sk", byEmail.SK, ":gsi4pk", byName.PK,
						":gsi4sk", byName.SK, ":first", first, ":last", "User", ":gsi5pk", byFirst.PK, ":gsi5sk", byFirst.SK)}})
			}
			writes = append(writes,
				types.TransactWriteItem{Update: &types.Update{Key: k.AV(),
					UpdateExpression:          aws.String("ADD #v :one SET #updated = :now, #first = :first"),
					ConditionExpression:       aws.String("(#v = :v) AND (#status = :active)"),
					ExpressionAttributeNames:  testkit.Names("#v", "version", "#updated", "updatedAt", "#first", "firstName", "#status", "status"),
					ExpressionAttributeValues: testkit.Values(":one", 1, ":now", now(env), ":first", first, ":v", v, ":active", "active")}},
				testkit.PutIfNew(logEntry(b, env, ten, ten.AccountID, "user.profile_changed", "user", raw.ID,
					map[string]any{"firstName": "Ada 0"}, map[string]any{"firstName": first})),
				testkit.RawAccountOpen(ten.Tenant, ten.AccountID))
			env.RawTransact(b, writes...)
		})
}

// PUT /accounts/{id}/users/{userId}/roles with If-Match, alternating Admin
// on and off a member without a licence (so no last-admin check applies):
// read membership and user, update the membership at its version with the
// change-log entry, the grantor's membership checked at its version and the
// account checked open; granting Admin also reads the tenant's settings and
// counts against its Admins-per-hour cap.
func BenchmarkSetRoles(b *testing.B) {
	env := testkit.NewBench(b)
	ten := env.NewTenant(b)
	h := edithandler.New(env.Service())
	admin := callerOf(ten, ten.AdminID, ten.AccountID, access.RoleAdmin)
	u := env.AddUser(b, ten, ten.AccountID, "member@"+ten.ID()+".example", "-")
	raw := env.AddUser(b, ten, ten.AccountID, "raw@"+ten.ID()+".example", "-")
	// Both paths grant Admin every other run, against one tenant cap: set
	// it beyond what a benchmark reaches.
	(&world{env: env.Env, ten: ten}).setLimits(b, tenancy.Limits{AdminsPerHour: 1 << 30})
	roles := [][]string{{"Viewer"}, {"Admin", "Viewer"}}
	n, rawN := 1, 1
	env.Measure(b,
		func(b *testing.B) {
			req := env.Event(b, "edit/set-roles.json", admin, "${MEMBER_ID}", u.ID)
			req.Body = `{"roles": ["` + strings.Join(roles[n%2], `", "`) + `"]}`
			req.Headers["if-match"] = fmt.Sprintf(`"%d"`, n)
			testkit.Serve(b, h, req, 200)
			n++
		},
		func(b *testing.B) {
			// The grantor's membership, as the session resolution read it.
			grantor := env.RawAuthorize(b, admin)
			k := ten.Membership(ten.AccountID, raw.ID)
			env.RawBatchGet(b, k, ten.User(raw.ID))
			to, from := roles[rawN%2], roles[(rawN+1)%2]
			rawN++
			writes := []types.TransactWriteItem{
				// The grantor still holds the rights they granted from.
				{ConditionCheck: &types.ConditionCheck{Key: ten.Membership(ten.AccountID, ten.AdminID).AV(),
					ConditionExpression: aws.String("#v = :v"), ExpressionAttributeNames: testkit.Names("#v", "version"),
					ExpressionAttributeValues: testkit.Values(":v", grantor)}},
			}
			if slices.Contains(to, access.RoleAdmin) {
				// Granting Admin counts against the tenant's Admins per
				// hour, whose limit is a tenant setting.
				var settings tenancy.Settings
				if err := attributevalue.UnmarshalMap(env.RawGet(b, ten.Settings()), &settings); err != nil {
					b.Fatal(err)
				}
				limit := caps.Admins.Limit(settings)
				hour := env.Clock.Now().Truncate(time.Hour)
				writes = append(writes, types.TransactWriteItem{Update: &types.Update{Key: ten.AdminsCreated(hour).AV(),
					UpdateExpression:          aws.String("ADD #count :one SET #type = :type, #ttl = :ttl"),
					ConditionExpression:       aws.String("attribute_not_exists(#count) OR #count <= :max"),
					ExpressionAttributeNames:  testkit.Names("#count", "count", "#type", "type", "#ttl", "ttl"),
					ExpressionAttributeValues: testkit.Values(":one", 1, ":type", "INVITE_QUOTA", ":ttl", hour.Add(2*time.Hour).Unix(), ":max", limit-1)}})
			}
			writes = append(writes,
				types.TransactWriteItem{Update: &types.Update{Key: k.AV(),
					UpdateExpression:         aws.String("ADD #v :one SET #roles = :roles, #updated = :now"),
					ConditionExpression:      aws.String("#v = :v"),
					ExpressionAttributeNames: testkit.Names("#v", "version", "#roles", "roles", "#updated", "updatedAt"),
					ExpressionAttributeValues: testkit.Values(":one", 1, ":roles", &types.AttributeValueMemberSS{Value: to}, ":now", now(env),
						":v", int64(rawN-1))}},
				testkit.PutIfNew(logEntry(b, env, ten, ten.AccountID, "membership.roles_changed", "user", raw.ID,
					map[string]any{"roles": from}, map[string]any{"roles": to})),
				testkit.RawAccountOpen(ten.Tenant, ten.AccountID))
			env.RawTransact(b, writes...)
		})
}

// DELETE /users/{id} of a member of one account: read the user, their
// memberships (GSI1) and the licence pool, then one transaction deletes the
// membership and the email claim, marks the user deleted and writes the
// change-log entry.
func BenchmarkDeleteUser(b *testing.B) {
	env := testkit.NewBench(b)
	ten := env.NewTenant(b)
	h := deletehandler.New(env.Service())
	admin := callerOf(ten, ten.AdminID, ten.AccountID, access.RoleAdmin)
	users := leavers(b, env, ten, b.N+2)
	rawUsers := leavers(b, env, ten, b.N+2)
	env.Measure(b,
		func(b *testing.B) {
			u := users[0]
			users = users[1:]
			testkit.Serve(b, h, env.Event(b, "delete/delete-user.json", admin, "${MEMBER_ID}", u.ID), 204)
		},
		func(b *testing.B) {
			env.RawAuthorize(b, admin)
			u := rawUsers[0]
			rawUsers = rawUsers[1:]
			uk := ten.User(u.ID)
			v := version(b, env.RawGet(b, uk))
			ix := ten.UserAccounts(u.ID, "")
			ms := env.RawQuery(b, &dynamodb.QueryInput{IndexName: aws.String(table.GSI1),
				KeyConditionExpression:    aws.String("(#pk = :pk) AND (begins_with(#sk, :prefix))"),
				ExpressionAttributeNames:  testkit.Names("#pk", "GSI1PK", "#sk", "GSI1SK"),
				ExpressionAttributeValues: testkit.Values(":pk", ix.PK, ":prefix", ix.SK)})
			env.RawBatchGet(b, ten.LicencePool(ten.AccountID, "standard"))
			mv := version(b, ms.Items[0])
			env.RawTransact(b,
				types.TransactWriteItem{Delete: &types.Delete{Key: ten.Membership(ten.AccountID, u.ID).AV(),
					ConditionExpression: aws.String("#v = :v"), ExpressionAttributeNames: testkit.Names("#v", "version"),
					ExpressionAttributeValues: testkit.Values(":v", mv)}},
				testkit.PutIfNew(logEntry(b, env, ten, ten.AccountID, "user.deleted", "user", u.ID,
					map[string]any{"email": u.Email, "roles": []string{"Viewer"}, "licence": "standard"}, nil)),
				types.TransactWriteItem{Update: &types.Update{Key: uk.AV(),
					UpdateExpression:    aws.String("ADD #v :one REMOVE #hash, #phone, #gsi2pk, #gsi2sk SET #status = :deleted, #deletedAt = :now, #epoch = :epoch, #updated = :now"),
					ConditionExpression: aws.String("#v = :v"),
					ExpressionAttributeNames: testkit.Names("#v", "version", "#hash", "passwordHash", "#phone", "phone", "#gsi2pk", "GSI2PK", "#gsi2sk", "GSI2SK",
						"#status", "status", "#deletedAt", "deletedAt", "#epoch", "sessionEpoch", "#updated", "updatedAt"),
					ExpressionAttributeValues: testkit.Values(":one", 1, ":deleted", "deleted", ":now", now(env), ":epoch", 1, ":v", v)}},
				types.TransactWriteItem{Delete: &types.Delete{Key: ten.EmailClaim(u.Email).AV(),
					ConditionExpression: aws.String("#user = :user"), ExpressionAttributeNames: testkit.Names("#user", "userId"),
					ExpressionAttributeValues: testkit.Values(":user", u.ID)}},
				// Second factors go with the user (none enrolled here).
				types.TransactWriteItem{Delete: &types.Delete{Key: ten.TwoFactor(u.ID).AV()}},
				testkit.RawAccountOpen(ten.Tenant, ten.AccountID))
		})
}

// leavers adds n members of the tenant's account (with the default licence)
// for a delete benchmark to delete.
func leavers(b *testing.B, env *testkit.BenchEnv, ten testkit.Tenant, n int) []testkit.User {
	out := make([]testkit.User, n)
	jobs.Parallel(len(out), 16, func(i int) {
		out[i] = env.AddUser(b, ten, ten.AccountID, fmt.Sprintf("leaver-%s@%s.example", strings.ToLower(env.IDs.NewID()), ten.ID()), "")
	})
	return out
}
