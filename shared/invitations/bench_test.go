package invitations_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"

	accepthandler "github.com/acme/accountadmin/functions/accept/handler"
	invitehandler "github.com/acme/accountadmin/functions/invite/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

// Benchmarks run against DynamoDB Local and SES local (`make bench`) and
// report, beside time, the DynamoDB calls each operation makes.

// inviteWorld is a world on a recording client whose invitation limits
// never refuse, with the invite and accept functions' handlers over it.
func inviteWorld(b *testing.B) (*testkit.BenchEnv, *world, httpapi.LambdaHandler, httpapi.LambdaHandler) {
	env := testkit.NewBench(b)
	w := worldOn(b, env.Env)
	w.svc.Limits = invitations.Limits{PerInviterPerHour: 1 << 30, PerAccountPerHour: 1 << 30}
	setTenantLimits(b, env.Env, w.ten.Tenant, tenancy.Limits{InvitationsPerHour: 1 << 30, AdminsPerHour: 1 << 30})
	return env, w, invitehandler.NewWith(env.Service(), w.svc), accepthandler.NewWith(env.Service(), w.svc)
}

// inviteBody is the request body of an invitation to emails, emailed.
func inviteBody(emails []string) string {
	body, _ := json.Marshal(map[string]any{"emails": emails, "roles": []string{"Viewer"},
		"message": "Welcome to the team! Your reports are waiting.", "sendEmail": true})
	return string(body)
}

// inviteTemplate is what one invitation the handler made looks like in the
// table and in the mail: the raw baseline writes copies of these items (under
// a new id, email and token hash: the same sizes) and sends a message of the
// same size.
type inviteTemplate struct {
	id, email, tokenHash string
	invitation, entry    map[string]types.AttributeValue
	guard                map[string]types.AttributeValue
	message              email.Message
}

func newInviteTemplate(b *testing.B, env *testkit.BenchEnv, w *world, h httpapi.LambdaHandler) inviteTemplate {
	addr := address("template")
	req := env.Event(b, "invite/create.json", w.admin)
	req.Body = inviteBody([]string{addr})
	delete(req.Headers, "idempotency-key")
	var res invitations.InviteResult
	if err := json.Unmarshal([]byte(testkit.Serve(b, h, req, 201).Body), &res); err != nil {
		b.Fatal(err)
	}
	id, acc := res.Results[0].InvitationID, w.ten.AccountID
	inv := env.RawGet(b, w.ten.Invitation(id))
	tpl := inviteTemplate{id: id, email: addr, tokenHash: testkit.AttrString(inv["tokenHash"]), invitation: inv,
		entry: env.RawGet(b, w.ten.AccountInvitation(acc, id)), guard: env.RawGet(b, w.ten.PendingInvitation(acc, addr))}
	msg, err := email.Invitation{To: addr, InviterName: "Ada Admin", InviterEmail: w.ten.AdminEmail, ProductName: "Tenant " + w.ten.ID(),
		Accounts: []string{"Account of " + w.ten.ID()}, Roles: []string{"Viewer"}, Message: "Welcome to the team! Your reports are waiting.",
		AcceptURL: env.Config.BaseURL + "/invitations/accept?token=" + w.ten.ID() + "." + id + "." + ids.NewSecret(),
		ExpiresAt: env.Clock.Now().Add(invitations.ValidFor)}.Render()
	if err != nil {
		b.Fatal(err)
	}
	tpl.message = msg
	return tpl
}

