package usage_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	usagehandler "github.com/acme/accountadmin/functions/usage-reset/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/usage"
)

// BenchmarkRecordUsage adds 3 tasks to an account's counter through the
// usage-reset function's handler (POST /accounts/{id}/usage, the event of
// events/usage-reset/record.json without its Idempotency-Key), under a
// limit it never reaches. The raw baseline sends the same requests after
// the session's: the terms (the limit keys of plans.LoadAccount, with the
// account item again: see below), the conditional counter update (a
// single-item transaction, so that the SDK's retries cannot count twice)
// with the same expressions and the account-open check, and the period
// read back for the new count.
func BenchmarkRecordUsage(b *testing.B) {
	env := testkit.NewBench(b)
	w := worldOn(b, env.Env)
	w.allow(b, "", map[string]usage.Allowance{"tasks": {Limit: plans.MaxLimit}})
	h := usagehandler.NewHTTP(env.Service())
	admin := callerOf(w.ten, w.ten.AdminID, w.ten.AccountID, access.RoleAdmin)
	rawAccount := w.ten.AccountID
	env.Measure(b,
		func(b *testing.B) {
			req := env.Event(b, "usage-reset/record.json", admin)
			delete(req.Headers, "idempotency-key")
			testkit.Serve(b, h, req, 200)
		},
		func(b *testing.B) {
			env.RawAuthorize(b, admin)
			ten := w.ten
			acc := ten.Account(rawAccount)
			// The account item was just read with the session
			// (RawAuthorize): a hand-written implementation would read only
			// the three limit keys here. It is in this BatchGetItem because
			// the operation's (usage.PlanTerms.Terms, plans.LoadAccount)
			// reads it again.
			env.RawBatchGet(b, acc, ten.Plan(plans.DefaultPlanID), ten.DefaultUsageAllowances(), ten.UsageAllowances(rawAccount))
			now := env.Clock.Now()
			p := usage.PeriodAt(testkit.Start, now)
			due := ten.DueUsagePeriod(p.End, rawAccount, p.Start)
			ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
			env.RawTransact(b, types.TransactWriteItem{Update: &types.Update{Key: ten.UsagePeriod(rawAccount, p.Start).AV(),
				UpdateExpression: aws.String("ADD #used :amount, #rev :one SET #type = if_not_exists(#type, :type), #account = if_not_exists(#account, :account), " +
					"#start = if_not_exists(#start, :start), #end = if_not_exists(#end, :end), #status = if_not_exists(#status, :open), " +
					"#gsi3pk = if_not_exists(#gsi3pk, :gsi3pk), #gsi3sk = if_not_exists(#gsi3sk, :gsi3sk), #updated = :now"),
				ConditionExpression: aws.String("attribute_not_exists(#finalized) AND (attribute_not_exists(#used) OR #used <= :room)"),
				ExpressionAttributeNames: testkit.Names("#used", "used:tasks", "#rev", "rev", "#type", "type", "#account", "accountId", "#start", "periodStart",
					"#end", "periodEnd", "#status", "status", "#gsi3pk", "GSI3PK", "#gsi3sk", "GSI3SK", "#updated", "updatedAt", "#finalized", "finalizedAt"),
				ExpressionAttributeValues: testkit.Values(":amount", 3, ":one", 1, ":type", "USAGE_PERIOD", ":account", rawAccount, ":start", ts(p.Start),
					":end", ts(p.End), ":open", "open", ":gsi3pk", due.PK, ":gsi3sk", due.SK, ":now", ts(now), ":room", int64(plans.MaxLimit-3)),
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}},
				// Nothing is written into a closed account (accounts.OpenItem).
				types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{Key: acc.AV(),
					ConditionExpression: aws.String("#status = :active"), ExpressionAttributeNames: testkit.Names("#status", "status"),
					ExpressionAttributeValues: testkit.Values(":active", "active")}})
			env.RawGet(b, ten.UsagePeriod(rawAccount, p.Start))
		})
}

