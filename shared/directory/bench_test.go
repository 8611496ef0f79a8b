package directory_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	accountshandler "github.com/acme/accountadmin/functions/accounts/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// benchDirectory is one tenant with n accounts, seeded once per process per
// n with BatchWriteItem, and a tenant operator to list them.
type benchDirectory struct {
	env      *testkit.BenchEnv
	ten      testkit.Tenant
	operator access.Caller
}

var directories struct {
	sync.Mutex
	byN map[int]*benchDirectory
}

func directoryOf(b *testing.B, n int) *benchDirectory {
	directories.Lock()
	defer directories.Unlock()
	if d := directories.byN[n]; d != nil {
		return d
	}
	env := testkit.NewBench(b)
	w := &world{env: env.Env, ten: env.NewTenant(b)}
	now := env.Clock.Now()
	err := testkit.Seed(b.Context(), env.DB, env.Config.Table, n, func(i int) map[string]types.AttributeValue {
		a := accounts.NewAccount(w.ten.Tenant, accounts.Account{ID: fmt.Sprintf("A%07d", i), Name: fmt.Sprintf("Customer %07d", i), CreatedAt: now, UpdatedAt: now})
		return testkit.Item(b, a)
	})
	if err != nil {
		b.Fatal(err)
	}
	d := &benchDirectory{env: env, ten: w.ten, operator: w.operator(b)}
	if directories.byN == nil {
		directories.byN = map[int]*benchDirectory{}
	}
	directories.byN[n] = d
	return d
}

// BenchmarkAccountsPageOf100k lists the first page of 50 accounts by name
// among 10^5, through the accounts function's handler (GET /accounts, the
// event of events/accounts/list.json, as a tenant operator), beside the one
// GSI2 Query the page needs. items-read/op is what DynamoDB read for it
// (goal: at most 51).
func BenchmarkAccountsPageOf100k(b *testing.B) {
	d := directoryOf(b, 100_000)
	h := accountshandler.New(d.env.Service())
	byName := d.ten.AccountsByName("", "")
	d.env.Measure(b,
		func(b *testing.B) {
			req := d.env.Event(b, "accounts/list.json", d.operator)
			req.RawQueryString, req.QueryStringParameters = "sort=name&order=asc&limit=50", map[string]string{"sort": "name", "order": "asc", "limit": "50"}
			testkit.Serve(b, h, req, 200)
		},
		func(b *testing.B) {
			d.env.RawAuthorize(b, d.operator)
			d.env.RawQuery(b, &dynamodb.QueryInput{IndexName: aws.String(table.GSI2),
				KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
				ExpressionAttributeNames:  testkit.Names("#pk", "GSI2PK", "#sk", "GSI2SK"),
				ExpressionAttributeValues: testkit.Values(":pk", byName.PK, ":prefix", table.AccountsNamePrefix),
				ScanIndexForward:          aws.Bool(true), Limit: aws.Int32(50)})
		})
}

// BenchmarkAccountsExport10k exports 10^4 accounts (and the tenant's own) as
// CSV, newest first, through the accounts function's handler (GET
// /accounts/export.csv, the event of events/accounts/export.json, as a
// tenant operator) in pages of 5000 rows, following X-Next-Cursor. The raw
// baseline sends the same GSI1 Queries: each page reads until it has 5000
// items, DynamoDB answering at most 1 MB per Query.
func BenchmarkAccountsExport10k(b *testing.B) {
	d := directoryOf(b, 10_000)
	h := accountshandler.New(d.env.Service())
	byCreated := d.ten.AccountsByCreated(time.Time{}, "")
	d.env.Measure(b,
		func(b *testing.B) {
			q := map[string]string{"sort": "created", "order": "desc", "limit": "5000"}
			rows := 0
			for {
				req := d.env.Event(b, "accounts/export.json", d.operator)
				req.QueryStringParameters = q
				resp := testkit.Serve(b, h, req, 200)
				rows += countLines(resp.Body) - 1
				next := resp.Headers["X-Next-Cursor"]
				if next == "" {
					break
				}
				q = map[string]string{"sort": "created", "order": "desc", "limit": "5000", "cursor": next}
			}
			if rows != 10_000+1 { // the seeded accounts and the tenant's own
				b.Fatalf("exported %d rows", rows)
			}
		},
		func(b *testing.B) {
			const pageSize = 5000
			var start map[string]types.AttributeValue
			for more := true; more; {
				d.env.RawAuthorize(b, d.operator) // each page is a request
				for got := 0; got < pageSize; {
					out := d.env.RawQuery(b, &dynamodb.QueryInput{IndexName: aws.String(table.GSI1),
						KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
						ExpressionAttributeNames:  testkit.Names("#pk", "GSI1PK", "#sk", "GSI1SK"),
						ExpressionAttributeValues: testkit.Values(":pk", byCreated.PK, ":prefix", table.AccountsCreatedPrefix),
						ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(pageSize - got)), ExclusiveStartKey: start})
					got += len(out.Items)
					start = out.LastEvaluatedKey
					if len(start) == 0 {
						more = false
						break
					}
				}
				// The reader's time zone (Directory.ReaderZone): the tenant's
				// default is needed; the user item again is not (the session
				// resolution read it), but the operation sends it (see
				// BENCHMARKS.md).
				d.env.RawBatchGet(b, d.ten.User(d.operator.UserID), d.ten.Settings())
			}
		})
}

func countLines(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			n++
		}
	}
	return n
}
