// Package tracing makes every AWS SDK call of an invocation one X-Ray
// subsegment of the invocation's segment, without an X-Ray or OpenTelemetry
// SDK: with Lambda active tracing on, Lambda runs the X-Ray daemon, names
// its address in AWS_XRAY_DAEMON_ADDRESS and gives each invocation a trace
// header (Root=...;Parent=...;Sampled=...), which aws-lambda-go puts in the
// context under "x-amzn-trace-id" (and, one invocation at a time, in
// _X_AMZN_TRACE_ID). A middleware on the SDK clients times each call,
// retries included, and sends the subsegment to the daemon over UDP.
//
// Without AWS_XRAY_DAEMON_ADDRESS (locally, in tests, with tracing off)
// Instrument attaches nothing: the clients run as if this package did not
// exist. A subsegment carries the operation, region, request id, table
// name, retries, status and error flags: never parameters, items or keys.
package tracing

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Environment variables Lambda sets when active tracing is on.
const (
	EnvDaemonAddress = "AWS_XRAY_DAEMON_ADDRESS"
	EnvTraceHeader   = "_X_AMZN_TRACE_ID"
)

// ContextKey is the context key under which aws-lambda-go stores the
// invocation's trace header (a plain string, as aws-lambda-go uses it).
const ContextKey = "x-amzn-trace-id"

// header is the first line of every document sent to the daemon.
const header = `{"format": "json", "version": 1}` + "\n"

// Instrument adds the tracing middleware to every client built from cfg,
// when the X-Ray daemon's address is set; otherwise it leaves cfg as it is.
func Instrument(cfg *aws.Config) {
	addr := daemonAddress(os.Getenv(EnvDaemonAddress))
	if addr == "" {
		return
	}
	d := &Daemon{addr: addr}
	cfg.APIOptions = append(cfg.APIOptions, d.Attach)
}

// daemonAddress reads the daemon's UDP address: "host:port", or the
// "tcp:host:port udp:host:port" form.
func daemonAddress(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	for _, part := range strings.Fields(v) {
		if a, ok := strings.CutPrefix(part, "udp:"); ok {
			return a
		}
	}
	if strings.Contains(v, "tcp:") {
		return ""
	}
	return v
}

// Daemon sends subsegments to the X-Ray daemon at one address.
type Daemon struct {
	addr string

	once sync.Once
	conn net.Conn
	err  error
}

// Attach adds the middleware to a client's stack (an APIOptions entry): one
// step around the whole call (Initialize) and one around each attempt's
// response (Deserialize), which records its HTTP status.
func (d *Daemon) Attach(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("XRaySubsegment", d.handleCall), middleware.After); err != nil {
		return err
	}
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("XRayHTTPStatus", recordStatus), middleware.After)
}

type callKey struct{}

// call is what the attempts of one call leave for its subsegment.
type call struct{ status int }

func (d *Daemon) handleCall(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	trace, ok := traceOf(ctx)
	if !ok {
		return next.HandleInitialize(ctx, in)
	}
	c := &call{}
	start := time.Now()
	out, md, err := next.HandleInitialize(context.WithValue(ctx, callKey{}, c), in)
	end := time.Now()
	seg := subsegment{
		Name: awsmiddleware.GetServiceID(ctx), ID: newID(), TraceID: trace.root, ParentID: trace.parent,
		StartTime: epoch(start), EndTime: epoch(end), Type: "subsegment", Namespace: "aws",
		AWS: awsPart{Operation: awsmiddleware.GetOperationName(ctx), Region: awsmiddleware.GetRegion(ctx), TableName: tableName(in.Parameters)},
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
		seg.AWS.RequestID = id
	}
	if r, ok := retry.GetAttemptResults(md); ok && len(r.Results) > 1 {
		seg.AWS.Retries = len(r.Results) - 1
	}
	seg.flag(c.status, err)
	d.send(seg)
	return out, md, err
}

