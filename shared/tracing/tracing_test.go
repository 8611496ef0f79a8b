package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/tracing"
)

const (
	traceRoot   = "1-6752f1a0-5e1d2c3b4a5f6e7d8c9b0a1f"
	traceParent = "53995c3f42cd8ad8"
)

// fakeDaemon is a UDP listener on the loopback standing in for the X-Ray
// daemon: it receives what the daemon would, over the real protocol.
type fakeDaemon struct {
	t    *testing.T
	conn *net.UDPConn
}

func newFakeDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &fakeDaemon{t: t, conn: conn}
}

// next reads one datagram: the header line, then a segment document.
func (d *fakeDaemon) next() (raw string, doc map[string]any) {
	d.t.Helper()
	buf := make([]byte, 64<<10)
	_ = d.conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound on a lost datagram, not a timing assertion
	n, err := d.conn.Read(buf)
	if err != nil {
		d.t.Fatalf("no document reached the daemon: %v", err)
	}
	head, body, ok := bytes.Cut(buf[:n], []byte("\n"))
	if !ok || string(head) != `{"format": "json", "version": 1}` {
		d.t.Fatalf("datagram without the daemon's header line: %q", buf[:n])
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		d.t.Fatalf("segment document %q: %v", body, err)
	}
	return string(body), doc
}

// tracedDynamoDB is the DynamoDB client the functions build, with tracing
// on as Lambda active tracing turns it on.
func tracedDynamoDB(t *testing.T, daemon *fakeDaemon) *dynamodb.Client {
	t.Helper()
	t.Setenv(tracing.EnvDaemonAddress, daemon.conn.LocalAddr().String())
	cfg, err := awsclient.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return awsclient.DynamoDB(cfg)
}

func invocation() context.Context {
	//lint:ignore SA1029 the key is aws-lambda-go's, a plain string
	return context.WithValue(context.Background(), tracing.ContextKey, "Root="+traceRoot+";Parent="+traceParent+";Sampled=1")
}

func TestEverySDKCallIsASubsegmentOfTheInvocation(t *testing.T) {
	env := testkit.New(t)
	daemon := newFakeDaemon(t)
	db := tracedDynamoDB(t, daemon)
	ctx := invocation()
	pk := "TRACE#" + ids.NewSecret()[:12]
	secretValue := "value-" + ids.NewSecret()[:12]
	item := map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: "ITEM"},
		"data": &types.AttributeValueMemberS{Value: secretValue},
	}

	// One success...
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: env.TableName(), Item: item}); err != nil {
		t.Fatal(err)
	}
	okRaw, ok := daemon.next()
	// ...and one failure: the same item again, on the condition it is absent.
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: env.TableName(), Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("the conditional put: %v", err)
	}
	failedRaw, failed := daemon.next()

	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for _, c := range []struct {
		name string
		raw  string
		doc  map[string]any
	}{{"success", okRaw, ok}, {"failure", failedRaw, failed}} {
		awsPart, _ := c.doc["aws"].(map[string]any)
		httpPart, _ := c.doc["http"].(map[string]any)
		resp, _ := httpPart["response"].(map[string]any)
		id, _ := c.doc["id"].(string)
		start, _ := c.doc["start_time"].(float64)
		end, _ := c.doc["end_time"].(float64)
		if c.doc["trace_id"] != traceRoot || c.doc["parent_id"] != traceParent || !hex16.MatchString(id) || id == traceParent ||
			c.doc["type"] != "subsegment" || c.doc["namespace"] != "aws" || c.doc["name"] != "DynamoDB" ||
			awsPart["operation"] != "PutItem" || awsPart["table_name"] != env.Config.Table || awsPart["region"] == "" ||
			awsPart["retries"] != float64(0) || start < 1e9 || end < start {
			t.Errorf("%s: %s", c.name, c.raw)
		}
		// Nothing of the request: no key, no attribute value.
		if strings.Contains(c.raw, pk) || strings.Contains(c.raw, secretValue) || strings.Contains(c.raw, `"data"`) {
			t.Errorf("%s carries item data: %s", c.name, c.raw)
		}
		if c.name == "success" && (resp["status"] != float64(200) || c.doc["error"] != nil || c.doc["fault"] != nil) {
			t.Errorf("success flagged: %s", c.raw)
		}
		if c.name == "failure" && (resp["status"] != float64(400) || c.doc["error"] != true || c.doc["fault"] != nil || c.doc["throttle"] != nil ||
			!strings.Contains(c.raw, `"type":"ConditionalCheckFailedException"`)) {
			t.Errorf("failure not flagged as an error: %s", c.raw)
		}
	}
	if ok["id"] == failed["id"] {
		t.Fatal("two calls share a subsegment id")
	}
}

// A call outside an invocation (no trace header), or not sampled, sends
// nothing; the next traced call is the first document the daemon sees.
func TestUntracedCallsSendNothing(t *testing.T) {
	env := testkit.New(t)
	daemon := newFakeDaemon(t)
	db := tracedDynamoDB(t, daemon)
	get := func(ctx context.Context) {
		if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: env.TableName(), Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "TRACE#none"}, "SK": &types.AttributeValueMemberS{Value: "ITEM"}}}); err != nil {
			t.Fatal(err)
		}
	}
	get(context.Background())
	//lint:ignore SA1029 the key is aws-lambda-go's, a plain string
	get(context.WithValue(context.Background(), tracing.ContextKey, "Root="+traceRoot+";Parent="+traceParent+";Sampled=0"))
	get(invocation())
	if _, doc := daemon.next(); doc["aws"].(map[string]any)["operation"] != "GetItem" || doc["trace_id"] != traceRoot {
		t.Fatalf("first document: %v", doc)
	}
}

// Without the daemon's address, nothing is attached to the clients at all.
func TestWithoutTheDaemonNothingIsAttached(t *testing.T) {
	t.Setenv(tracing.EnvDaemonAddress, "")
	var cfg aws.Config
	tracing.Instrument(&cfg)
	if len(cfg.APIOptions) != 0 {
		t.Fatalf("%d API options attached with tracing off", len(cfg.APIOptions))
	}
	t.Setenv(tracing.EnvDaemonAddress, "127.0.0.1:2000")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTRACE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "trace")
	fn, err := app.AWSConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if len(fn.APIOptions) != 1 {
		t.Fatalf("the functions' configuration has %d API options with the daemon set, want the tracer", len(fn.APIOptions))
	}
}
