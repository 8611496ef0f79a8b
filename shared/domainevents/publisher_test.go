package domainevents_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/acme/accountadmin/infra/local/stack"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/domainevents"
	"github.com/acme/accountadmin/shared/table"
)

// These tests hand the publisher batches shaped as Lambda gives them and
// read what reached the local event bus; a fake at the SDK edge refuses
// chosen entries as EventBridge refuses them. The stream itself is tested
// in functions/publish-events.

// fakeRefusingEventBridge passes PutEvents to the local event bus except
// for the entries refuse names (by entry id, how many more times), and
// records the entry ids of every call.
type fakeRefusingEventBridge struct {
	real   domainevents.EventsAPI
	mu     sync.Mutex
	refuse map[string]int
	calls  [][]string
}

func (f *fakeRefusingEventBridge) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	out := &eventbridge.PutEventsOutput{Entries: make([]types.PutEventsResultEntry, len(in.Entries))}
	var pass []types.PutEventsRequestEntry
	var at []int
	f.mu.Lock()
	var ids []string
	for i, e := range in.Entries {
		var d domainevents.Detail
		_ = json.Unmarshal([]byte(aws.ToString(e.Detail)), &d)
		ids = append(ids, d.ID)
		if f.refuse[d.ID] > 0 {
			f.refuse[d.ID]--
			out.Entries[i] = types.PutEventsResultEntry{ErrorCode: aws.String("ThrottlingException"), ErrorMessage: aws.String("fake")}
			out.FailedEntryCount++
			continue
		}
		pass, at = append(pass, e), append(at, i)
	}
	f.calls = append(f.calls, ids)
	f.mu.Unlock()
	if len(pass) > 0 {
		res, err := f.real.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: pass}, opts...)
		if err != nil {
			return nil, err
		}
		for j, r := range res.Entries {
			out.Entries[at[j]] = r
		}
		out.FailedEntryCount += res.FailedEntryCount
	}
	return out, nil
}

func newPublisher(t *testing.T, refuse map[string]int) (*domainevents.Publisher, *fakeRefusingEventBridge, *stack.LocalEventBus) {
	t.Helper()
	bus := &stack.LocalEventBus{Name: "bus"}
	srv := httptest.NewServer(bus)
	t.Cleanup(srv.Close)
	client := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	fake := &fakeRefusingEventBridge{real: client, refuse: refuse}
	return &domainevents.Publisher{Bus: "bus", Events: fake, Backoff: time.Millisecond}, fake, bus
}

// batch is n change-log entries of one account as a stream batch, with
// pad bytes in each entry's after.
func batch(t *testing.T, n, pad int) (events.DynamoDBEvent, []string) {
	t.Helper()
	ten := table.MustTenant("acme")
	var ev events.DynamoDBEvent
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("01KAP6ZQ8M00000000000%05d", i)
		e := changelog.New(ten, id, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), "A1", changelog.System("job"), "account.renamed", "account", "A1",
			nil, map[string]any{"name": fmt.Sprintf("Name %d", i), "pad": strings.Repeat("x", pad)})
		item, err := attributevalue.MarshalMap(e)
		if err != nil {
			t.Fatal(err)
		}
		img := map[string]events.DynamoDBAttributeValue{}
		for k, v := range item {
			img[k] = lambdaValue(v)
		}
		ev.Records = append(ev.Records, events.DynamoDBEventRecord{EventName: "INSERT", EventSource: "aws:dynamodb",
			Change: events.DynamoDBStreamRecord{NewImage: img, SequenceNumber: fmt.Sprintf("%021d", 100+i), StreamViewType: "NEW_IMAGE"}})
		ids = append(ids, id)
	}
	// a record the mapping's filter leaves out, as a test event might hold
	ev.Records = append(ev.Records[:3:3], append([]events.DynamoDBEventRecord{{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{SequenceNumber: "000000000000000000099"}}}, ev.Records[3:]...)...)
	return ev, ids
}

