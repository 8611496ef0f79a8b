package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/table"
)

// Query reads one page of one partition, optionally narrowed to sort keys
// with a prefix. It never scans.
type Query struct {
	Index     string // "" for the table, else a GSI name from table.Schema
	Partition string // the partition key value
	SKPrefix  string // begins_with on the sort key; "" for the whole partition
	Newest    bool   // descending sort key order
	Limit     int32
	Cursor    string // opaque, from a previous Page
	Filter    *expression.ConditionBuilder
}

// Page is one page of results and the cursor of the next ("" when done).
type Page struct {
	Items  []map[string]types.AttributeValue
	Cursor string
}

// Decode unmarshals the page's items into out (a pointer to a slice).
func (p Page) Decode(out any) error { return attributevalue.UnmarshalListOfMaps(p.Items, out) }

func (q Query) keyNames() (pk, sk string) {
	if q.Index == "" {
		return table.AttrPK, table.AttrSK
	}
	for _, ix := range table.Schema.Indexes {
		if ix.Name == q.Index {
			return ix.PartitionKey, ix.SortKey
		}
	}
	panic("store: unknown index " + q.Index)
}

// QueryPage runs q and returns one page.
func (s *Store) QueryPage(ctx context.Context, q Query) (Page, error) {
	pkName, skName := q.keyNames()
	kc := expression.Key(pkName).Equal(expression.Value(q.Partition))
	if q.SKPrefix != "" {
		kc = kc.And(expression.Key(skName).BeginsWith(q.SKPrefix))
	}
	b := expression.NewBuilder().WithKeyCondition(kc)
	if q.Filter != nil {
		b = b.WithFilter(*q.Filter)
	}
	expr, err := b.Build()
	if err != nil {
		return Page{}, apperr.Internal("build query", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(!q.Newest),
	}
	if q.Limit > 0 {
		in.Limit = aws.Int32(q.Limit)
	}
	if q.Index != "" {
		in.IndexName = aws.String(q.Index)
	} else {
		in.ConsistentRead = aws.Bool(true)
	}
	if q.Cursor != "" {
		start, err := q.decodeCursor(q.Cursor)
		if err != nil {
			return Page{}, err
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.DB.Query(ctx, in)
	if err != nil {
		return Page{}, fmt.Errorf("query %s %s: %w", q.Index, q.Partition, mapSDKError(err))
	}
	page := Page{Items: out.Items}
	if len(out.LastEvaluatedKey) > 0 {
		page.Cursor = encodeCursor(out.LastEvaluatedKey)
	}
	return page, nil
}

// QueryAll follows cursors until the partition (or prefix) is exhausted, up to
// max items (0 = no bound). For jobs and small, bounded sets only.
func (s *Store) QueryAll(ctx context.Context, q Query, max int) ([]map[string]types.AttributeValue, error) {
	var all []map[string]types.AttributeValue
	for {
		p, err := s.QueryPage(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.Cursor == "" || (max > 0 && len(all) >= max) {
			return all, nil
		}
		q.Cursor = p.Cursor
	}
}

// Cursors are the LastEvaluatedKey's string attributes, JSON, base64url. A
// cursor is checked against the query it is used with: the same key
// attributes, the same partition and sort key prefix. So a tampered cursor is
// a 400, and a cursor can never move a query into another tenant's partition.
func encodeCursor(key map[string]types.AttributeValue) string {
	m := make(map[string]string, len(key))
	for k, v := range key {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			m[k] = s.Value
		}
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func (q Query) decodeCursor(c string) (map[string]types.AttributeValue, error) {
	if len(c) > 2048 {
		return nil, apperr.ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, apperr.ErrBadCursor
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, apperr.ErrBadCursor
	}
	pkName, skName := q.keyNames()
	want := map[string]bool{table.AttrPK: true, table.AttrSK: true, pkName: true, skName: true}
	if len(m) != len(want) {
		return nil, apperr.ErrBadCursor
	}
	for k := range m {
		if !want[k] {
			return nil, apperr.ErrBadCursor
		}
	}
	if m[pkName] != q.Partition || !strings.HasPrefix(m[skName], q.SKPrefix) {
		return nil, apperr.ErrBadCursor
	}
	// On an index the table key must belong to the same tenant as the partition.
	if q.Index != "" && !sameTenant(m[table.AttrPK], q.Partition) {
		return nil, apperr.ErrBadCursor
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = &types.AttributeValueMemberS{Value: v}
	}
	return out, nil
}

func sameTenant(a, b string) bool {
	ta, _, _ := strings.Cut(strings.TrimPrefix(a, "T#"), "#")
	tb, _, _ := strings.Cut(strings.TrimPrefix(b, "T#"), "#")
	return strings.HasPrefix(a, "T#") && strings.HasPrefix(b, "T#") && ta == tb
}