// benchInvite invites perRequest new addresses to the admin's account
// through the invite function's handler (POST /accounts/{id}/invitations,
// the event of events/invite/create.json without its Idempotency-Key, with
// emails), each emailed through SES local. The raw baseline sends the same
// requests: one BatchGetItem for settings, inviter and account, one for the
// addresses' email claims and pending guards, the quota transaction (inviter,
// account, tenant), then
// on 8 workers per address the creating transaction (invitation, account
// entry, pending guard, change-log entry), the SES SendEmail of a message of
// the same size, and the UpdateItem recording the delivery.
func benchInvite(b *testing.B, perRequest int) {
	env, w, h, _ := inviteWorld(b)
	tpl := newInviteTemplate(b, env, w, h)
	ten, acc := w.ten, w.ten.AccountID
	actor := changelog.Actor{Kind: changelog.ActorUser, ID: ten.AdminID}
	fresh := func() []string {
		emails := make([]string, perRequest)
		for j := range emails {
			emails[j] = address("bench")
		}
		return emails
	}
	env.Measure(b,
		func(b *testing.B) {
			req := env.Event(b, "invite/create.json", w.admin)
			req.Body = inviteBody(fresh())
			delete(req.Headers, "idempotency-key")
			testkit.Serve(b, h, req, 201)
		},
		func(b *testing.B) {
			// The grantor's membership, as the session resolution read it.
			grantor := env.RawAuthorize(b, w.admin)
			emails := fresh()
			now := env.Clock.Now()
			// Only the settings are new here: RawAuthorize has just read the
			// inviter and the account, which the operation reads again
			// (in this BatchGetItem).
			env.RawBatchGet(b, ten.Settings(), ten.User(ten.AdminID), ten.Account(acc))
			// The seats of the default licence: its pool and the plan.
			env.RawBatchGet(b, ten.LicencePool(acc, tenancy.DefaultLicence), ten.Plan(plans.DefaultPlanID))
			var keys []table.Key
			for _, e := range emails {
				keys = append(keys, ten.EmailClaim(e), ten.PendingInvitation(acc, e))
			}
			env.RawBatchGet(b, keys...)
			hour := now.Truncate(time.Hour)
			quota := func(k table.Key) types.TransactWriteItem {
				return types.TransactWriteItem{Update: &types.Update{Key: k.AV(),
					UpdateExpression:          aws.String("ADD #count :n SET #type = :type, #ttl = :ttl"),
					ConditionExpression:       aws.String("attribute_not_exists(#count) OR #count <= :room"),
					ExpressionAttributeNames:  testkit.Names("#count", "count", "#type", "type", "#ttl", "ttl"),
					ExpressionAttributeValues: testkit.Values(":n", perRequest, ":type", "INVITE_QUOTA", ":ttl", hour.Add(2*time.Hour).Unix(), ":room", 1<<30-perRequest)}}
			}
			env.RawTransact(b, quota(ten.InviterQuota(ten.AdminID, hour)), quota(ten.AccountInviteQuota(acc, hour)), quota(ten.TenantInviteQuota(hour)),
				// The account's quota counter is in the account's partition:
				// nothing is written there while the account is closed.
				testkit.RawAccountOpen(ten.Tenant, acc))
			var wg sync.WaitGroup
			sem := make(chan struct{}, 8)
			for _, e := range emails {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					id := env.IDs.NewID()
					hash := ids.Hash(ten.ID() + "." + id + "." + ids.NewSecret())
					swap := []string{tpl.id, id, tpl.email, e, tpl.tokenHash, hash}
					env.RawTransact(b,
						testkit.PutIfNew(testkit.Rewrite(tpl.invitation, swap...)),
						testkit.PutIfNew(testkit.Rewrite(tpl.entry, swap...)),
						testkit.PutIfNew(testkit.Rewrite(tpl.guard, swap...)),
						testkit.PutIfNew(testkit.Item(b, changelog.New(ten.Tenant, env.IDs.NewID(), now, acc, actor, "invitation.created", "invitation", id, nil,
							map[string]any{"email": e, "roles": []string{"Viewer"}, "accountIds": []string{acc}, "sendEmail": true}))),
						grantorCheck(ten.Tenant, acc, ten.AdminID, grantor),
						testkit.RawAccountOpen(ten.Tenant, acc))
					m := tpl.message
					_, err := env.SES.SendEmail(b.Context(), &ses.SendEmailInput{Source: aws.String(env.Config.Sender),
						Destination: &sestypes.Destination{ToAddresses: []string{e}},
						Message: &sestypes.Message{Subject: &sestypes.Content{Data: aws.String(m.Subject), Charset: aws.String("UTF-8")},
							Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String(m.Text), Charset: aws.String("UTF-8")},
								Html: &sestypes.Content{Data: aws.String(m.HTML), Charset: aws.String("UTF-8")}}}})
					if err != nil {
						b.Error(err)
						return
					}
					_, err = env.DB.UpdateItem(b.Context(), &dynamodb.UpdateItemInput{TableName: env.TableName(), Key: ten.Invitation(id).AV(),
						UpdateExpression: aws.String("SET #delivery = :sent REMOVE #err"), ConditionExpression: aws.String("#hash = :hash"),
						ExpressionAttributeNames:  testkit.Names("#delivery", "delivery", "#err", "deliveryError", "#hash", "tokenHash"),
						ExpressionAttributeValues: testkit.Values(":sent", invitations.DeliverySent, ":hash", hash)})
					if err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
		})
}

