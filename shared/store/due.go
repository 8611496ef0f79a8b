package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/table"
)

// duePage is how many due-index entries one Query reads.
const duePage = 100

// EachDue is how the scheduled jobs find their work: it walks the due index
// (GSI3) buckets of kind (table.DueBucket, one per UTC day) from lookBack
// before now up to today and hands visit, a page at a time, the sort keys
// (table.DueSortKey first) of the entries due at or before now. A range
// condition on the sort key keeps what falls due later unread, so a run
// reads what is due and nothing else, whatever else the table holds. It
// returns the number of buckets read and stops at the first error, visit's
// or DynamoDB's (throttling and outages as 503, like every store call).
func (s *Store) EachDue(ctx context.Context, kind string, now time.Time, lookBack time.Duration, visit func(sortKeys []string) error) (buckets int, err error) {
	upper := table.DueSortKey(now.Add(time.Second)) // keys below it are due at or before now
	today := now.UTC().Truncate(24 * time.Hour)
	for day := today.Add(-lookBack); !day.After(today); day = day.Add(24 * time.Hour) {
		buckets++
		bucket := table.DueBucket(kind, day)
		kc := expression.Key("GSI3PK").Equal(expression.Value(bucket)).And(expression.Key("GSI3SK").LessThan(expression.Value(upper)))
		expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
		if err != nil {
			return buckets, apperr.Internal("build due query", err)
		}
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(s.Table),
			IndexName:                 aws.String(table.GSI3),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			Limit:                     aws.Int32(duePage),
		}
		for {
			out, err := s.DB.Query(ctx, in)
			if err != nil {
				return buckets, fmt.Errorf("query due bucket %s: %w", bucket, mapSDKError(err))
			}
			keys := make([]string, 0, len(out.Items))
			for _, it := range out.Items {
				if sk, ok := it["GSI3SK"].(*types.AttributeValueMemberS); ok {
					keys = append(keys, sk.Value)
				}
			}
			if err := visit(keys); err != nil {
				return buckets, err
			}
			if len(out.LastEvaluatedKey) == 0 {
				break
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	return buckets, nil
}
