package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/acme/accountadmin/shared/table"
)

// StreamHandler is a Lambda handler fed by a DynamoDB stream, reporting
// partial batch failures.
type StreamHandler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// StreamPump does locally what a Lambda event source mapping does in AWS:
// it reads the table's stream on DynamoDB Local (GetShardIterator,
// GetRecords), keeps the records Filter passes (the mapping's filter),
// and calls Handler with batches of them. A failed batch (an error, or
// batch item failures) is given again from its lowest failed sequence
// number, at most Retries times, then dropped with an error log, where the
// deployed mapping sends it to its dead-letter queue.
type StreamPump struct {
	DB        *dynamodb.Client
	Streams   *dynamodbstreams.Client
	Table     string
	Filter    func(events.DynamoDBEventRecord) bool
	Handler   StreamHandler
	BatchSize int32 // default 100
	Retries   int   // default 3
	// FromLatest skips what the stream holds already (make dev, whose
	// table is kept between runs); tests read it from its start.
	FromLatest bool
	Poll       time.Duration // default 100ms
	Log        *slog.Logger
}

// EnableStream turns on the table's stream unless it is on.
func EnableStream(ctx context.Context, db *dynamodb.Client, name string) error {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", name, err)
	}
	if spec := out.Table.StreamSpecification; spec != nil && aws.ToBool(spec.StreamEnabled) {
		return nil
	}
	if _, err := db.UpdateTable(ctx, table.Schema.EnableStreamInput(name)); err != nil {
		return fmt.Errorf("enable the stream of %s: %w", name, err)
	}
	return nil
}

// Run pumps until ctx ends. It fails only when the table has no stream.
func (p *StreamPump) Run(ctx context.Context) error {
	arn, err := p.streamARN(ctx)
	if err != nil || arn == "" {
		return err
	}
	var (
		mu      sync.Mutex
		started = map[string]bool{}
		done    = map[string]bool{}
		wg      sync.WaitGroup
	)
	defer wg.Wait()
	first := true
	for ctx.Err() == nil {
		shards, err := p.shards(ctx, arn)
		if err != nil && ctx.Err() == nil {
			p.logger().Warn("describe stream", "error", err.Error())
		}
		latest := p.FromLatest && first
		first = false
		for _, sh := range shards {
			id := aws.ToString(sh.ShardId)
			mu.Lock()
			parent := aws.ToString(sh.ParentShardId)
			// A child shard starts once its parent is read to its end, so
			// each item's records stay in order.
			ready := !started[id] && (parent == "" || done[parent] || !slices.ContainsFunc(shards, func(s st.Shard) bool { return aws.ToString(s.ShardId) == parent }))
			if ready {
				started[id] = true
			}
			mu.Unlock()
			if !ready {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.readShard(ctx, arn, id, latest); err != nil && ctx.Err() == nil {
					p.logger().Error("read stream shard", "shard", id, "error", err.Error())
				}
				mu.Lock()
				done[id] = true
				mu.Unlock()
			}()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// streamARN is the table's stream, asked again while DynamoDB Local does not
// answer (a busy emulator is not a reason to stop pumping).
func (p *StreamPump) streamARN(ctx context.Context) (string, error) {
	for ctx.Err() == nil {
		out, err := p.DB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.Table)})
		if err == nil {
			if arn := aws.ToString(out.Table.LatestStreamArn); arn != "" {
				return arn, nil
			}
			return "", fmt.Errorf("table %s has no stream", p.Table)
		}
		var gone *types.ResourceNotFoundException
		if errors.As(err, &gone) {
			return "", fmt.Errorf("describe table %s: %w", p.Table, err)
		}
		p.logger().Warn("describe table", "table", p.Table, "error", err.Error())
		p.wait(ctx, time.Second)
	}
	return "", nil
}

func (p *StreamPump) shards(ctx context.Context, arn string) ([]st.Shard, error) {
	var shards []st.Shard
	var start *string
	for {
		out, err := p.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn), ExclusiveStartShardId: start})
		if err != nil {
			return shards, err
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if start = out.StreamDescription.LastEvaluatedShardId; start == nil {
			return shards, nil
		}
	}
}

