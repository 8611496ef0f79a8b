// Package awsclient builds the SDK clients once, at init, from the
// environment. In AWS nothing is set and the SDK's defaults apply; locally
// AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SES point at DynamoDB Local
// and SES local, with dummy static credentials (SES local rejects unsigned
// requests). With Lambda active tracing on (AWS_XRAY_DAEMON_ADDRESS set),
// Load instruments every client built from its configuration
// (shared/tracing), as app.AWSConfigFromEnv does for the functions.
package awsclient

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/smithy-go/middleware"

	"github.com/acme/accountadmin/shared/sesmail"
	"github.com/acme/accountadmin/shared/tracing"
)

// Environment variable names (the same the SDK itself honours for endpoints).
const (
	EnvDynamoDBEndpoint = "AWS_ENDPOINT_URL_DYNAMODB"
	EnvSESEndpoint      = "AWS_ENDPOINT_URL_SES"
)

// Local reports whether a local endpoint is configured.
func Local() bool {
	return os.Getenv(EnvDynamoDBEndpoint) != "" || os.Getenv(EnvSESEndpoint) != ""
}

// Load reads the shared AWS configuration.
func Load(ctx context.Context) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion("us-east-1"))
	}
	if Local() {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	tracing.Instrument(&cfg)
	return cfg, nil
}

// DynamoDB builds the DynamoDB client.
func DynamoDB(cfg aws.Config, extra ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		if ep := os.Getenv(EnvDynamoDBEndpoint); ep != "" {
			o.BaseEndpoint = aws.String(ep)
			// DynamoDB Local's error responses carry no CRC32 the SDK accepts.
			o.DisableValidateResponseChecksum = true
		}
	}}, extra...)...)
}

// SES builds the SES client, pointed at SES local when its endpoint is set
// (sesmail.Client, which the functions that send email use).
func SES(cfg aws.Config, extra ...func(*ses.Options)) *ses.Client {
	return sesmail.Client(cfg, extra...)
}

// CallCounter counts the SDK operations sent through the clients it is
// attached to (benchmarks report DynamoDB calls per operation with it).
type CallCounter struct{ n atomic.Int64 }

// Count returns the operations counted so far.
func (c *CallCounter) Count() int64 { return c.n.Load() }

// Reset sets the count to zero.
func (c *CallCounter) Reset() { c.n.Store(0) }

// Attach adds the counter to a client's middleware stack; use it as an
// APIOptions entry.
func (c *CallCounter) Attach(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CallCounter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.n.Add(1)
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}
