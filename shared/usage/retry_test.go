package usage_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/usage"
)

// addN is an ADD of n to the "n" attribute of key.
func addN(tableName string, key table.Key, n int) types.Update {
	return types.Update{TableName: aws.String(tableName), Key: key.AV(), UpdateExpression: aws.String("ADD n :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: strconv.Itoa(n)}}}
}

func (w *world) counterN(t *testing.T, key table.Key) int {
	t.Helper()
	out, err := w.env.DB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: w.env.TableName(), Key: key.AV(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	v, ok := out.Item["n"].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(v.Value)
	return n
}

// What Record relies on, checked on the emulator the tests run against:
// DynamoDB applies a TransactWriteItems once per ClientRequestToken, and a
// new token is a new operation.
func TestClientRequestTokenAppliesATransactionOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	key := table.Key{PK: w.ten.Account(w.ten.AccountID).PK, SK: "TEST#TOKEN"}
	send := func(token string) {
		t.Helper()
		up := addN(w.env.Config.Table, key, 5)
		if _, err := w.env.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ClientRequestToken: aws.String(token),
			TransactItems: []types.TransactWriteItem{{Update: &up}}}); err != nil {
			t.Fatalf("token %s: %v", token, err)
		}
	}
	send("token-one")
	send("token-one")
	if n := w.counterN(t, key); n != 5 {
		t.Fatalf("the same token twice: counter %d, want 5", n)
	}
	send("token-two")
	if n := w.counterN(t, key); n != 10 {
		t.Fatalf("a second token: counter %d, want 10", n)
	}
}

// A record whose first attempt DynamoDB applied but whose answer was lost
// (the fault injector delivers the request, then answers 500, so the SDK
// resends it) succeeds once and moves the counter by exactly the amount,
// also next to the limit, where a second ADD would have been refused. The
// same fault on a plain UpdateItem ADD counts twice: the fault is real.
func TestRecordCountsOnceWhenTheSDKResends(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	faults := awsclient.NewFaultInjector()
	deps := w.env.Deps
	deps.Store = store.New(awsclient.DynamoDB(w.env.AWS, func(o *dynamodb.Options) { o.HTTPClient = faults }), w.env.Config.Table)
	svc := usage.New(deps.Service())
	w.allow(t, w.ten.AccountID, map[string]usage.Allowance{usage.MetricTasks: {Limit: 10}})
	lost := awsclient.Fault{Operation: "TransactWriteItems", Times: 1, Status: 500, Body: awsclient.DynamoInternal, Delivered: true}

	record := func(amount int64) (usage.Recorded, error) {
		cmd, err := usage.RecordRequest{Metric: usage.MetricTasks, Amount: &amount}.Command(w.admin, w.ten.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		return svc.Record(ctx, cmd)
	}
	faults.Add(lost)
	r, err := record(7)
	if err != nil || r.Used != 7 || faults.Injected("TransactWriteItems") != 1 {
		t.Fatalf("record with a lost answer: %+v %v (faults %d)", r, err, faults.Injected("TransactWriteItems"))
	}
	if used := metric(w.report(t, w.ten.AccountID).Metrics, usage.MetricTasks).Used; used != 7 {
		t.Fatalf("counter after a resent record: %d, want 7", used)
	}
	faults.Add(lost)
	if r, err := record(3); err != nil || r.Used != 10 || faults.Injected("TransactWriteItems") != 2 {
		t.Fatalf("record up to the limit with a lost answer: %+v %v", r, err)
	}
	if used := metric(w.report(t, w.ten.AccountID).Metrics, usage.MetricTasks).Used; used != 10 {
		t.Fatalf("counter at the limit: %d, want 10", used)
	}

	// Control: the same lost answer on an UpdateItem ADD is applied twice.
	faults.Add(awsclient.Fault{Operation: "UpdateItem", Times: 1, Status: 500, Body: awsclient.DynamoInternal, Delivered: true})
	key := table.Key{PK: w.ten.Account(w.ten.AccountID).PK, SK: "TEST#CONTROL"}
	up := addN(w.env.Config.Table, key, 5)
	if _, err := deps.Store.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: up.TableName, Key: up.Key,
		UpdateExpression: up.UpdateExpression, ExpressionAttributeValues: up.ExpressionAttributeValues}); err != nil {
		t.Fatal(err)
	}
	if n := w.counterN(t, key); n != 10 || faults.Injected("UpdateItem") != 1 {
		t.Fatalf("control UpdateItem: counter %d, want 10 (the SDK resent an applied ADD)", n)
	}
}
