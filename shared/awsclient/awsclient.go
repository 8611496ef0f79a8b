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
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
// attached to (benchmarks report DynamoDB calls per operation with it). Once
// asked with CountCapacity, it also has every DynamoDB request return its
// consumed capacity (ReturnConsumedCapacity TOTAL, where the request does not
// already ask) and sums the read and write capacity units of the answers; a
// counter not asked leaves requests as they are.
type CallCounter struct {
	n        atomic.Int64
	capacity atomic.Bool

	mu       sync.Mutex
	rcu, wcu float64
}

// Count returns the operations counted so far.
func (c *CallCounter) Count() int64 { return c.n.Load() }

// CountCapacity makes the counter ask for and sum consumed capacity.
func (c *CallCounter) CountCapacity() { c.capacity.Store(true) }

// Capacity returns the read and write capacity units consumed so far (in
// on-demand mode, the read and write request units billed). A transactional
// write or read counts double, as DynamoDB reports it.
func (c *CallCounter) Capacity() (rcu, wcu float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rcu, c.wcu
}

// Reset sets the count and the capacity to zero.
func (c *CallCounter) Reset() {
	c.n.Store(0)
	c.mu.Lock()
	c.rcu, c.wcu = 0, 0
	c.mu.Unlock()
}

// Attach adds the counter to a client's middleware stack; use it as an
// APIOptions entry.
func (c *CallCounter) Attach(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CallCounter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.n.Add(1)
			if !c.capacity.Load() {
				return next.HandleInitialize(ctx, in)
			}
			askConsumedCapacity(in.Parameters)
			out, md, err := next.HandleInitialize(ctx, in)
			if rcu, wcu := ConsumedCapacity(out.Result); rcu != 0 || wcu != 0 {
				c.mu.Lock()
				c.rcu += rcu
				c.wcu += wcu
				c.mu.Unlock()
			}
			return out, md, err
		}), middleware.After)
}

// askConsumedCapacity sets ReturnConsumedCapacity TOTAL on a DynamoDB
// request that does not set it.
func askConsumedCapacity(params any) {
	set := func(r *types.ReturnConsumedCapacity) {
		if *r == "" {
			*r = types.ReturnConsumedCapacityTotal
		}
	}
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		set(&in.ReturnConsumedCapacity)
	case *dynamodb.BatchGetItemInput:
		set(&in.ReturnConsumedCapacity)
	case *dynamodb.QueryInput:
		set(&in.ReturnConsumedCapacity)
	case *dynamodb.ScanInput:
		set(&in.ReturnConsumedCapacity)
	case *dynamodb.TransactGetItemsInput:
		set(&in.ReturnConsumedCapacity)
	case *dynamodb.PutItemInput:
		set(&in.ReturnConsumedCapacity)
	case *dynamodb.UpdateItemInput:
		set(&in.ReturnConsumedCapacity)
	case *dynamodb.DeleteItemInput:
		set(&in.ReturnConsumedCapacity)
	case *dynamodb.BatchWriteItemInput:
		set(&in.ReturnConsumedCapacity)
	case *dynamodb.TransactWriteItemsInput:
		set(&in.ReturnConsumedCapacity)
	}
}

// ConsumedCapacity sums the capacity a DynamoDB answer reports: read units
// for the reading operations, write units for the writing ones (a condition
// or ReturnValues on a write costs no read units).
func ConsumedCapacity(result any) (rcu, wcu float64) {
	units := func(cs ...types.ConsumedCapacity) (n float64) {
		for _, cc := range cs {
			n += aws.ToFloat64(cc.CapacityUnits)
		}
		return n
	}
	one := func(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
		if cc == nil {
			return nil
		}
		return []types.ConsumedCapacity{*cc}
	}
	switch out := result.(type) {
	case *dynamodb.GetItemOutput:
		return units(one(out.ConsumedCapacity)...), 0
	case *dynamodb.BatchGetItemOutput:
		return units(out.ConsumedCapacity...), 0
	case *dynamodb.QueryOutput:
		return units(one(out.ConsumedCapacity)...), 0
	case *dynamodb.ScanOutput:
		return units(one(out.ConsumedCapacity)...), 0
	case *dynamodb.TransactGetItemsOutput:
		return units(out.ConsumedCapacity...), 0
	case *dynamodb.PutItemOutput:
		return 0, units(one(out.ConsumedCapacity)...)
	case *dynamodb.UpdateItemOutput:
		return 0, units(one(out.ConsumedCapacity)...)
	case *dynamodb.DeleteItemOutput:
		return 0, units(one(out.ConsumedCapacity)...)
	case *dynamodb.BatchWriteItemOutput:
		return 0, units(out.ConsumedCapacity...)
	case *dynamodb.TransactWriteItemsOutput:
		return 0, units(out.ConsumedCapacity...)
	}
	return 0, 0
}