// grantorVersion reads the account and the grantor's membership in it, as
// the grant check does, and returns the membership's version.
func grantorVersion(b *testing.B, env *testkit.BenchEnv, t table.Tenant, accountID, userID string) int64 {
	for _, it := range env.RawBatchGetItems(b, t.Account(accountID), t.Membership(accountID, userID)) {
		if testkit.AttrString(it["SK"]) != "ACCOUNT" {
			return testkit.AttrNumber(it["version"])
		}
	}
	b.Fatalf("no membership of %s in %s", userID, accountID)
	return 0
}

// grantorCheck holds the grantor's membership at the version read.
func grantorCheck(t table.Tenant, accountID, userID string, version int64) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{Key: t.Membership(accountID, userID).AV(),
		ConditionExpression: aws.String("#v = :v"), ExpressionAttributeNames: testkit.Names("#v", "version"),
		ExpressionAttributeValues: testkit.Values(":v", version)}}
}

// One email per request, emailed through SES local.
func BenchmarkInviteOne(b *testing.B) { benchInvite(b, 1) }

// Fifty emails per request, emailed through SES local.
func BenchmarkInviteFifty(b *testing.B) { benchInvite(b, 50) }

// BenchmarkAccept accepts invitations as new users through the accept
// function's handler (POST /invitations/accept, the event of
// events/accept/accept.json with a fresh token each time): most of the time
// is the argon2id hash of the new password, on purpose, so the raw baseline
// hashes one too. Its DynamoDB requests are the operation's: the invitation,
// one BatchGetItem for settings, email claim and account, one for the
// licence pool, and the accepting transaction (invitation, user, email
// claim, account entry, pending guard, account check, membership, licence
// pool check, change-log entry, session, access-history entry).
func BenchmarkAccept(b *testing.B) {
	env, w, _, h := inviteWorld(b)
	invite := func(n int) []string {
		tokens := make([]string, n)
		for i := range tokens {
			_, tokens[i] = w.invite(b, address("accept"))
		}
		return tokens
	}
	tokens, rawTokens := invite(b.N+1), invite(b.N+1)
	ten, acc := w.ten.Tenant, w.ten.AccountID
	const first, last, password = "Grace", "Hopper", "Cobol-Compiler-1952!"
	env.Measure(b,
		func(b *testing.B) {
			req := env.Event(b, "accept/accept.json", access.Caller{Tenant: ten}, "${INVITATION_TOKEN}", tokens[0])
			tokens = tokens[1:]
			testkit.Serve(b, h, req, 201)
		},
		func(b *testing.B) {
			token := rawTokens[0]
			rawTokens = rawTokens[1:]
			_, id, err := invitations.ParseToken(token)
			if err != nil {
				b.Fatal(err)
			}
			var inv invitations.Invitation
			if err := attributevalue.UnmarshalMap(env.RawGet(b, ten.Invitation(id)), &inv); err != nil {
				b.Fatal(err)
			}
			env.RawBatchGet(b, ten.Settings(), ten.EmailClaim(inv.Email), ten.Account(acc))
			// The inviter's authority, re-checked at accept
			// (access.Checker.RequireGrantBy): their user, then their
			// membership (with the account again). Every key of these reads
			// is known once the invitation is read: one BatchGetItem would
			// serve them all, but the operation sends three in series.
			env.RawGet(b, ten.User(inv.InviterID))
			grantor := grantorVersion(b, env, ten, acc, inv.InviterID)
			// The seats of the licence: its pool and the plan.
			env.RawBatchGet(b, ten.LicencePool(acc, tenancy.DefaultLicence), ten.Plan(plans.DefaultPlanID))
			hash, err := identity.HashPassword(password)
			if err != nil {
				b.Fatal(err)
			}
			now := env.Clock.Now()
			user := identity.NewUser(ten, identity.User{ID: env.IDs.NewID(), Email: inv.Email, FirstName: first, LastName: last,
				PasswordHash: hash, Status: identity.UserActive, HomeAccountID: acc, CreatedAt: now, UpdatedAt: now})
			m := accounts.NewMembership(ten, accounts.Membership{AccountID: acc, UserID: user.ID, Email: user.Email, Roles: inv.Roles,
				FirstName: first, LastName: last, Licence: tenancy.DefaultLicence, CreatedAt: now, UpdatedAt: now})
			entry := changelog.New(ten, env.IDs.NewID(), now, acc, changelog.Actor{Kind: changelog.ActorUser, ID: user.ID}, "invitation.accepted", "user", user.ID, nil,
				map[string]any{"invitationId": inv.ID, "email": inv.Email, "roles": inv.Roles, "licence": tenancy.DefaultLicence,
					"newUser": true, "joined": true, "invitedBy": inv.InviterID})
			sess := identity.NewSession(ten, identity.NewToken(ten), env.IDs.NewID(), user, acc, now, tenancy.Settings{}.SessionTTL())
			history := identity.NewAccessEntry(ten, env.IDs.NewID(), user.ID, "sign_in", acc, now, "203.0.113.7", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15")
			ix := ten.AccountInvitationsByStatus(acc, invitations.StatusAccepted, inv.ID)
			env.RawTransact(b,
				types.TransactWriteItem{Update: &types.Update{Key: ten.Invitation(inv.ID).AV(),
					UpdateExpression:         aws.String("ADD #v :one SET #status = :accepted, #acceptedAt = :epoch, #acceptedBy = :user, #updated = :now REMOVE #gsi3pk, #gsi3sk"),
					ConditionExpression:      aws.String("#status = :pending AND #hash = :hash AND #exp > :epoch"),
					ExpressionAttributeNames: testkit.Names("#v", "version", "#status", "status", "#acceptedAt", "acceptedAt", "#acceptedBy", "acceptedBy", "#updated", "updatedAt", "#gsi3pk", "GSI3PK", "#gsi3sk", "GSI3SK", "#hash", "tokenHash", "#exp", "expiresAt"),
					ExpressionAttributeValues: testkit.Values(":one", 1, ":accepted", invitations.StatusAccepted, ":epoch", now.Unix(), ":user", user.ID,
						":now", now.UTC().Format(time.RFC3339Nano), ":pending", invitations.StatusPending, ":hash", inv.TokenHash)}},
				testkit.PutIfNew(testkit.Item(b, user)),
				testkit.PutIfNew(testkit.Item(b, identity.NewEmailClaim(ten, inv.Email, user.ID))),
				types.TransactWriteItem{Update: &types.Update{Key: ten.AccountInvitation(acc, inv.ID).AV(),
					UpdateExpression: aws.String(moveEntryUpdate), ConditionExpression: aws.String("attribute_exists(#pk0)"),
					ExpressionAttributeNames:  moveEntryNames(),
					ExpressionAttributeValues: testkit.Values(":status", invitations.StatusAccepted, ":pk", ix.PK, ":sk", ix.SK)}},
				types.TransactWriteItem{Delete: &types.Delete{Key: ten.PendingInvitation(acc, inv.Email).AV()}},
				testkit.RawAccountOpen(ten, acc),
				testkit.PutIfNew(testkit.Item(b, m)),
				types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{Key: ten.LicencePool(acc, tenancy.DefaultLicence).AV(),
					ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: testkit.Names("#pk", "PK")}},
				testkit.PutIfNew(testkit.Item(b, entry)),
				testkit.PutIfNew(testkit.Item(b, sess)),
				types.TransactWriteItem{Put: &types.Put{Item: testkit.Item(b, history)}},
				// The inviter still holds what they granted, and is active.
				grantorCheck(ten, acc, inv.InviterID, grantor),
				types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{Key: ten.User(inv.InviterID).AV(), ConditionExpression: aws.String("#status = :active"),
					ExpressionAttributeNames: testkit.Names("#status", "status"), ExpressionAttributeValues: testkit.Values(":active", identity.UserActive)}})
		})
}