// The rollover job among 10^5 unrelated items (memberships, change-log
// entries, and usage periods of other accounts that end later: later today
// and on each of the next 30 days): each run finalises the 10 periods that
// ended, and what it reads grows with those, not with the table. It runs
// through the service (the job's handler only wraps it). The raw baseline
// sends the same requests: one GSI3 Query per day bucket of the look-back,
// then for each due period, on 8 workers, the terms (BatchGetItem), the
// period (GetItem) and the finalising transaction (the period frozen at the
// revision read, a change-log entry).
func BenchmarkRolloverDueAmong100kItems(b *testing.B) {
	const due = 10
	env, w := rolloverWorld(b)
	ctx := b.Context()
	periodEnd := usage.PeriodAt(testkit.Start, testkit.Start).End
	jobAt := periodEnd.Add(time.Hour)
	prepare := func(b *testing.B) {
		env.Clock.Set(testkit.Start)
		for i := range due {
			acc := env.AddAccount(b, w.ten, "Due")
			amount := int64(i + 1)
			cmd, err := usage.RecordRequest{Metric: usage.MetricTasks, Amount: &amount}.Command(w.supportIn(acc), acc)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.svc.Record(ctx, cmd); err != nil {
				b.Fatal(err)
			}
		}
		env.Clock.Set(jobAt)
	}
	var runs, indexRead, finalised int64
	env.MeasurePrepared(b, prepare,
		func(b *testing.B) {
			rep, err := w.svc.Rollover(ctx)
			if err != nil || rep.Finalised != due {
				b.Fatalf("rollover: %+v %v", rep, err)
			}
			runs++
			indexRead += int64(rep.IndexItemsRead)
			finalised += int64(rep.Finalised)
		},
		func(b *testing.B) {
			if n := rawRollover(b, env); n != due {
				b.Fatalf("raw rollover finalised %d", n)
			}
		})
	b.ReportMetric(float64(indexRead)/float64(finalised), "index-items-read/due")
}

// rawRollover is the rollover's requests written with the SDK; it returns
// how many periods it finalised.
func rawRollover(b *testing.B, env *testkit.BenchEnv) int {
	now := env.Clock.Now()
	upper := table.DueSortKey(now.Add(time.Second))
	today := now.UTC().Truncate(24 * time.Hour)
	var due []string
	for day := today.Add(-usage.RolloverLookBack); !day.After(today); day = day.Add(24 * time.Hour) {
		var start map[string]types.AttributeValue
		for {
			out := env.RawQuery(b, &dynamodb.QueryInput{IndexName: aws.String(table.GSI3),
				KeyConditionExpression:    aws.String("#pk = :bucket AND #sk < :upper"),
				ExpressionAttributeNames:  testkit.Names("#pk", "GSI3PK", "#sk", "GSI3SK"),
				ExpressionAttributeValues: testkit.Values(":bucket", table.DueBucket("USAGE", day), ":upper", upper),
				ExclusiveStartKey:         start, Limit: aws.Int32(100)})
			for _, it := range out.Items {
				due = append(due, testkit.AttrString(it["GSI3SK"]))
			}
			if len(out.LastEvaluatedKey) == 0 {
				break
			}
			start = out.LastEvaluatedKey
		}
	}
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, sk := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			parts := strings.Split(sk, "#") // end#tenant#account#period
			ten, accountID := table.MustTenant(parts[1]), parts[2]
			start, _ := time.Parse("20060102T150405Z", parts[3])
			p := usage.PeriodAt(testkit.Start, start)
			env.RawBatchGet(b, ten.Account(accountID), ten.Plan(plans.DefaultPlanID), ten.DefaultUsageAllowances(), ten.UsageAllowances(accountID))
			key := ten.UsagePeriod(accountID, start)
			item := env.RawGet(b, key)
			rev := testkit.AttrNumber(item["rev"])
			used := testkit.AttrNumber(item["used:tasks"])
			limit, remaining := int64(1000), 1000-used
			final := map[string]usage.MetricUsage{usage.MetricTasks: {Metric: usage.MetricTasks, Used: used, Limit: &limit, Remaining: &remaining}}
			entry := changelog.New(ten, env.IDs.NewID(), now, accountID, changelog.System(usage.RolloverJob), "usage.period_closed", "account", accountID,
				map[string]any{"period": p.ID(), "status": "open"},
				map[string]any{"period": p.ID(), "status": "final", "start": p.Start, "end": p.End,
					"used": map[string]any{usage.MetricTasks: used}, "overage": map[string]any{usage.MetricTasks: int64(0)}})
			finalAV, err := attributevalue.Marshal(final)
			if err != nil {
				b.Error(err)
				return
			}
			env.RawTransact(b,
				types.TransactWriteItem{Update: &types.Update{Key: key.AV(),
					UpdateExpression:          aws.String("ADD #rev :one SET #status = :final, #finalized = :now, #final = :totals, #updated = :now REMOVE #gsi3pk, #gsi3sk"),
					ConditionExpression:       aws.String("#rev = :rev AND attribute_not_exists(#finalized)"),
					ExpressionAttributeNames:  testkit.Names("#rev", "rev", "#status", "status", "#finalized", "finalizedAt", "#final", "final", "#updated", "updatedAt", "#gsi3pk", "GSI3PK", "#gsi3sk", "GSI3SK"),
					ExpressionAttributeValues: testkit.Values(":one", 1, ":final", "final", ":now", ts(now), ":totals", finalAV, ":rev", rev)}},
				testkit.PutIfNew(testkit.Item(b, entry)))
		}()
	}
	wg.Wait()
	return len(due)
}

