package domainevents

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// PutEvents limits: entries per call, and bytes per call (the sum of the
// entries' sizes).
const (
	MaxBatchEntries = 10
	MaxBatchSize    = 256 * 1024
)

// EventsAPI is the part of the EventBridge client the publisher uses.
type EventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher puts the change-log entries of stream batches on the bus.
type Publisher struct {
	Bus    string
	Events EventsAPI
	Log    *slog.Logger
	// Attempts is how many times one invocation puts an entry that
	// EventBridge refused before it gives the record back to the stream
	// (default 3); Backoff the first pause between attempts, doubled each
	// time (default 100ms).
	Attempts int
	Backoff  time.Duration
}

// pending is one record's entry on its way to the bus.
type pending struct {
	seq   string // the stream record's sequence number: its batch item identifier
	id    string // the change-log entry's id
	entry types.PutEventsRequestEntry
	size  int
	bad   error // the record cannot become an event (reported, so it ends in the dead-letter queue)
}

// Report says what one batch came to.
type Report struct {
	Records, Published, Retried int
	Failed                      []string // sequence numbers given back to the stream
}

// Handle puts every change-log entry of the batch, in stream order, in
// PutEvents calls of at most 10 entries and 256 KB. Entries EventBridge
// refuses are put again, alone, before anything later is sent, so an
// account's events are put in the order of its changes. When an entry
// still fails after its attempts, nothing later in the batch is sent: that
// record and every later one are reported as batch item failures, and the
// stream gives them again (Lambda resumes a batch at its lowest failed
// sequence number), so order is kept and only what was not put is retried.
func (p *Publisher) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	rep := p.Publish(ctx, ev)
	var resp events.DynamoDBEventResponse
	for _, seq := range rep.Failed {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seq})
	}
	return resp, nil
}

// Publish is Handle, reporting what it did.
func (p *Publisher) Publish(ctx context.Context, ev events.DynamoDBEvent) Report {
	rep := Report{Records: len(ev.Records)}
	var queue []pending
	for _, r := range ev.Records {
		if !ChangeLogInserts.Matches(r) {
			continue // the mapping's filter leaves these out; a test event might not
		}
		queue = append(queue, p.prepare(r))
	}
	for start := 0; start < len(queue); {
		end := start
		size := 0
		for end < len(queue) && end-start < MaxBatchEntries && queue[end].bad == nil &&
			(end == start || size+queue[end].size <= MaxBatchSize) {
			size += queue[end].size
			end++
		}
		if end == start { // a record that cannot become an event: give it back
			p.logger().ErrorContext(ctx, "change-log record cannot be published", "sequenceNumber", queue[start].seq,
				"entryId", queue[start].id, "error", queue[start].bad.Error())
			rep.Failed = sequences(queue[start:])
			return p.done(ctx, rep)
		}
		failed := p.put(ctx, queue[start:end], &rep)
		if len(failed) > 0 {
			// Everything from the first entry not put on: the entries of this
			// call that failed, and every later record, unsent.
			rep.Failed = append(sequences(failed), sequences(queue[end:])...)
			return p.done(ctx, rep)
		}
		start = end
	}
	return p.done(ctx, rep)
}

func (p *Publisher) done(ctx context.Context, rep Report) Report {
	l := p.logger()
	attrs := []any{"records", rep.Records, "published", rep.Published, "retried", rep.Retried, "failed", len(rep.Failed)}
	if len(rep.Failed) > 0 {
		l.WarnContext(ctx, "published change-log events, some given back to the stream", append(attrs, "firstFailed", rep.Failed[0])...)
	} else {
		l.InfoContext(ctx, "published change-log events", attrs...)
	}
	return rep
}

func (p *Publisher) prepare(r events.DynamoDBEventRecord) pending {
	item := pending{seq: r.Change.SequenceNumber}
	e, err := EntryOf(r)
	if err != nil {
		item.bad = err
		return item
	}
	item.id = e.ID
	d, ok := DetailOf(e)
	if !ok {
		item.bad = fmt.Errorf("item %s/%s is not a change-log entry of a tenant", e.PK, e.SK)
		return item
	}
	if item.entry, item.size, err = d.Entry(p.Bus); err != nil {
		item.bad = err
	} else if item.size > MaxEntrySize {
		item.bad = fmt.Errorf("event %s is %d bytes, over the %d bytes EventBridge takes", d.ID, item.size, MaxEntrySize)
	}
	return item
}

// put sends one call's entries, putting again those EventBridge refused,
// and returns the ones still refused after the last attempt (in order).
func (p *Publisher) put(ctx context.Context, batch []pending, rep *Report) []pending {
	attempts, pause := p.Attempts, p.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if pause <= 0 {
		pause = 100 * time.Millisecond
	}
	todo := batch
	for attempt := 1; ; attempt++ {
		entries := make([]types.PutEventsRequestEntry, len(todo))
		for i, it := range todo {
			entries[i] = it.entry
		}
		out, err := p.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		var refused []pending
		switch {
		case err != nil:
			p.logger().WarnContext(ctx, "PutEvents failed", "attempt", attempt, "entries", len(todo), "error", err.Error())
			refused = todo
		case len(out.Entries) != len(todo):
			p.logger().WarnContext(ctx, "PutEvents answered for another number of entries", "sent", len(todo), "answered", len(out.Entries))
			refused = todo
		default:
			for i, res := range out.Entries {
				if res.ErrorCode != nil {
					p.logger().WarnContext(ctx, "EventBridge refused an event", "attempt", attempt, "entryId", todo[i].id,
						"errorCode", aws.ToString(res.ErrorCode), "errorMessage", aws.ToString(res.ErrorMessage))
					refused = append(refused, todo[i])
				}
			}
		}
		rep.Published += len(todo) - len(refused)
		if len(refused) == 0 || attempt >= attempts || ctx.Err() != nil {
			return refused
		}
		rep.Retried += len(refused)
		todo = refused
		select {
		case <-ctx.Done():
			return todo
		case <-time.After(pause):
		}
		pause *= 2
	}
}

func (p *Publisher) logger() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}

func sequences(items []pending) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.seq
	}
	return out
}