// The expiry job in a table of 10^5 unrelated items (members, change-log
// entries, and pending invitations that are not due, some in today's
// bucket): each run expires the 10 invitations that fell due, and what it
// reads grows with those, not with the table. It runs through the service
// (the job's handler only wraps it). The raw baseline sends the same
// requests: one GSI3 Query per day bucket of the look-back, a BatchGetItem
// of the due invitations, then on 8 workers one transaction per invitation
// (the invitation marked expired under its pending-and-due condition, its
// account entry moved, its pending guard deleted, a change-log entry).
func BenchmarkExpireDueAmong100kItems(b *testing.B) {
	const due = 10
	env, w := expiryBenchWorld(b)
	ctx := context.Background()
	jobAt := testkit.Start.Add(invitations.ValidFor + time.Hour)
	job := *w.svc
	job.Clock = clock.NewManual(jobAt)
	prepare := func(b *testing.B) {
		for range due {
			w.invite(b, address("due"))
		}
	}
	var expired, indexRead, read int64
	env.MeasurePrepared(b, prepare,
		func(b *testing.B) {
			rep, err := job.ExpireDue(ctx)
			if err != nil || rep.Expired != due {
				b.Fatalf("expire: %+v %v", rep, err)
			}
			expired += int64(rep.Expired)
			indexRead += int64(rep.IndexItemsRead)
			read += int64(rep.ItemsRead)
		},
		func(b *testing.B) {
			if n := rawExpire(b, env, jobAt); n != due {
				b.Fatalf("raw expiry expired %d", n)
			}
		})
	b.ReportMetric(float64(indexRead)/float64(expired), "index-items-read/due")
	b.ReportMetric(float64(read+indexRead)/float64(expired), "items-read/due")
}