// readShard reads one shard until it ends (its last iterator is nil) or ctx
// does. A failed call (DynamoDB Local busy, an expired iterator) does not end
// the shard's reading: the pump takes a new iterator after the last record
// it handed on, as the event source mapping does, so no record is skipped
// and none is given twice.
func (p *StreamPump) readShard(ctx context.Context, arn, shard string, latest bool) error {
	limit := p.BatchSize
	if limit <= 0 {
		limit = 100
	}
	poll := p.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	var next *string
	last := "" // the sequence number of the last record handed on
	failures := 0
	for ctx.Err() == nil {
		if next == nil {
			in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: aws.String(shard), ShardIteratorType: st.ShardIteratorTypeTrimHorizon}
			switch {
			case last != "":
				in.ShardIteratorType, in.SequenceNumber = st.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
			case latest:
				in.ShardIteratorType = st.ShardIteratorTypeLatest
			}
			iter, err := p.Streams.GetShardIterator(ctx, in)
			var trimmed *st.TrimmedDataAccessException
			if errors.As(err, &trimmed) && last != "" {
				// The records after the last one handed on are gone: read
				// on from the oldest one kept, saying so.
				p.logger().Error("stream records trimmed before they were read", "shard", shard, "after", last)
				last = ""
				continue
			}
			if err != nil {
				// A shard just listed can be refused for a while by a busy
				// emulator; one that stays refused is gone.
				if failures++; failures >= maxShardFailures {
					return fmt.Errorf("shard iterator, %d times: %w", failures, err)
				}
				p.logger().Warn("shard iterator", "shard", shard, "error", err.Error())
				p.wait(ctx, poll)
				continue
			}
			failures = 0
			if next = iter.ShardIterator; next == nil {
				return nil
			}
			latest = false // LATEST only once: after that, from what was read
		}
		out, err := p.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: next, Limit: aws.Int32(limit)})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var expired *st.ExpiredIteratorException
			var trimmed *st.TrimmedDataAccessException
			if errors.As(err, &expired) || errors.As(err, &trimmed) {
				// A new iterator, after the last record handed on: an
				// iterator expires, and DynamoDB Local, busy, refuses one
				// it handed out as pointing past the oldest record.
				next = nil
				p.wait(ctx, poll)
				continue
			}
			p.logger().Warn("get records", "shard", shard, "error", err.Error())
			p.wait(ctx, poll)
			continue
		}
		var batch []events.DynamoDBEventRecord
		for _, r := range out.Records {
			rec := lambdaRecord(r, arn)
			if p.Filter == nil || p.Filter(rec) {
				batch = append(batch, rec)
			}
		}
		if len(batch) > 0 {
			p.deliver(ctx, batch)
		}
		if n := len(out.Records); n > 0 && out.Records[n-1].Dynamodb != nil {
			last = aws.ToString(out.Records[n-1].Dynamodb.SequenceNumber)
		}
		if out.NextShardIterator == nil {
			return nil // the shard is closed and read to its end
		}
		next = out.NextShardIterator
		if len(out.Records) == 0 {
			p.wait(ctx, poll)
		}
	}
	return nil
}

// maxShardFailures is how many GetShardIterator failures in a row end the
// reading of a shard.
const maxShardFailures = 100

func (p *StreamPump) wait(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// deliver calls the handler as the event source mapping does: retries from
// the lowest failed sequence number, bounded.
func (p *StreamPump) deliver(ctx context.Context, batch []events.DynamoDBEventRecord) {
	retries := p.Retries
	if retries <= 0 {
		retries = 3
	}
	for attempt := 0; len(batch) > 0 && ctx.Err() == nil; attempt++ {
		resp, err := p.Handler(ctx, events.DynamoDBEvent{Records: batch})
		from := len(batch)
		if err != nil {
			from = 0
		}
		for _, f := range resp.BatchItemFailures {
			if i := slices.IndexFunc(batch, func(r events.DynamoDBEventRecord) bool { return r.Change.SequenceNumber == f.ItemIdentifier }); i >= 0 && i < from {
				from = i
			} else if i < 0 {
				from = 0 // an identifier not in the batch fails the whole batch, as in Lambda
			}
		}
		if from == len(batch) {
			return
		}
		if attempt >= retries {
			p.logger().Error("stream batch dropped after its retries (the deployed mapping sends it to the dead-letter queue)",
				"records", len(batch)-from, "firstSequenceNumber", batch[from].Change.SequenceNumber)
			return
		}
		batch = batch[from:]
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
}

// lambdaRecord is a stream record as Lambda hands it to a function.
func lambdaRecord(r st.Record, arn string) events.DynamoDBEventRecord {
	rec := events.DynamoDBEventRecord{
		AWSRegion:      aws.ToString(r.AwsRegion),
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    aws.ToString(r.EventSource),
		EventVersion:   aws.ToString(r.EventVersion),
		EventSourceArn: arn,
	}
	if rec.AWSRegion == "" {
		rec.AWSRegion = LocalRegion
	}
	if d := r.Dynamodb; d != nil {
		rec.Change = events.DynamoDBStreamRecord{
			Keys:           lambdaImage(d.Keys),
			NewImage:       lambdaImage(d.NewImage),
			OldImage:       lambdaImage(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber),
			SizeBytes:      aws.ToInt64(d.SizeBytes),
			StreamViewType: string(d.StreamViewType),
		}
		if d.ApproximateCreationDateTime != nil {
			rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
	}
	return rec
}

func lambdaImage(m map[string]st.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = lambdaValue(v)
	}
	return out
}

func lambdaValue(v st.AttributeValue) events.DynamoDBAttributeValue {
	switch x := v.(type) {
	case *st.AttributeValueMemberS:
		return events.NewStringAttribute(x.Value)
	case *st.AttributeValueMemberN:
		return events.NewNumberAttribute(x.Value)
	case *st.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(x.Value)
	case *st.AttributeValueMemberNULL:
		return events.NewNullAttribute()
	case *st.AttributeValueMemberB:
		return events.NewBinaryAttribute(x.Value)
	case *st.AttributeValueMemberSS:
		return events.NewStringSetAttribute(x.Value)
	case *st.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(x.Value)
	case *st.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(x.Value)
	case *st.AttributeValueMemberL:
		list := make([]events.DynamoDBAttributeValue, len(x.Value))
		for i, e := range x.Value {
			list[i] = lambdaValue(e)
		}
		return events.NewListAttribute(list)
	case *st.AttributeValueMemberM:
		m := make(map[string]events.DynamoDBAttributeValue, len(x.Value))
		for k, e := range x.Value {
			m[k] = lambdaValue(e)
		}
		return events.NewMapAttribute(m)
	}
	return events.NewNullAttribute()
}

// StreamsClient builds the DynamoDB Streams client on DynamoDB Local's
// endpoint (the streams API is served there too).
func StreamsClient(cfg aws.Config, endpoint string) *dynamodbstreams.Client {
	return dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

func (p *StreamPump) logger() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}
