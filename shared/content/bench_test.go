package content_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	reassignhandler "github.com/acme/accountadmin/functions/reassign/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/content"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

const reassignItems = 1000

// BenchmarkReassign1000 moves all 1,000 items a member owns to the account's
// Admin: the whole job, through the reassign function's handler (POST
// /users/{id}/reassign-content, the event of events/reassign/reassign.json
// without its Idempotency-Key), which runs it to the end within the
// request. Settle (a one-second wait for the owner index to catch up before
// the last pass, by design) is off: it would add a fixed second.
//
// The raw baseline sends the same requests: the running-job guard, a COUNT
// Query, the start transaction (job, guard, target membership check), then
// per page of 50 the owner index Query, a BatchGetItem of the items and one
// transaction moving them (each conditioned on its owner, with the target
// check and the job's progress and lease), a last empty pass, and the
// finish (the job read, one transaction: job, guard, change-log entry, and
// the job read for the answer).
func BenchmarkReassign1000(b *testing.B) {
	env := testkit.NewBench(b)
	w := worldOn(b, env.Env)
	svc := content.New(env.Service())
	svc.Settle = 0
	h := reassignhandler.NewHTTPWith(env.Service(), svc)
	// Each run (of the handler or the raw calls) takes the next source, a
	// member whose 1,000 items prepare wrote with BatchWriteItem.
	var next []testkit.User
	prepare := func(b *testing.B) {
		u := env.AddUser(b, w.ten, w.ten.AccountID, "leaver-"+env.IDs.NewID()+"@"+w.ten.ID()+".example", "", access.RoleViewer)
		now := env.Clock.Now()
		err := testkit.Seed(b.Context(), env.DB, env.Config.Table, reassignItems, func(i int) map[string]types.AttributeValue {
			return testkit.Item(b, content.NewItem(w.ten.Tenant, content.Item{ID: env.IDs.NewID(), AccountID: w.ten.AccountID,
				ContentType: "automation", Name: "Nightly invoice sync", OwnerID: u.ID, CreatedAt: now, UpdatedAt: now}))
		})
		if err != nil {
			b.Fatal(err)
		}
		next = append(next, u)
	}
	take := func() testkit.User {
		u := next[0]
		next = next[1:]
		return u
	}
	env.MeasurePrepared(b, prepare,
		func(b *testing.B) {
			req := env.Event(b, "reassign/reassign.json", w.admin, "${SOURCE_USER_ID}", take().ID)
			delete(req.Headers, "idempotency-key")
			testkit.Serve(b, h, req, 202)
		},
		func(b *testing.B) {
			env.RawAuthorize(b, w.admin)
			rawReassign(b, env, w.ten, take().ID, w.ten.AdminID)
		})
}