// rawExpire is the expiry job's requests written with the SDK; it returns
// how many invitations it expired.
func rawExpire(b *testing.B, env *testkit.BenchEnv, now time.Time) int {
	upper := table.DueSortKey(now.Add(time.Second))
	today := now.UTC().Truncate(24 * time.Hour)
	ts := now.UTC().Format(time.RFC3339Nano)
	expired := 0
	for day := today.Add(-invitations.ExpiryLookBack); !day.After(today); day = day.Add(24 * time.Hour) {
		out := env.RawQuery(b, &dynamodb.QueryInput{IndexName: aws.String(table.GSI3),
			KeyConditionExpression:    aws.String("#pk = :bucket AND #sk < :upper"),
			ExpressionAttributeNames:  testkit.Names("#pk", "GSI3PK", "#sk", "GSI3SK"),
			ExpressionAttributeValues: testkit.Values(":bucket", table.DueBucket(invitations.DueKind, day), ":upper", upper),
			Limit:                     aws.Int32(100)})
		if len(out.Items) == 0 {
			continue
		}
		var keys []table.Key
		for _, it := range out.Items {
			parts := strings.Split(testkit.AttrString(it["GSI3SK"]), "#") // expiry#tenant#invitation
			keys = append(keys, table.MustTenant(parts[1]).Invitation(parts[2]))
		}
		items := env.RawBatchGetItems(b, keys...)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for _, it := range items {
			var inv invitations.Invitation
			if err := attributevalue.UnmarshalMap(it, &inv); err != nil {
				b.Fatal(err)
			}
			ten := table.MustTenant(strings.Split(strings.TrimPrefix(inv.PK, "T#"), "#")[0])
			expired++
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				writes := []types.TransactWriteItem{{Update: &types.Update{Key: ten.Invitation(inv.ID).AV(),
					UpdateExpression:         aws.String("ADD #v :one SET #status = :expired, #expiredAt = :epoch, #updated = :now REMOVE #gsi3pk, #gsi3sk"),
					ConditionExpression:      aws.String("#status = :pending AND #exp = :exp AND #exp <= :epoch"),
					ExpressionAttributeNames: testkit.Names("#v", "version", "#status", "status", "#expiredAt", "expiredAt", "#updated", "updatedAt", "#gsi3pk", "GSI3PK", "#gsi3sk", "GSI3SK", "#exp", "expiresAt"),
					ExpressionAttributeValues: testkit.Values(":one", 1, ":expired", invitations.StatusExpired, ":epoch", now.Unix(), ":now", ts,
						":pending", invitations.StatusPending, ":exp", inv.ExpiresAt)}}}
				for _, a := range inv.AccountIDs {
					ix := ten.AccountInvitationsByStatus(a, invitations.StatusExpired, inv.ID)
					writes = append(writes,
						types.TransactWriteItem{Update: &types.Update{Key: ten.AccountInvitation(a, inv.ID).AV(),
							UpdateExpression:          aws.String(moveEntryUpdate),
							ConditionExpression:       aws.String("attribute_exists(#pk0)"),
							ExpressionAttributeNames:  moveEntryNames(),
							ExpressionAttributeValues: testkit.Values(":status", invitations.StatusExpired, ":pk", ix.PK, ":sk", ix.SK)}},
						types.TransactWriteItem{Delete: &types.Delete{Key: ten.PendingInvitation(a, inv.Email).AV()}},
						testkit.PutIfNew(testkit.Item(b, changelog.New(ten, env.IDs.NewID(), now, a, changelog.System(invitations.ExpiryJob), "invitation.expired",
							"invitation", inv.ID, map[string]any{"status": invitations.StatusPending},
							map[string]any{"status": invitations.StatusExpired, "email": inv.Email, "expiresAt": inv.Expiry()}))))
				}
				env.RawTransact(b, writes...)
			}()
		}
		wg.Wait()
	}
	return expired
}

