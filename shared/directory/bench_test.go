package directory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/table"
)

// BenchmarkDirectoryPage lists a page of 50 accounts by name among 2000,
// beside the one bare Query the page needs: ddb-calls/op stays 1 and the
// handler/raw ratio shows the cost of decoding and paging.
func BenchmarkDirectoryPage(b *testing.B) {
	w := newWorld(b)
	op := w.operator(b)
	const accounts = 2000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range accounts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			w.env.AddAccount(b, w.ten, fmt.Sprintf("Customer %05d", i))
		}()
	}
	wg.Wait()
	w.dir.Store = w.env.Store // count through the env's call counter
	ctx := context.Background()
	ix := w.ten.AccountsByName("", "")
	kc := expression.Key("GSI2PK").Equal(expression.Value(ix.PK)).And(expression.Key("GSI2SK").BeginsWith(table.AccountsNamePrefix))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		b.Fatal(err)
	}
	w.env.Measure(b,
		func(b *testing.B) {
			page, err := w.dir.Accounts(ctx, directory.AccountQuery{Caller: op, Sort: directory.SortName, Limit: 50})
			if err != nil || len(page.Accounts) != 50 {
				b.Fatal(err, len(page.Accounts))
			}
		},
		func(b *testing.B) {
			_, err := w.env.DB.Query(ctx, &dynamodb.QueryInput{TableName: w.env.TableName(), IndexName: aws.String(table.GSI2),
				KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
				Limit: aws.Int32(50)})
			if err != nil {
				b.Fatal(err)
			}
		})
}
