package domainevents

import (
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

// Environment of the publish-events function.
const (
	EnvBusName = "EVENT_BUS_NAME"
	// EnvEventBridgeEndpoint is the SDK's own name for EventBridge's
	// endpoint: unset in AWS; locally the local event bus.
	EnvEventBridgeEndpoint = "AWS_ENDPOINT_URL_EVENTBRIDGE"
)

// NewPublisher builds the publisher from the environment: the bus it puts
// on (EVENT_BUS_NAME, required) and the EventBridge client.
func NewPublisher(cfg aws.Config, log *slog.Logger) (*Publisher, error) {
	bus := os.Getenv(EnvBusName)
	if bus == "" {
		return nil, errors.New(EnvBusName + " is not set")
	}
	return &Publisher{Bus: bus, Events: Client(cfg), Log: log}, nil
}

// Client builds the EventBridge client, pointed at the local event bus
// when its endpoint is set.
func Client(cfg aws.Config, extra ...func(*eventbridge.Options)) *eventbridge.Client {
	return eventbridge.NewFromConfig(cfg, append([]func(*eventbridge.Options){func(o *eventbridge.Options) {
		if ep := os.Getenv(EnvEventBridgeEndpoint); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	}}, extra...)...)
}
