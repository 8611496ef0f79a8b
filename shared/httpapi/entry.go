package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Job is a scheduled job's handler.
type Job func(ctx context.Context, ev events.EventBridgeEvent) error

// RouteDeadline bounds the answer to a request in a function that also runs
// a scheduled job: such a function's Lambda timeout is the job's (minutes),
// but API Gateway gives up on a request after 30 s, so the request's work
// stops here well before (its SDK calls fail, and the answer is a 503).
// It is the Lambda timeout of the functions that only serve routes.
const RouteDeadline = 10 * time.Second

// Entry is the Lambda handler of a function that serves both HTTP API routes
// and a scheduled job: a payload with a routeKey goes to routes, one with a
// detail-type to job. name labels the errors.
func Entry(name string, routes LambdaHandler, job Job) func(ctx context.Context, raw json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var kind struct {
			RouteKey   string `json:"routeKey"`
			DetailType string `json:"detail-type"`
		}
		if err := json.Unmarshal(raw, &kind); err != nil {
			return nil, fmt.Errorf("%s: undecodable event: %w", name, err)
		}
		switch {
		case kind.RouteKey != "":
			var req Request
			if err := json.Unmarshal(raw, &req); err != nil {
				return nil, fmt.Errorf("%s: bad HTTP API event: %w", name, err)
			}
			ctx, cancel := context.WithTimeout(ctx, RouteDeadline)
			defer cancel()
			return routes(ctx, req)
		case kind.DetailType != "":
			var ev events.EventBridgeEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("%s: bad EventBridge event: %w", name, err)
			}
			return nil, job(ctx, ev)
		default:
			return nil, fmt.Errorf("%s: neither an HTTP API request nor a scheduled event", name)
		}
	}
}
