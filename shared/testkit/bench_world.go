package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Benchmark helpers: a recorder that tells what DynamoDB requests an
// operation sends (so a raw baseline can be checked to send the same), a
// parallel seeder for large tables, and API Gateway events built from the
// samples under events/ so benchmarks can go through the Lambda handlers.

// Recorder keeps the shape of every DynamoDB request sent through the
// clients it is attached to: the operation and how many items it carries
// (keys of a BatchGetItem, actions of a TransactWriteItems), e.g.
// "TransactWriteItems[Put,Update]". It also counts the items DynamoDB read
// to answer (Query: ScannedCount, before any filter; GetItem: 1 when found;
// BatchGetItem: the items returned), whether recording or not.
type Recorder struct {
	mu     sync.Mutex
	on     bool
	shapes []string
	Read   atomic.Int64
}

// Attach adds the recorder to a client's middleware stack.
func (r *Recorder) Attach(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ShapeRecorder",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.mu.Lock()
			trace := r.on && os.Getenv("BENCH_TRACE") != ""
			if r.on {
				r.shapes = append(r.shapes, Shape(awsmiddleware.GetOperationName(ctx), in.Parameters))
			}
			r.mu.Unlock()
			began := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			if trace {
				rcu, wcu := awsclient.ConsumedCapacity(out.Result)
				fmt.Fprintf(os.Stderr, "ddb %.1fms %gR %gW %s\n", float64(time.Since(began).Microseconds())/1000, rcu, wcu, Describe(in.Parameters))
			}
			switch res := out.Result.(type) {
			case *dynamodb.QueryOutput:
				r.Read.Add(int64(res.ScannedCount))
			case *dynamodb.GetItemOutput:
				if res.Item != nil {
					r.Read.Add(1)
				}
			case *dynamodb.BatchGetItemOutput:
				for _, items := range res.Responses {
					r.Read.Add(int64(len(items)))
				}
			}
			return out, md, err
		}), middleware.After)
}

// Record runs f and returns the shapes of the requests it sent, sorted (so
// calls made in parallel compare equal whatever their order).
func (r *Recorder) Record(f func()) []string {
	r.mu.Lock()
	r.on, r.shapes = true, nil
	r.mu.Unlock()
	f()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	out := slices.Clone(r.shapes)
	slices.Sort(out)
	return out
}

// Shape names a request by its operation and the items it carries.
func Shape(op string, params any) string {
	switch in := params.(type) {
	case *dynamodb.TransactWriteItemsInput:
		kinds := make([]string, len(in.TransactItems))
		for i, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				kinds[i] = "Put"
			case it.Update != nil:
				kinds[i] = "Update"
			case it.Delete != nil:
				kinds[i] = "Delete"
			default:
				kinds[i] = "Check"
			}
		}
		slices.Sort(kinds)
		return op + "[" + strings.ReplaceAll(tally(kinds), " ", ",") + "]"
	case *dynamodb.BatchGetItemInput:
		n := 0
		for _, ka := range in.RequestItems {
			n += len(ka.Keys)
		}
		return fmt.Sprintf("%s[%d]", op, n)
	case *dynamodb.BatchWriteItemInput:
		n := 0
		for _, reqs := range in.RequestItems {
			n += len(reqs)
		}
		return fmt.Sprintf("%s[%d]", op, n)
	case *dynamodb.QueryInput:
		ix := "table"
		if in.IndexName != nil {
			ix = *in.IndexName
		}
		return op + "(" + ix + ")"
	}
	return op
}

