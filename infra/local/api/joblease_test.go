package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// Every scheduled job's entry point runs under its lease: while another run
// holds it, a run succeeds without working, and once it is free the job
// works again.
func TestEveryJobWaitsForItsLease(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	env.OwnTable(t, "lease") // the leases are the table's, not a tenant's
	srv := api.New(env.Deps)
	ctx := context.Background()
	until := env.Clock.Now().Add(time.Minute).Unix()
	for _, j := range routes.Jobs {
		key := table.JobLease(j.Name)
		held := map[string]types.AttributeValue{
			table.AttrPK: &types.AttributeValueMemberS{Value: key.PK}, table.AttrSK: &types.AttributeValueMemberS{Value: key.SK},
			"owner": &types.AttributeValueMemberS{Value: "another-run"}, "leaseUntil": &types.AttributeValueMemberN{Value: itoa(until)},
		}
		if err := env.Store.Do(ctx, "hold the lease", store.Put(held)); err != nil {
			t.Fatal(err)
		}
	}
	for _, j := range routes.Jobs {
		before := len(env.Logs.String())
		if err := srv.RunJob(ctx, j.Name); err != nil {
			t.Fatalf("%s beside a held lease: %v", j.Name, err)
		}
		logs := env.Logs.String()[before:]
		if !strings.Contains(logs, `"msg":"job already running: this run does nothing"`) || !strings.Contains(logs, `"heldBy":"another-run"`) ||
			strings.Count(logs, "\n") != 1 {
			t.Fatalf("%s ran beside a held lease:\n%s", j.Name, logs)
		}
	}
	env.Clock.Advance(time.Minute + time.Second)
	for _, j := range routes.Jobs {
		before := len(env.Logs.String())
		if err := srv.RunJob(ctx, j.Name); err != nil {
			t.Fatalf("%s after the lease expired: %v", j.Name, err)
		}
		if logs := env.Logs.String()[before:]; strings.Contains(logs, "job already running") {
			t.Fatalf("%s did not take over an expired lease:\n%s", j.Name, logs)
		}
		if found, err := env.Store.Get(ctx, table.JobLease(j.Name), &struct{}{}); err != nil || found {
			t.Fatalf("%s left its lease: %v %v", j.Name, found, err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
