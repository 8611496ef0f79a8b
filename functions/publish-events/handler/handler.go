// Package handler is the publish-events function: fed by the table's
// stream with batches of new change-log entries, it puts one event per
// entry on the service's bus and reports the records it could not put as
// batch item failures, so that only they (and what follows them) come back.
package handler

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/domainevents"
)

// Handler is the function's Lambda handler.
type Handler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// New returns the handler.
func New(p *domainevents.Publisher) Handler { return p.Handle }
