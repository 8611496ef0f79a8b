package tracing

import (
	"context"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// BenchmarkSubsegment is the work tracing adds to one SDK call: reading
// the trace header, timing, building the document and sending it to a UDP
// listener on the loopback (the daemon's protocol). The call itself is a
// handler that returns at once, so nothing else is measured.
func BenchmarkSubsegment(b *testing.B) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	d := &Daemon{addr: conn.LocalAddr().String()}
	//lint:ignore SA1029 the key is aws-lambda-go's, a plain string
	ctx := context.WithValue(context.Background(), ContextKey, "Root=1-6752f1a0-5e1d2c3b4a5f6e7d8c9b0a1f;Parent=53995c3f42cd8ad8;Sampled=1")
	ctx = awsmiddleware.SetServiceID(ctx, "DynamoDB")
	ctx = awsmiddleware.SetOperationName(ctx, "GetItem")
	ctx = awsmiddleware.SetRegion(ctx, "eu-west-1")
	in := middleware.InitializeInput{Parameters: &dynamodb.GetItemInput{TableName: aws.String("accountadmin")}}
	next := middleware.InitializeHandlerFunc(func(ctx context.Context, in middleware.InitializeInput) (middleware.InitializeOutput, middleware.Metadata, error) {
		return middleware.InitializeOutput{}, middleware.Metadata{}, nil
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.handleCall(ctx, in, next); err != nil {
			b.Fatal(err)
		}
	}
}
