package invitations_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// Benchmarks run against DynamoDB Local and SES local (`make bench`) and
// report, beside time, the DynamoDB calls each operation makes.

func benchInvite(b *testing.B, perRequest int) {
	w := newWorld(b)
	w.svc.Limits = invitations.Limits{PerInviterPerHour: 1 << 30, PerAccountPerHour: 1 << 30}
	ctx := context.Background()
	b.ResetTimer()
	var calls int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		emails := make([]string, perRequest)
		for j := range emails {
			emails[j] = address("bench")
		}
		cmd, err := invitations.InviteRequest{Emails: emails}.Command(w.admin, w.ten.AccountID)
		if err != nil {
			b.Fatal(err)
		}
		w.env.Calls.Reset()
		b.StartTimer()
		res, err := w.svc.Invite(ctx, cmd)
		b.StopTimer()
		calls += w.env.Calls.Count()
		if err != nil || res.Created() != perRequest {
			b.Fatalf("invite: %v %v", res.Counts, err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "ddb-calls/op")
}

// One email per request, emailed through SES local.
func BenchmarkInviteOne(b *testing.B) { benchInvite(b, 1) }

// Fifty emails per request, emailed through SES local.
func BenchmarkInviteFifty(b *testing.B) { benchInvite(b, 50) }

// Accepting as a new user: most of the time is the argon2id hash of the
// new password, on purpose.
func BenchmarkAccept(b *testing.B) {
	w := newWorld(b)
	w.svc.Limits = invitations.Limits{PerInviterPerHour: 1 << 30, PerAccountPerHour: 1 << 30}
	ctx := context.Background()
	tokens := make([]string, b.N)
	for i := range tokens {
		_, tokens[i] = w.invite(b, address("accept"))
	}
	w.env.Calls.Reset()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.accept(ctx, tokens[i], newUser("Bench"), ""); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(w.env.Calls.Count())/float64(b.N), "ddb-calls/op")
}

// The expiry job in a table of 10^5 unrelated items (members, sessions-like
// items, and pending invitations that are not due, some in today's bucket):
// each run expires the 10 invitations that fell due, and what it reads
// grows with those, not with the table.
func BenchmarkExpireDueAmong100kItems(b *testing.B) {
	const due = 10
	w := expiryBenchWorld(b)
	ctx := context.Background()
	job := *w.svc
	job.Clock = clock.NewManual(testkit.Start.Add(invitations.ValidFor + time.Hour))
	var calls, expired, indexRead, read int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for range due {
			w.invite(b, address("due"))
		}
		w.env.Calls.Reset()
		b.StartTimer()
		rep, err := job.ExpireDue(ctx)
		b.StopTimer()
		calls += w.env.Calls.Count()
		if err != nil || rep.Expired != due {
			b.Fatalf("run %d: %+v %v", i, rep, err)
		}
		expired += int64(rep.Expired)
		indexRead += int64(rep.IndexItemsRead)
		read += int64(rep.ItemsRead)
		b.StartTimer()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "ddb-calls/op")
	b.ReportMetric(float64(expired)/float64(b.N), "expired/op")
	b.ReportMetric(float64(indexRead)/float64(expired), "index-items-read/expired")
	b.ReportMetric(float64(read+indexRead)/float64(expired), "items-read/expired")
}

var unrelated struct {
	once  sync.Once
	world *world
	err   error
}

// expiryBenchWorld is one table with 10^5 unrelated items, made once per
// process with BatchWriteItem (25 items a call, 8 writers).
func expiryBenchWorld(b *testing.B) *world {
	unrelated.once.Do(func() {
		w := newIsolatedWorld(b)
		w.svc.Limits = invitations.Limits{PerInviterPerHour: 1 << 30, PerAccountPerHour: 1 << 30}
		unrelated.world, unrelated.err = w, fillUnrelated(context.Background(), w, 100_000)
	})
	if unrelated.err != nil {
		b.Fatal(unrelated.err)
	}
	return unrelated.world
}

func fillUnrelated(ctx context.Context, w *world, n int) error {
	ten := w.ten.Tenant
	item := func(i int) map[string]types.AttributeValue {
		s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
		acc := fmt.Sprintf("ACC%05d", i/50)
		switch i % 4 {
		case 0, 1: // memberships
			k := ten.Membership(acc, fmt.Sprintf("U%06d", i))
			ix := ten.UserAccounts(fmt.Sprintf("U%06d", i), acc)
			return map[string]types.AttributeValue{"PK": s(k.PK), "SK": s(k.SK), "type": s("MEMBERSHIP"), "GSI1PK": s(ix.PK), "GSI1SK": s(ix.SK)}
		case 2: // change-log entries
			k := ten.ChangeLogEntry(acc, fmt.Sprintf("L%06d", i))
			return map[string]types.AttributeValue{"PK": s(k.PK), "SK": s(k.SK), "type": s("CHANGE")}
		default: // pending invitations not due yet: later today, and the days after
			id := ids.NewSecret()[:20]
			k := ten.Invitation(id)
			at := testkit.Start.Add(invitations.ValidFor + 2*time.Hour + time.Duration(i%(30*24))*time.Hour)
			ix := ten.DueInvitation(at, id)
			return map[string]types.AttributeValue{"PK": s(k.PK), "SK": s(k.SK), "type": s("INVITATION"), "status": s("pending"),
				"GSI3PK": s(ix.PK), "GSI3SK": s(ix.SK)}
		}
	}
	jobs := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := range jobs {
				var reqs []types.WriteRequest
				for i := start; i < min(start+25, n); i++ {
					reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item(i)}})
				}
				for len(reqs) > 0 {
					out, err := w.env.DB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
						RequestItems: map[string][]types.WriteRequest{w.env.Config.Table: reqs}})
					if err != nil {
						select {
						case errs <- err:
						default:
						}
						break
					}
					reqs = out.UnprocessedItems[w.env.Config.Table]
				}
			}
		}()
	}
	for start := 0; start < n; start += 25 {
		jobs <- start
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	// Sanity: the table holds them.
	out, err := w.env.DB.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(w.env.Config.Table), IndexName: aws.String(table.GSI3),
		KeyConditionExpression:    aws.String("GSI3PK = :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": &types.AttributeValueMemberS{Value: table.DueBucket(invitations.DueKind, testkit.Start.Add(invitations.ValidFor))}},
		Select:                    types.SelectCount})
	if err != nil {
		return err
	}
	if out.Count == 0 {
		return fmt.Errorf("no not-yet-due invitations in today's bucket")
	}
	return nil
}
