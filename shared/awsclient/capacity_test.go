package awsclient_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/testkit"
)

// The counter, once asked, sums the capacity DynamoDB Local reports for
// known requests, at on-demand's rates: a write of at most 1 KB is 1 write
// unit (2 in a transaction), a read of at most 4 KB 1 read unit when
// strongly consistent and 0.5 when eventually consistent. Not asked, it
// leaves requests alone and counts no capacity.
func TestCallCounterSumsConsumedCapacity(t *testing.T) {
	e := testkit.New(t)
	tn := e.NewTenant(t)
	ctx := context.Background()
	counter := &awsclient.CallCounter{}
	var asked types.ReturnConsumedCapacity // what the last request sent asked for
	db := awsclient.DynamoDB(e.AWS, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, counter.Attach, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("AskedCapacity",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					switch p := in.Parameters.(type) {
					case *dynamodb.GetItemInput:
						asked = p.ReturnConsumedCapacity
					case *dynamodb.PutItemInput:
						asked = p.ReturnConsumedCapacity
					case *dynamodb.TransactWriteItemsInput:
						asked = p.ReturnConsumedCapacity
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	})
	item := func(user string) map[string]types.AttributeValue {
		it := tn.User(user).AV()
		it["note"] = &types.AttributeValueMemberS{Value: strings.Repeat("x", 200)}
		return it
	}
	table := aws.String(e.Config.Table)

	step := func(what string, wantRCU, wantWCU float64, call func() error) {
		t.Helper()
		counter.Reset()
		if err := call(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if rcu, wcu := counter.Capacity(); rcu != wantRCU || wcu != wantWCU {
			t.Errorf("%s: counted %v RCU and %v WCU, want %v and %v", what, rcu, wcu, wantRCU, wantWCU)
		}
	}

	// Not asked: the request is sent as built, and nothing is counted.
	step("PutItem, capacity not asked", 0, 0, func() error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item("capacity-a")})
		return err
	})
	if asked != "" {
		t.Errorf("a counter not asked set ReturnConsumedCapacity %q", asked)
	}
	if counter.Count() != 1 {
		t.Errorf("counted %d calls, want 1", counter.Count())
	}

	counter.CountCapacity()
	step("PutItem of 250 bytes", 0, 1, func() error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item("capacity-a")})
		return err
	})
	if asked != types.ReturnConsumedCapacityTotal {
		t.Errorf("the counter asked for %q, want TOTAL", asked)
	}
	step("strongly consistent GetItem", 1, 0, func() error {
		_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: tn.User("capacity-a").AV(), ConsistentRead: aws.Bool(true)})
		return err
	})
	step("eventually consistent GetItem", 0.5, 0, func() error {
		_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: tn.User("capacity-a").AV()})
		return err
	})
	step("TransactWriteItems of 2 puts", 0, 4, func() error {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: table, Item: item("capacity-b")}},
			{Put: &types.Put{TableName: table, Item: item("capacity-c")}},
		}})
		return err
	})
}
