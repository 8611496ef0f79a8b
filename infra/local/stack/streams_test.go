package stack_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/acme/accountadmin/infra/local/stack"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/testkit"
)

// A busy DynamoDB Local refuses a shard iterator for a while, an iterator
// expires, and one is refused as pointing past the oldest record: the pump
// keeps reading the shard, after the last record
// it handed on, so every record arrives once and in order.
func TestThePumpReadsOnThroughRefusedAndExpiredIterators(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	env.OwnTable(t, "pump")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := stack.EnableStream(ctx, env.DB, env.Config.Table); err != nil {
		t.Fatal(err)
	}
	// More refusals than the SDK's own retries absorb, so the pump sees them.
	faults := awsclient.NewFaultInjector()
	faults.Add(awsclient.Fault{Operation: "GetShardIterator", Times: 8, Status: 500, Body: awsclient.DynamoInternal})
	streams := dynamodbstreams.NewFromConfig(env.AWS, func(o *dynamodbstreams.Options) {
		o.BaseEndpoint = aws.String(os.Getenv(awsclient.EnvDynamoDBEndpoint))
		o.HTTPClient = faults
	})
	var (
		mu  sync.Mutex
		got []string
	)
	pump := &stack.StreamPump{DB: env.DB, Streams: streams, Table: env.Config.Table, Poll: 10 * time.Millisecond, Log: env.Log,
		Handler: func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range ev.Records {
				got = append(got, r.Change.Keys["SK"].String())
			}
			return events.DynamoDBEventResponse{}, nil
		}}
	go func() { _ = pump.Run(ctx) }()

	var want []string
	put := func(from, to int) {
		for i := from; i < to; i++ {
			sk := fmt.Sprintf("ITEM#%03d", i)
			want = append(want, sk)
			if _, err := env.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: env.TableName(), Item: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "PUMP"}, "SK": &types.AttributeValueMemberS{Value: sk}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	arrived := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			k := len(got)
			mu.Unlock()
			if k >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d records arrived (iterator refusals injected: %d)", len(got), n, faults.Injected("GetShardIterator"))
	}
	put(0, 10)
	arrived(10)
	faults.Add(awsclient.Fault{Operation: "GetRecords", Times: 1, Status: 400,
		Body: `{"__type":"com.amazonaws.dynamodb.v20120810#ExpiredIteratorException","message":"injected: iterator expired"}`})
	put(10, 20)
	arrived(20)
	faults.Add(awsclient.Fault{Operation: "GetRecords", Times: 1, Status: 400,
		Body: `{"__type":"com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException","message":"injected: read past the oldest stream record"}`})
	put(20, 30)
	arrived(30)
	time.Sleep(100 * time.Millisecond) // time for a record given twice to show
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("records arrived as %v, want each once in order: %v", got, want)
	}
	if faults.Injected("GetShardIterator") != 8 || faults.Injected("GetRecords") != 2 {
		t.Fatalf("faults injected: iterator %d, records %d", faults.Injected("GetShardIterator"), faults.Injected("GetRecords"))
	}
}