// Describe is a request in one line, for BENCH_TRACE=1 while writing a
// baseline: keys, expressions and index.
func Describe(params any) string {
	key := func(m map[string]types.AttributeValue) string { return AttrString(m["PK"]) + " " + AttrString(m["SK"]) }
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		return "GetItem " + key(in.Key)
	case *dynamodb.PutItemInput:
		return fmt.Sprintf("PutItem %s (%d attrs) if %s", key(in.Item), len(in.Item), str(in.ConditionExpression))
	case *dynamodb.UpdateItemInput:
		return fmt.Sprintf("UpdateItem %s %s if %s ret=%s", key(in.Key), str(in.UpdateExpression), str(in.ConditionExpression), in.ReturnValues)
	case *dynamodb.DeleteItemInput:
		return fmt.Sprintf("DeleteItem %s if %s", key(in.Key), str(in.ConditionExpression))
	case *dynamodb.QueryInput:
		var vals []string
		for k, v := range in.ExpressionAttributeValues {
			vals = append(vals, k+"="+AttrString(v))
		}
		slices.Sort(vals)
		limit := int32(0)
		if in.Limit != nil {
			limit = *in.Limit
		}
		return fmt.Sprintf("Query %s %s filter=%s %v limit=%d start=%v", str(in.IndexName), str(in.KeyConditionExpression), str(in.FilterExpression), vals, limit, in.ExclusiveStartKey != nil)
	case *dynamodb.BatchGetItemInput:
		var keys []string
		for _, ka := range in.RequestItems {
			for _, k := range ka.Keys {
				keys = append(keys, key(k))
			}
		}
		return fmt.Sprintf("BatchGetItem %v", keys)
	case *dynamodb.TransactWriteItemsInput:
		var parts []string
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				parts = append(parts, fmt.Sprintf("Put %s (%d attrs) if %s", key(it.Put.Item), len(it.Put.Item), str(it.Put.ConditionExpression)))
			case it.Update != nil:
				parts = append(parts, fmt.Sprintf("Update %s %s if %s", key(it.Update.Key), str(it.Update.UpdateExpression), str(it.Update.ConditionExpression)))
			case it.Delete != nil:
				parts = append(parts, fmt.Sprintf("Delete %s if %s", key(it.Delete.Key), str(it.Delete.ConditionExpression)))
			case it.ConditionCheck != nil:
				parts = append(parts, fmt.Sprintf("Check %s if %s", key(it.ConditionCheck.Key), str(it.ConditionCheck.ConditionExpression)))
			}
		}
		return "TransactWriteItems\n    " + strings.Join(parts, "\n    ")
	}
	return fmt.Sprintf("%T", params)
}

// BenchEnv is an Env whose DynamoDB client also records request shapes.
type BenchEnv struct {
	*Env
	Rec *Recorder
}

// NewBench is New with a Recorder on the client (Env.DB and Env.Store).
func NewBench(tb testing.TB) *BenchEnv {
	tb.Helper()
	return Recording(New(tb))
}

// Recording puts a Recorder on e's client (replacing e.DB and e.Store, so
// call it before building services from e.Deps).
func Recording(e *Env) *BenchEnv {
	rec := &Recorder{}
	e.DB = awsclient.DynamoDB(e.AWS, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, e.Calls.Attach, rec.Attach)
		// Under the seeders' load DynamoDB Local closes idle connections;
		// the SDK warns on each, which says nothing about the benchmark.
		o.Logger = logging.Nop{}
	})
	e.Store = store.New(e.DB, e.Config.Table)
	return &BenchEnv{Env: e, Rec: rec}
}

// Measure benchmarks op beside raw, interleaved, with Env.Measure's metrics
// (ns/op, raw-ns/op, handler/raw, ddb-calls/op, RCU/op, WCU/op) and items-read/op, what
// DynamoDB read to answer op's requests (see Recorder). It first checks, on
// one run of each, that raw sends the same DynamoDB requests as op
// (operation and item count of each), so the ratio compares like with like;
// a mismatch fails the benchmark and prints both lists. The benchmark timer
// runs only around op, so the allocs/op and B/op that go test reports are
// op's alone.
func (e *BenchEnv) Measure(b *testing.B, op, raw func(b *testing.B)) {
	b.Helper()
	e.MeasurePrepared(b, nil, op, raw)
}