var rollover struct {
	once  sync.Once
	env   *testkit.BenchEnv
	world *world
	err   error
}

// rolloverWorld is one table of its own (the job reads the due index across
// tenants) with 10^5 unrelated items, made once per process.
func rolloverWorld(b *testing.B) (*testkit.BenchEnv, *world) {
	rollover.once.Do(func() {
		env := testkit.NewBench(b)
		if rollover.err = env.OnOwnTable(b.Context(), "rollover"); rollover.err != nil {
			return
		}
		rollover.env, rollover.world = env, worldOn(b, env.Env)
		rollover.err = fillUnrelated(b, env, rollover.world.ten, 100_000)
	})
	if rollover.err != nil {
		b.Fatal(rollover.err)
	}
	return rollover.env, rollover.world
}

func fillUnrelated(b *testing.B, env *testkit.BenchEnv, ten testkit.Tenant, n int) error {
	s := testkit.S
	periodEnd := usage.PeriodAt(testkit.Start, testkit.Start).End
	return testkit.Seed(b.Context(), env.DB, env.Config.Table, n, func(i int) map[string]types.AttributeValue {
		acc := fmt.Sprintf("ACC%06d", i/4)
		switch i % 5 {
		case 0, 1: // memberships
			k := ten.Membership(acc, fmt.Sprintf("U%06d", i))
			return map[string]types.AttributeValue{"PK": s(k.PK), "SK": s(k.SK), "type": s("MEMBERSHIP")}
		case 2: // change-log entries
			k := ten.ChangeLogEntry(acc, fmt.Sprintf("L%06d", i))
			return map[string]types.AttributeValue{"PK": s(k.PK), "SK": s(k.SK), "type": s("CHANGE")}
		default: // open periods that end later: later today, and on the days after
			end := periodEnd.Add(2*time.Hour + time.Duration(i%(30*24))*time.Hour)
			start := end.AddDate(0, -1, 0)
			k, ix := ten.UsagePeriod(acc, start), ten.DueUsagePeriod(end, acc, start)
			return map[string]types.AttributeValue{"PK": s(k.PK), "SK": s(k.SK), "type": s("USAGE_PERIOD"), "status": s("open"),
				"used:tasks": testkit.N(int64(i % 900)), "rev": testkit.N(1), "GSI3PK": s(ix.PK), "GSI3SK": s(ix.SK)}
		}
	})
}
