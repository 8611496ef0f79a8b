package httpapi

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// NewLogger is the logger of every function, and of the local stack, so
// that both write the same lines: JSON objects with the keys Lambda's JSON
// log format uses (timestamp, level, message), at the level of
// AWS_LAMBDA_LOG_LEVEL (INFO when unset), each carrying the Lambda
// invocation's id as lambdaRequestId when the context has one.
//
// It is lambdacontext.NewLogger but for one key: that logger names the
// Lambda id requestId, and the request log line (Serve) already has a
// requestId, the API Gateway id that problem bodies quote and the access
// log records. Two requestId keys in one line made a search by the quoted
// id miss; here there is one requestId and one lambdaRequestId.
func NewLogger(w io.Writer) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: levelFromEnv(), ReplaceAttr: lambdacontext.ReplaceAttr})
	return slog.New(invocationHandler{h})
}

// levelFromEnv reads the application log level Lambda is configured with.
func levelFromEnv() slog.Level {
	switch os.Getenv("AWS_LAMBDA_LOG_LEVEL") {
	case "DEBUG", "TRACE":
		return slog.LevelDebug
	case "WARN":
		return slog.LevelWarn
	case "ERROR", "FATAL":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// invocationHandler adds the Lambda invocation id to every record.
type invocationHandler struct{ slog.Handler }

func (h invocationHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		r.AddAttrs(slog.String("lambdaRequestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h invocationHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return invocationHandler{h.Handler.WithAttrs(attrs)}
}

func (h invocationHandler) WithGroup(name string) slog.Handler {
	return invocationHandler{h.Handler.WithGroup(name)}
}