func rawReassign(b *testing.B, env *testkit.BenchEnv, ten testkit.Tenant, sourceID, targetID string) {
	acc := ten.AccountID
	guardKey := ten.RunningReassignment(acc, sourceID)
	env.RawGet(b, guardKey)
	src := ten.ContentByOwner(acc, sourceID, "")
	ownerQuery := func(start map[string]types.AttributeValue, limit *int32, sel types.Select) *dynamodb.QueryOutput {
		return env.RawQuery(b, &dynamodb.QueryInput{IndexName: aws.String(table.GSI1),
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
			ExpressionAttributeNames:  testkit.Names("#pk", "GSI1PK", "#sk", "GSI1SK"),
			ExpressionAttributeValues: testkit.Values(":pk", src.PK, ":prefix", src.SK),
			ExclusiveStartKey:         start, Limit: limit, Select: sel})
	}
	total := ownerQuery(nil, nil, types.SelectCount).Count

	now := env.Clock.Now()
	ts := now.UTC().Format(time.RFC3339Nano)
	jobID, runner := env.IDs.NewID(), env.IDs.NewID()
	jobKey := ten.Reassignment(jobID)
	lease := now.Add(content.DefaultLease)
	due := ten.DueReassignment(time.Unix(lease.Unix(), 0), jobID)
	actor := changelog.Actor{Kind: changelog.ActorUser, ID: ten.AdminID}
	job := content.Job{PK: jobKey.PK, SK: jobKey.SK, Type: "REASSIGNMENT", ID: jobID, AccountID: acc, SourceID: sourceID, TargetID: targetID,
		Status: content.StatusRunning, Total: int64(total), Runner: runner, LeaseUntil: lease.Unix(), StartedBy: actor,
		CreatedAt: now, UpdatedAt: now, GSI3PK: due.PK, GSI3SK: due.SK}
	targetMember := types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{Key: ten.Membership(acc, targetID).AV(),
		ConditionExpression: aws.String("attribute_exists(#pk)"), ExpressionAttributeNames: testkit.Names("#pk", "PK")}}
	open := testkit.RawAccountOpen(ten.Tenant, acc)
	env.RawTransact(b,
		open,
		testkit.PutIfNew(testkit.Item(b, job)),
		testkit.PutIfNew(map[string]types.AttributeValue{"PK": testkit.S(guardKey.PK), "SK": testkit.S(guardKey.SK), "type": testkit.S("REASSIGNING"),
			"jobId": testkit.S(jobID), "targetId": testkit.S(targetID)}),
		targetMember)

	dst := ten.ContentByOwner(acc, targetID, "")
	var start map[string]types.AttributeValue
	movedThisPass := 0
	for {
		page := ownerQuery(start, aws.Int32(content.DefaultMovePage), "")
		if len(page.Items) > 0 {
			keys := make([]table.Key, len(page.Items))
			for i, it := range page.Items {
				keys[i] = table.Key{PK: testkit.AttrString(it["PK"]), SK: testkit.AttrString(it["SK"])}
			}
			env.RawBatchGet(b, keys...)
			writes := make([]types.TransactWriteItem, 0, len(keys)+2)
			for _, k := range keys {
				writes = append(writes, types.TransactWriteItem{Update: &types.Update{Key: k.AV(),
					UpdateExpression:         aws.String("ADD #v :one SET #owner = :target, #gsi1pk = :dst, #by = :job, #updated = :now"),
					ConditionExpression:      aws.String("#owner = :source"),
					ExpressionAttributeNames: testkit.Names("#v", "version", "#owner", "ownerId", "#gsi1pk", "GSI1PK", "#by", "reassignedBy", "#updated", "updatedAt"),
					ExpressionAttributeValues: testkit.Values(":one", 1, ":target", targetID, ":dst", dst.PK, ":job", jobID, ":now", ts,
						":source", sourceID)}})
			}
			due := ten.DueReassignment(lease, jobID)
			writes = append(writes, open, targetMember, types.TransactWriteItem{Update: &types.Update{Key: jobKey.AV(),
				UpdateExpression:         aws.String("ADD #done :n SET #lease = :until, #gsi3pk = :gsi3pk, #gsi3sk = :gsi3sk, #updated = :now"),
				ConditionExpression:      aws.String("#runner = :runner AND #status = :running"),
				ExpressionAttributeNames: testkit.Names("#done", "done", "#lease", "leaseUntil", "#gsi3pk", "GSI3PK", "#gsi3sk", "GSI3SK", "#updated", "updatedAt", "#runner", "runner", "#status", "status"),
				ExpressionAttributeValues: testkit.Values(":n", len(keys), ":until", lease.Unix(), ":gsi3pk", due.PK, ":gsi3sk", due.SK, ":now", ts,
					":runner", runner, ":running", content.StatusRunning)}})
			env.RawTransact(b, writes...)
			movedThisPass += len(keys)
		}
		start = page.LastEvaluatedKey
		if len(start) > 0 {
			continue
		}
		if movedThisPass > 0 {
			movedThisPass = 0
			continue // another pass, as the job does
		}
		break
	}

	cur := env.RawGet(b, jobKey)
	done, redirected := testkit.AttrNumber(cur["done"]), testkit.AttrNumber(cur["redirected"])
	if done != reassignItems {
		b.Fatalf("raw reassignment moved %d", done)
	}
	entry := changelog.New(ten.Tenant, env.IDs.NewID(), now, acc, actor, "content.reassigned", "user", sourceID,
		map[string]any{"ownerId": sourceID}, map[string]any{"ownerId": targetID, "reassignment": jobID, "status": content.StatusDone,
			"moved": done, "redirected": redirected, "total": max(int64(total), done)})
	env.RawTransact(b,
		types.TransactWriteItem{Update: &types.Update{Key: jobKey.AV(),
			UpdateExpression:         aws.String("SET #status = :done, #total = :total, #finished = :now, #updated = :now REMOVE #gsi3pk, #gsi3sk"),
			ConditionExpression:      aws.String("#runner = :runner AND #status = :running AND #doneN = :doneN AND #redirected = :redirected"),
			ExpressionAttributeNames: testkit.Names("#status", "status", "#total", "total", "#finished", "finishedAt", "#updated", "updatedAt", "#gsi3pk", "GSI3PK", "#gsi3sk", "GSI3SK", "#runner", "runner", "#doneN", "done", "#redirected", "redirected"),
			ExpressionAttributeValues: testkit.Values(":done", content.StatusDone, ":total", max(int64(total), done), ":now", ts, ":runner", runner,
				":running", content.StatusRunning, ":doneN", done, ":redirected", redirected)}},
		types.TransactWriteItem{Delete: &types.Delete{Key: guardKey.AV(), ConditionExpression: aws.String("#job = :job"),
			ExpressionAttributeNames: testkit.Names("#job", "jobId"), ExpressionAttributeValues: testkit.Values(":job", jobID)}},
		testkit.PutIfNew(testkit.Item(b, entry)))
	env.RawGet(b, jobKey)
}