func recordStatus(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp != nil {
			c.status = resp.StatusCode
		}
	}
	return out, md, err
}

type subsegment struct {
	Name      string    `json:"name"`
	ID        string    `json:"id"`
	TraceID   string    `json:"trace_id"`
	ParentID  string    `json:"parent_id"`
	StartTime float64   `json:"start_time"`
	EndTime   float64   `json:"end_time"`
	Type      string    `json:"type"`
	Namespace string    `json:"namespace"`
	AWS       awsPart   `json:"aws"`
	HTTP      *httpPart `json:"http,omitempty"`
	Error     bool      `json:"error,omitempty"`
	Fault     bool      `json:"fault,omitempty"`
	Throttle  bool      `json:"throttle,omitempty"`
	Cause     *cause    `json:"cause,omitempty"`
}

type awsPart struct {
	Operation string `json:"operation"`
	Region    string `json:"region,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	TableName string `json:"table_name,omitempty"`
	Retries   int    `json:"retries"`
}

type httpPart struct {
	Response struct {
		Status int `json:"status"`
	} `json:"response"`
}

// cause names the error by its code only: an AWS error message can quote
// the request (a key, a value), which a trace must not carry.
type cause struct {
	Exceptions []exception `json:"exceptions"`
}

type exception struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Remote bool   `json:"remote"`
}

// throttling reports the error codes X-Ray should count as throttles (a
// switch, not a map: no work at init).
func throttling(code string) bool {
	switch code {
	case "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling",
		"RequestLimitExceeded", "TooManyRequestsException", "ThrottledException":
		return true
	}
	return false
}

// flag sets the status and error flags: a 4xx answer is an error, 429 or
// a throttling code also a throttle, a 5xx (or no answer at all) a fault.
func (s *subsegment) flag(status int, err error) {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		status = re.HTTPStatusCode()
	}
	if status != 0 {
		s.HTTP = &httpPart{}
		s.HTTP.Response.Status = status
	}
	if err == nil {
		return
	}
	code := ""
	var api smithy.APIError
	if errors.As(err, &api) {
		code = api.ErrorCode()
		s.Cause = &cause{Exceptions: []exception{{ID: newID(), Type: code, Remote: true}}}
	}
	switch {
	case status == 429 || throttling(code):
		s.Error, s.Throttle = true, true
	case status >= 400 && status < 500:
		s.Error = true
	default:
		s.Fault = true
	}
}

func (d *Daemon) send(seg subsegment) {
	d.once.Do(func() { d.conn, d.err = net.Dial("udp", d.addr) })
	if d.err != nil {
		return
	}
	doc, err := json.Marshal(seg)
	if err != nil {
		return
	}
	// A lost datagram is a lost trace, never a failed call.
	_, _ = d.conn.Write(append([]byte(header), doc...))
}

type traceHeader struct{ root, parent string }

// traceOf reads the invocation's trace header, from the context (where
// aws-lambda-go puts it) or else from the environment. A header without a
// parent, or not sampled, is not traced.
func traceOf(ctx context.Context) (traceHeader, bool) {
	v, _ := ctx.Value(ContextKey).(string)
	if v == "" {
		v = os.Getenv(EnvTraceHeader)
	}
	var h traceHeader
	for _, part := range strings.Split(v, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			h.root = val
		case "Parent":
			h.parent = val
		case "Sampled":
			if val == "0" {
				return traceHeader{}, false
			}
		}
	}
	return h, h.root != "" && h.parent != ""
}

// tableName is the TableName of an operation's input, where it has one.
func tableName(params any) string {
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	f := v.Elem().FieldByName("TableName")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*string]() || f.IsNil() {
		return ""
	}
	return f.Elem().String()
}

func newID() string {
	var b [8]byte
	n := rand.Uint64()
	for i := range b {
		b[i] = byte(n >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}

// epoch is X-Ray's time: epoch seconds, to the microsecond.
func epoch(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }
