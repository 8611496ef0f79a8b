package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/httpapi"
)

// A function that serves routes and runs a job has the job's Lambda timeout
// (minutes): its requests stop at RouteDeadline, within the gateway's 30 s,
// and its job keeps the whole invocation.
func TestRequestsStopAtTheRouteDeadlineAndJobsDoNot(t *testing.T) {
	t.Parallel()
	var routeDeadline, jobDeadline time.Time
	var routeHas, jobHas bool
	fn := httpapi.Entry("both", func(ctx context.Context, _ httpapi.Request) (httpapi.Response, error) {
		routeDeadline, routeHas = ctx.Deadline()
		return httpapi.NoContent(), nil
	}, func(ctx context.Context, _ events.EventBridgeEvent) error {
		jobDeadline, jobHas = ctx.Deadline()
		return nil
	})
	request, _ := json.Marshal(events.APIGatewayV2HTTPRequest{RouteKey: "GET /x", RawPath: "/x"})
	scheduled, _ := json.Marshal(events.EventBridgeEvent{Version: "0", ID: "e1", DetailType: "Scheduled Event", Source: "aws.events"})

	for _, c := range []struct {
		name    string
		timeout time.Duration // the invocation's, 0 for none
	}{{"a job's 5-minute timeout", 5 * time.Minute}, {"no deadline (locally)", 0}} {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if c.timeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, c.timeout)
		}
		invocation, hasInvocation := ctx.Deadline()
		if _, err := fn(ctx, request); err != nil {
			t.Fatal(err)
		}
		after := time.Now() // the deadline was set before this instant
		if _, err := fn(ctx, scheduled); err != nil {
			t.Fatal(err)
		}
		cancel()
		if !routeHas || routeDeadline.After(after.Add(httpapi.RouteDeadline)) {
			t.Errorf("%s: the request's deadline is %v away (set %v), want at most %s", c.name, routeDeadline.Sub(after), routeHas, httpapi.RouteDeadline)
		}
		if jobHas != hasInvocation || !jobDeadline.Equal(invocation) {
			t.Errorf("%s: the job's deadline is %v (set %v), want the invocation's %v (set %v)", c.name, jobDeadline, jobHas, invocation, hasInvocation)
		}
	}
	if httpapi.RouteDeadline >= 30*time.Second {
		t.Fatalf("RouteDeadline %s is not within API Gateway's 30 s", httpapi.RouteDeadline)
	}
}
