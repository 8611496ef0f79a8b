package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
)

// The metrics Serve publishes, in CloudWatch embedded metric format (EMF):
// one JSON log line per request that CloudWatch Logs turns into metrics, so
// counting costs no API call. The CDK stack's alarms and dashboard read
// these names.
const (
	// MetricNamespace is the namespace of the default stage; another
	// stage's is StageNamespace(stage), which the stack gives its functions
	// in EnvMetricNamespace, so that two stages in one account never count
	// in each other's alarms.
	MetricNamespace    = "AccountAdmin"
	EnvMetricNamespace = "METRICS_NAMESPACE"

	// Per function (dimension Function, the folder name in functions/):
	MetricRequests         = "Requests"         // every answered request
	MetricFaults           = "Faults"           // answers with a 5xx status
	MetricPanics           = "Panics"           // handlers that panicked (answered 500)
	MetricLatency          = "Latency"          // milliseconds from event to answer
	MetricDynamoDBFailures = "DynamoDBFailures" // requests failed by DynamoDB, after the SDK's retries
	MetricSESFailures      = "SESFailures"      // emails SES did not take, after the sender's retries

	// Requests is also published per function, route and status class.
	DimensionFunction    = "Function"
	DimensionRoute       = "Route"
	DimensionStatusClass = "StatusClass"
)

// observation is what Serve learns about one request while it runs: the
// caller, the failure that Problem turned into an answer, and the failures
// of the services it called. It travels in the request's context.
type observation struct {
	mu       sync.Mutex
	caller   *access.Caller
	code     string
	err      error
	level    slog.Level
	failed   bool
	panicked bool
	panicMsg string
	stack    string
	counts   map[string]int
}

type observationKey struct{}

func observe(ctx context.Context) (context.Context, *observation) {
	o := &observation{counts: map[string]int{}}
	return context.WithValue(ctx, observationKey{}, o), o
}

func observationFrom(ctx context.Context) *observation {
	o, _ := ctx.Value(observationKey{}).(*observation)
	return o
}

// CountFailure counts one failure of a service the request called (metric
// is MetricSESFailures or MetricDynamoDBFailures) in the request's metric
// line. Outside a request served by Serve it does nothing. Failures that
// reach Serve as errors are counted by Serve itself.
func CountFailure(ctx context.Context, metric string) {
	if o := observationFrom(ctx); o != nil {
		o.mu.Lock()
		o.counts[metric]++
		o.mu.Unlock()
	}
}

// noteProblem records the failure that Problem answers.
func (o *observation) noteProblem(e *apperr.Error, err error, level slog.Level) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed, o.code, o.err, o.level = true, e.Code, err, level
	var op *smithy.OperationError
	if errors.As(err, &op) && op.Service() == "DynamoDB" {
		o.counts[MetricDynamoDBFailures]++
	}
}

// finish writes the request's one log line, which is also its metric line:
// requestId (API Gateway's: the one problem bodies quote and the access log
// records), lambdaRequestId (added by NewLogger), function, route, status,
// durationMs, and who called: tenant, accountId, callerKind, callerId. Ids
// only: never an email, a name, a token or a password. 2xx and 3xx are
// INFO; 4xx INFO or WARN by kind (Status); 5xx ERROR, with the error.
func (o *observation) finish(ctx context.Context, log *slog.Logger, function string, req Request, resp Response, started time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	status := resp.StatusCode
	if status == 0 {
		status = 200
	}
	elapsed := time.Since(started)
	ms := float64(elapsed.Microseconds()) / 1000
	level := slog.LevelInfo
	if o.failed {
		level = o.level
	}
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("requestId", req.RequestContext.RequestID),
		slog.String("function", function),
		slog.String("route", req.RouteKey),
		slog.Int("status", status),
		slog.Float64("durationMs", ms),
	}
	if o.caller != nil {
		attrs = append(attrs, slog.String("tenant", o.caller.Tenant.ID()))
	}
	if a := req.PathParameters["accountId"]; a != "" {
		attrs = append(attrs, slog.String("accountId", a))
	} else if o.caller != nil && o.caller.AccountID != "" {
		attrs = append(attrs, slog.String("accountId", o.caller.AccountID))
	}
	if o.caller != nil {
		attrs = append(attrs, slog.String("callerKind", callerKind(*o.caller)), slog.String("callerId", o.caller.UserID))
	}
	if o.code != "" {
		attrs = append(attrs, slog.String("code", o.code))
	}
	// A 4xx error's text is about the request (it may quote what was sent),
	// so only its code is logged; a 5xx error is ours, and logged whole.
	if status >= 500 && o.err != nil {
		attrs = append(attrs, slog.String("error", o.err.Error()))
	}
	if o.panicked {
		attrs = append(attrs, slog.String("panic", o.panicMsg), slog.String("stack", o.stack))
	}
	attrs = append(attrs, o.metrics(function, req.RouteKey, status, ms)...)
	log.LogAttrs(ctx, level, "request", attrs...)
}

// callerKind names how the caller acts: an API key, a support person
// switched into the account, a tenant operator, or a user.
func callerKind(c access.Caller) string {
	switch {
	case c.IsKey():
		return "api_key"
	case c.SupportReason != "":
		return "support"
	case c.Operator:
		return "operator"
	default:
		return "user"
	}
}

// StageNamespace is the metric namespace of a deployment stage: the default
// stage ("prod", or none) keeps MetricNamespace.
func StageNamespace(stage string) string {
	if stage == "" || stage == "prod" {
		return MetricNamespace
	}
	return MetricNamespace + "/" + stage
}

// namespace is this function's metric namespace, from its environment.
var namespace = sync.OnceValue(func() string {
	if ns := os.Getenv(EnvMetricNamespace); ns != "" {
		return ns
	}
	return MetricNamespace
})

// metrics are the EMF members of the request line: the _aws directive and
// the values it names. Function-level metrics have the dimension Function;
// Requests also Function, Route and StatusClass.
func (o *observation) metrics(function, route string, status int, ms float64) []slog.Attr {
	class := strconv.Itoa(status/100) + "xx"
	perFunction := []map[string]string{
		{"Name": MetricRequests, "Unit": "Count"},
		{"Name": MetricFaults, "Unit": "Count"},
		{"Name": MetricPanics, "Unit": "Count"},
		{"Name": MetricLatency, "Unit": "Milliseconds"},
		{"Name": MetricDynamoDBFailures, "Unit": "Count"},
		{"Name": MetricSESFailures, "Unit": "Count"},
	}
	directive := map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{
			{"Namespace": namespace(), "Dimensions": [][]string{{DimensionFunction}}, "Metrics": perFunction},
			{"Namespace": namespace(), "Dimensions": [][]string{{DimensionFunction, DimensionRoute, DimensionStatusClass}},
				"Metrics": []map[string]string{{"Name": MetricRequests, "Unit": "Count"}}},
		},
	}
	fault := 0
	if status >= 500 {
		fault = 1
	}
	panics := 0
	if o.panicked {
		panics = 1
	}
	return []slog.Attr{
		slog.Any("_aws", directive),
		slog.String(DimensionFunction, function),
		slog.String(DimensionRoute, route),
		slog.String(DimensionStatusClass, class),
		slog.Int(MetricRequests, 1),
		slog.Int(MetricFaults, fault),
		slog.Int(MetricPanics, panics),
		slog.Float64(MetricLatency, ms),
		slog.Int(MetricDynamoDBFailures, o.counts[MetricDynamoDBFailures]),
		slog.Int(MetricSESFailures, o.counts[MetricSESFailures]),
	}
}