// MeasurePrepared is Measure with prepare run before each op and each raw,
// untimed and not counted (e.g. to make the work a job will find).
func (e *BenchEnv) MeasurePrepared(b *testing.B, prepare, op, raw func(b *testing.B)) {
	b.Helper()
	b.ReportAllocs()
	if prepare == nil {
		prepare = func(*testing.B) {}
	}
	prepare(b)
	got := e.Rec.Record(func() { op(b) })
	prepare(b)
	want := e.Rec.Record(func() { raw(b) })
	if !slices.Equal(got, want) {
		b.Fatalf("the raw baseline does not send what the operation sends:\n op:  %s\n raw: %s", tally(got), tally(want))
	}
	var opTime, rawTime time.Duration
	var calls, read int64
	var rcu, wcu float64
	b.ResetTimer()
	b.StopTimer()
	runOp := func() {
		prepare(b)
		e.Calls.Reset()
		before := e.Rec.Read.Load()
		b.StartTimer()
		start := time.Now()
		op(b)
		opTime += time.Since(start)
		b.StopTimer()
		calls += e.Calls.Count()
		r, w := e.Calls.Capacity()
		rcu, wcu = rcu+r, wcu+w
		read += e.Rec.Read.Load() - before
	}
	runRaw := func() {
		prepare(b)
		start := time.Now()
		raw(b)
		rawTime += time.Since(start)
	}
	// Alternate which goes first: the first of a pair pays more often for
	// what the previous one left (garbage collection, e.g. after argon2's
	// 19 MiB), which otherwise shows as a ratio.
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			runOp()
			runRaw()
		} else {
			runRaw()
			runOp()
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(opTime.Nanoseconds())/n, "ns/op")
	b.ReportMetric(float64(rawTime.Nanoseconds())/n, "raw-ns/op")
	b.ReportMetric(float64(opTime)/float64(rawTime), "handler/raw")
	b.ReportMetric(float64(calls)/n, "ddb-calls/op")
	b.ReportMetric(float64(read)/n, "items-read/op")
	ReportCapacity(b, rcu, wcu)
}

// tally lists sorted shapes with their counts: "20×Query(GSI1) GetItem".
func tally(shapes []string) string {
	var parts []string
	for i := 0; i < len(shapes); {
		j := i
		for j < len(shapes) && shapes[j] == shapes[i] {
			j++
		}
		if j-i > 1 {
			parts = append(parts, fmt.Sprintf("%d×%s", j-i, shapes[i]))
		} else {
			parts = append(parts, shapes[i])
		}
		i = j
	}
	return strings.Join(parts, " ")
}

// Seed writes n items made by item(i) with BatchWriteItem, 25 a call, from
// 8 writers, retrying unprocessed items.
func Seed(ctx context.Context, db *dynamodb.Client, tableName string, n int, item func(i int) map[string]types.AttributeValue) error {
	jobs := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := range jobs {
				var reqs []types.WriteRequest
				for i := start; i < min(start+25, n); i++ {
					reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item(i)}})
				}
				for len(reqs) > 0 {
					out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{tableName: reqs}})
					if err != nil {
						select {
						case errs <- fmt.Errorf("seed items %d-%d: %w", start, start+len(reqs), err):
						default:
						}
						break
					}
					reqs = out.UnprocessedItems[tableName]
				}
			}
		}()
	}
	for start := 0; start < n; start += 25 {
		jobs <- start
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// S is a string attribute value.
func S(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// Event reads the sample event events/<name> (e.g. "edit/rename-account.json"),
// replaces the ${...} placeholders (the caller's and then pairs, old then
// new) and, when caller names a user, presents a real session of theirs as
// its bearer token (one per caller, written through a client that nothing
// counts or records; RawAuthorize is its baseline).
func (e *Env) Event(tb testing.TB, name string, c access.Caller, pairs ...string) httpapi.Request {
	tb.Helper()
	_, self, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "..", "events", filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	all := append([]string{"${TENANT}", c.Tenant.ID(), "${USER_ID}", c.UserID, "${SESSION_ID}", c.SessionID,
		"${ACCOUNT_ID}", c.AccountID, "${TOKEN}", "unused"}, pairs...)
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(strings.NewReplacer(all...).Replace(string(raw))), &req); err != nil {
		tb.Fatalf("sample %s: %v", name, err)
	}
	if c.UserID == "" {
		return req // a public route's request, sent by nobody
	}
	return WithBearer(req, e.cachedSession(tb, c))
}

// RawAuthorize is the baseline of resolving c's session (Event's), as
// every authorized request does before its handler runs: one GetItem of the
// session, then one BatchGetItem of user, membership and account.
//
// It answers the version of the caller's membership it read, which a grant
// in the active account holds at commit without reading it again.
func (e *BenchEnv) RawAuthorize(tb testing.TB, c access.Caller) (memberVersion int64) {
	tb.Helper()
	tok := identity.Token(e.cachedSession(tb, c))
	e.RawGet(tb, c.Tenant.Session(tok.Hash()))
	member := c.Tenant.Membership(c.AccountID, c.UserID)
	for _, it := range e.RawBatchGetItems(tb, c.Tenant.User(c.UserID), member, c.Tenant.Account(c.AccountID)) {
		if AttrString(it["SK"]) == member.SK {
			memberVersion = AttrNumber(it["version"])
		}
	}
	return memberVersion
}

// Serve calls a Lambda handler and fails unless it answers status.
func Serve(tb testing.TB, h httpapi.LambdaHandler, req httpapi.Request, status int) httpapi.Response {
	tb.Helper()
	resp, err := h(context.Background(), req)
	if err != nil {
		tb.Fatalf("%s: handler error: %v", req.RouteKey, err)
	}
	if resp.StatusCode != status {
		tb.Fatalf("%s: status %d, want %d: %s", req.RouteKey, resp.StatusCode, status, resp.Body)
	}
	return resp
}

// Raw DynamoDB calls for baselines: the SDK client and nothing else.

// RawGet is one strongly consistent GetItem.
func (e *BenchEnv) RawGet(tb testing.TB, k table.Key) map[string]types.AttributeValue {
	out, err := e.DB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: e.TableName(), Key: k.AV(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		tb.Fatal(err)
	}
	return out.Item
}

// RawBatchGet is one strongly consistent BatchGetItem.
func (e *BenchEnv) RawBatchGet(tb testing.TB, keys ...table.Key) {
	avs := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		avs[i] = k.AV()
	}
	_, err := e.DB.BatchGetItem(context.Background(), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		e.Config.Table: {Keys: avs, ConsistentRead: aws.Bool(true)}}})
	if err != nil {
		tb.Fatal(err)
	}
}

// RawQuery runs one Query on this table (strongly consistent unless on an
// index) and returns its output.
func (e *BenchEnv) RawQuery(tb testing.TB, in *dynamodb.QueryInput) *dynamodb.QueryOutput {
	in.TableName = e.TableName()
	if in.IndexName == nil {
		in.ConsistentRead = aws.Bool(true)
	}
	out, err := e.DB.Query(context.Background(), in)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// RawTransact is one TransactWriteItems on this table (TableName is filled
// in).
func (e *BenchEnv) RawTransact(tb testing.TB, items ...types.TransactWriteItem) {
	for _, it := range items {
		switch {
		case it.Put != nil:
			it.Put.TableName = e.TableName()
		case it.Update != nil:
			it.Update.TableName = e.TableName()
		case it.Delete != nil:
			it.Delete.TableName = e.TableName()
		case it.ConditionCheck != nil:
			it.ConditionCheck.TableName = e.TableName()
		}
	}
	if _, err := e.DB.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		tb.Fatal(err)
	}
}

// Item marshals v (a domain item) once, for a baseline to write items of the
// same size; WithKey then gives copies under other keys.
func Item(tb testing.TB, v any) map[string]types.AttributeValue {
	av, err := attributevalue.MarshalMap(v)
	if err != nil {
		tb.Fatal(err)
	}
	return av
}