// moveEntryUpdate is how an invitation's account entry moves to another
// status (its index keys follow; the pending-only ones go).
const moveEntryUpdate = "SET #status = :status, #gsi1pk = :pk, #gsi1sk = :sk REMOVE #gsi2pk, #gsi2sk, #gsi4pk, #gsi4sk"

func moveEntryNames() map[string]string {
	return testkit.Names("#status", "status", "#gsi1pk", "GSI1PK", "#gsi1sk", "GSI1SK", "#gsi2pk", "GSI2PK", "#gsi2sk", "GSI2SK",
		"#gsi4pk", "GSI4PK", "#gsi4sk", "GSI4SK", "#pk0", "PK")
}

var unrelated struct {
	once  sync.Once
	env   *testkit.BenchEnv
	world *world
	err   error
}

// expiryBenchWorld is one table of its own (the job reads the due index
// across tenants) with 10^5 unrelated items, made once per process with
// BatchWriteItem (25 items a call, 8 writers).
func expiryBenchWorld(b *testing.B) (*testkit.BenchEnv, *world) {
	unrelated.once.Do(func() {
		env := testkit.NewBench(b)
		if unrelated.err = env.OnOwnTable(context.Background(), "inv"); unrelated.err != nil {
			return
		}
		w := worldOn(b, env.Env)
		w.svc.Limits = invitations.Limits{PerInviterPerHour: 1 << 30, PerAccountPerHour: 1 << 30}
		setTenantLimits(b, env.Env, w.ten.Tenant, tenancy.Limits{InvitationsPerHour: 1 << 30, AdminsPerHour: 1 << 30})
		unrelated.env, unrelated.world, unrelated.err = env, w, fillUnrelated(context.Background(), w, 100_000)
	})
	if unrelated.err != nil {
		b.Fatal(unrelated.err)
	}
	return unrelated.env, unrelated.world
}

func fillUnrelated(ctx context.Context, w *world, n int) error {
	ten := w.ten.Tenant
	item := func(i int) map[string]types.AttributeValue {
		s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
		acc := fmt.Sprintf("ACC%05d", i/50)
		switch i % 4 {
		case 0, 1: // memberships
			k := ten.Membership(acc, fmt.Sprintf("U%06d", i))
			ix := ten.UserAccounts(fmt.Sprintf("U%06d", i), acc)
			return map[string]types.AttributeValue{"PK": s(k.PK), "SK": s(k.SK), "type": s("MEMBERSHIP"), "GSI1PK": s(ix.PK), "GSI1SK": s(ix.SK)}
		case 2: // change-log entries
			k := ten.ChangeLogEntry(acc, fmt.Sprintf("L%06d", i))
			return map[string]types.AttributeValue{"PK": s(k.PK), "SK": s(k.SK), "type": s("CHANGE")}
		default: // pending invitations not due yet: later today, and the days after
			id := ids.NewSecret()[:20]
			k := ten.Invitation(id)
			at := testkit.Start.Add(invitations.ValidFor + 2*time.Hour + time.Duration(i%(30*24))*time.Hour)
			ix := ten.DueInvitation(at, id)
			return map[string]types.AttributeValue{"PK": s(k.PK), "SK": s(k.SK), "type": s("INVITATION"), "status": s("pending"),
				"GSI3PK": s(ix.PK), "GSI3SK": s(ix.SK)}
		}
	}
	if err := testkit.Seed(ctx, w.env.DB, w.env.Config.Table, n, item); err != nil {
		return err
	}
	// Sanity: the table holds them.
	out, err := w.env.DB.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(w.env.Config.Table), IndexName: aws.String(table.GSI3),
		KeyConditionExpression:    aws.String("GSI3PK = :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": &types.AttributeValueMemberS{Value: table.DueBucket(invitations.DueKind, testkit.Start.Add(invitations.ValidFor))}},
		Select:                    types.SelectCount})
	if err != nil {
		return err
	}
	if out.Count == 0 {
		return fmt.Errorf("no not-yet-due invitations in today's bucket")
	}
	return nil
}
