package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/acme/accountadmin/functions/publish-events/handler"
	"github.com/acme/accountadmin/infra/local/stack"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/domainevents"
)

// localBusName is the name of the local event bus (in AWS the stack's bus
// has its own, in EVENT_BUS_NAME).
const localBusName = "accountadmin-local"

// startEventBus serves the local event bus on port and points
// publish-events at it (AWS_ENDPOINT_URL_EVENTBRIDGE, EVENT_BUS_NAME).
func startEventBus(ctx context.Context, port int, webhook string) (*stack.LocalEventBus, error) {
	bus := &stack.LocalEventBus{Name: localBusName, Webhook: webhook, Log: slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("component", "local-event-bus")}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, fmt.Errorf("local event bus on %d: %w", port, err)
	}
	srv := &http.Server{Handler: bus, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	setenv(map[string]string{
		domainevents.EnvEventBridgeEndpoint: "http://" + ln.Addr().String(),
		domainevents.EnvBusName:             localBusName,
	})
	return bus, nil
}

// startPublishEvents runs the publish-events function on DynamoDB Local's
// stream of the table, as its event source mapping does in AWS (the same
// filter), from the stream's newest record: the table is kept between runs
// and its old entries were published then.
func startPublishEvents(ctx context.Context, deps app.Deps, dynamoEndpoint string) error {
	db := awsclient.DynamoDB(deps.AWS)
	if err := stack.EnableStream(ctx, db, deps.Config.Table); err != nil {
		return err
	}
	pub, err := domainevents.NewPublisher(deps.AWS, deps.Log.With("function", "publish-events"))
	if err != nil {
		return err
	}
	pump := &stack.StreamPump{DB: db, Streams: stack.StreamsClient(deps.AWS, dynamoEndpoint), Table: deps.Config.Table,
		Filter: domainevents.ChangeLogInserts.Matches, Handler: stack.StreamHandler(handler.New(pub)), FromLatest: true,
		Log: deps.Log.With("component", "stream-pump")}
	go func() {
		if err := pump.Run(ctx); err != nil {
			deps.Log.Error("publish-events stopped", "error", err.Error())
		}
	}()
	return nil
}

// withEvents serves the local event bus's page at /_local/events beside the API.
func withEvents(api http.Handler, bus *stack.LocalEventBus) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSuffix(r.URL.Path, "/") == stack.EventsPath {
			bus.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

func webhookNote(webhook string) string {
	if webhook == "" {
		return " (pass -events-webhook URL or EVENTS_WEBHOOK to receive each one)"
	}
	return ", each POSTed to " + webhook
}