// WithKey is a shallow copy of item with its primary key set to k.
func WithKey(item map[string]types.AttributeValue, k table.Key) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(item))
	for a, v := range item {
		out[a] = v
	}
	out["PK"], out["SK"] = S(k.PK), S(k.SK)
	return out
}

// Names is expression attribute names from "#a", "a", "#b", "b", ...
func Names(kv ...string) map[string]string {
	out := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// Values is expression attribute values from ":a", value, ...: strings
// become S, integers N, booleans BOOL.
func Values(kv ...any) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		var v types.AttributeValue
		switch x := kv[i+1].(type) {
		case string:
			v = S(x)
		case int:
			v = &types.AttributeValueMemberN{Value: strconv.Itoa(x)}
		case int64:
			v = &types.AttributeValueMemberN{Value: strconv.FormatInt(x, 10)}
		case bool:
			v = &types.AttributeValueMemberBOOL{Value: x}
		case types.AttributeValue:
			v = x
		default:
			panic(fmt.Sprintf("testkit.Values: unsupported %T", x))
		}
		out[kv[i].(string)] = v
	}
	return out
}

// PutIfNew is a transaction Put of item with attribute_not_exists(PK).
func PutIfNew(item map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{Item: item, ConditionExpression: aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: Names("#pk", "PK")}}
}

// N is a number attribute value.
func N(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// AttrNumber reads a number attribute (0 when absent or not a number).
func AttrNumber(v types.AttributeValue) int64 {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	i, _ := strconv.ParseInt(n.Value, 10, 64)
	return i
}

// RawBatchGetItems is RawBatchGet returning the items found.
func (e *BenchEnv) RawBatchGetItems(tb testing.TB, keys ...table.Key) []map[string]types.AttributeValue {
	avs := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		avs[i] = k.AV()
	}
	out, err := e.DB.BatchGetItem(context.Background(), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		e.Config.Table: {Keys: avs, ConsistentRead: aws.Bool(true)}}})
	if err != nil {
		tb.Fatal(err)
	}
	return out.Responses[e.Config.Table]
}

// Rewrite is a deep copy of item with every string in it (keys, index keys,
// lists, maps) rewritten by pairs (old, new, ...): a baseline copies an item
// the operation wrote, e.g. under another id and email, at the same size.
func Rewrite(item map[string]types.AttributeValue, pairs ...string) map[string]types.AttributeValue {
	r := strings.NewReplacer(pairs...)
	var rewrite func(v types.AttributeValue) types.AttributeValue
	rewrite = func(v types.AttributeValue) types.AttributeValue {
		switch x := v.(type) {
		case *types.AttributeValueMemberS:
			return S(r.Replace(x.Value))
		case *types.AttributeValueMemberSS:
			out := make([]string, len(x.Value))
			for i, s := range x.Value {
				out[i] = r.Replace(s)
			}
			return &types.AttributeValueMemberSS{Value: out}
		case *types.AttributeValueMemberL:
			out := make([]types.AttributeValue, len(x.Value))
			for i, e := range x.Value {
				out[i] = rewrite(e)
			}
			return &types.AttributeValueMemberL{Value: out}
		case *types.AttributeValueMemberM:
			out := make(map[string]types.AttributeValue, len(x.Value))
			for k, e := range x.Value {
				out[k] = rewrite(e)
			}
			return &types.AttributeValueMemberM{Value: out}
		default:
			return v
		}
	}
	out := make(map[string]types.AttributeValue, len(item))
	for k, v := range item {
		out[k] = rewrite(v)
	}
	return out
}

// RawAccountOpen is the check that nothing is written into a closed account
// (accounts.Open), as a raw transaction item: every baseline transaction
// that writes into an account sends it, as the operations do.
func RawAccountOpen(t table.Tenant, accountID string) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{Key: t.Account(accountID).AV(), ConditionExpression: aws.String("#status = :active"),
		ExpressionAttributeNames: Names("#status", "status"), ExpressionAttributeValues: Values(":active", accounts.StatusActive)}}
}