func lambdaValue(v ddb.AttributeValue) events.DynamoDBAttributeValue {
	switch x := v.(type) {
	case *ddb.AttributeValueMemberS:
		return events.NewStringAttribute(x.Value)
	case *ddb.AttributeValueMemberN:
		return events.NewNumberAttribute(x.Value)
	case *ddb.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(x.Value)
	case *ddb.AttributeValueMemberM:
		m := map[string]events.DynamoDBAttributeValue{}
		for k, e := range x.Value {
			m[k] = lambdaValue(e)
		}
		return events.NewMapAttribute(m)
	case *ddb.AttributeValueMemberL:
		var l []events.DynamoDBAttributeValue
		for _, e := range x.Value {
			l = append(l, lambdaValue(e))
		}
		return events.NewListAttribute(l)
	}
	return events.NewNullAttribute()
}

func onBus(bus *stack.LocalEventBus) []string {
	var ids []string
	for _, e := range bus.Events() {
		var d domainevents.Detail
		_ = json.Unmarshal(e.Detail, &d)
		ids = append(ids, d.ID)
	}
	return ids
}

func TestCallsHoldTenEntriesAtMostInStreamOrder(t *testing.T) {
	pub, fake, bus := newPublisher(t, nil)
	ev, ids := batch(t, 25, 0)
	resp, err := pub.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	if want := [][]string{ids[:10], ids[10:20], ids[20:]}; fmt.Sprint(fake.calls) != fmt.Sprint(want) {
		t.Errorf("calls = %v, want %v", fake.calls, want)
	}
	if got := onBus(bus); !slices.Equal(got, ids) {
		t.Errorf("on the bus %v, want %v", got, ids)
	}
}

func TestCallsStayUnder256KB(t *testing.T) {
	pub, fake, bus := newPublisher(t, nil)
	ev, ids := batch(t, 12, 60*1024) // about 60 KB each: four per call
	if resp, err := pub.Handle(context.Background(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	for _, c := range fake.calls {
		if len(c) > 4 {
			t.Errorf("a call of %d entries of 60 KB", len(c))
		}
	}
	if got := onBus(bus); !slices.Equal(got, ids) {
		t.Errorf("on the bus %d events, want %d in order", len(got), len(ids))
	}
}

func TestARefusedEntryAloneIsPutAgain(t *testing.T) {
	ev, ids := batch(t, 25, 0)
	// GIVEN EventBridge refusing entry 13 twice
	pub, fake, bus := newPublisher(t, map[string]int{ids[13]: 2})
	resp, err := pub.Handle(context.Background(), ev)
	// THEN it is put again, alone, before anything later, and the batch succeeds
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	want := [][]string{ids[:10], ids[10:20], {ids[13]}, {ids[13]}, ids[20:]}
	if fmt.Sprint(fake.calls) != fmt.Sprint(want) {
		t.Errorf("calls = %v, want %v", fake.calls, want)
	}
	if got := onBus(bus); len(got) != 25 || slices.Index(got, ids[13]) != 19 {
		t.Errorf("on the bus %v", got)
	}
}

func TestAnEntryStillRefusedGivesBackItsRecordAndEveryLaterOne(t *testing.T) {
	ev, ids := batch(t, 25, 0)
	// GIVEN EventBridge refusing entry 13 every time
	pub, fake, bus := newPublisher(t, map[string]int{ids[13]: 1000})
	resp, err := pub.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	// THEN that record and every later one go back to the stream, and
	// nothing after its call is sent
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	var want []string
	for i := 13; i < 25; i++ {
		if i == 13 || i >= 20 {
			want = append(want, fmt.Sprintf("%021d", 100+i))
		}
	}
	if !slices.Equal(failed, want) {
		t.Errorf("batch item failures = %v, want %v", failed, want)
	}
	if len(fake.calls) != 2+2 || slices.ContainsFunc(fake.calls, func(c []string) bool { return slices.Contains(c, ids[20]) }) {
		t.Errorf("calls = %v", fake.calls)
	}
	if got := onBus(bus); len(got) != 19 || slices.Contains(got, ids[13]) {
		t.Errorf("on the bus %v", got)
	}
}
