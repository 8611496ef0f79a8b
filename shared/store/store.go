// Package store is the DynamoDB layer: a small interface over the SDK client,
// conditional writes and transactions that read as sentences, and the mapping
// of failed conditions to domain errors.
package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/table"
)

// DynamoDB is the part of the SDK client the service uses, with the SDK's own
// signatures so *dynamodb.Client satisfies it.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error)
}

// Store reads and writes the service's table.
type Store struct {
	DB    DynamoDB
	Table string
}

// New returns a store over table name.
func New(db DynamoDB, tableName string) *Store { return &Store{DB: db, Table: tableName} }

// ErrConditionFailed is what a failed condition becomes when its write named
// no domain error of its own.
var ErrConditionFailed = apperr.New(apperr.KindConflict, "condition_failed", "the change conflicts with the current state; reload and try again")

// Get reads one item with a strongly consistent read into out. It reports
// whether the item exists.
func (s *Store) Get(ctx context.Context, key table.Key, out any) (bool, error) {
	res, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            key.AV(),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("get %s/%s: %w", key.PK, key.SK, mapSDKError(err))
	}
	if res.Item == nil {
		return false, nil
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return false, fmt.Errorf("decode %s/%s: %w", key.PK, key.SK, err)
	}
	return true, nil
}

// GetMany reads up to 100 items in one BatchGetItem (retrying unprocessed
// keys) and returns them by key; missing items are absent from the map.
func (s *Store) GetMany(ctx context.Context, keys []table.Key) (map[table.Key]map[string]types.AttributeValue, error) {
	out := make(map[table.Key]map[string]types.AttributeValue, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	pending := make([]map[string]types.AttributeValue, 0, len(keys))
	seen := map[table.Key]bool{}
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			pending = append(pending, k.AV())
		}
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
		}
		if attempt > 8 {
			return nil, fmt.Errorf("batch get: %w", apperr.ErrUnavailable)
		}
		res, err := s.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{s.Table: {Keys: pending, ConsistentRead: aws.Bool(true)}},
		})
		if err != nil {
			return nil, fmt.Errorf("batch get %d items: %w", len(pending), mapSDKError(err))
		}
		for _, item := range res.Responses[s.Table] {
			out[KeyOf(item)] = item
		}
		pending = res.UnprocessedKeys[s.Table].Keys
	}
	return out, nil
}

// KeyOf reads the primary key of a raw item.
func KeyOf(item map[string]types.AttributeValue) table.Key {
	var k table.Key
	if v, ok := item[table.AttrPK].(*types.AttributeValueMemberS); ok {
		k.PK = v.Value
	}
	if v, ok := item[table.AttrSK].(*types.AttributeValueMemberS); ok {
		k.SK = v.Value
	}
	return k
}

// Write is one conditional write, alone or inside a transaction.
type Write struct {
	kind   string // put, update, delete, check
	key    table.Key
	item   map[string]types.AttributeValue
	update *expression.UpdateBuilder
	cond   *expression.ConditionBuilder
	fail   error
	err    error // a marshalling error, reported when the write runs
}

// Put writes a whole item (a struct with dynamodbav tags, or a raw map).
func Put(item any) *Write {
	w := &Write{kind: "put"}
	switch v := item.(type) {
	case map[string]types.AttributeValue:
		w.item = v
	default:
		av, err := attributevalue.MarshalMap(item)
		w.item, w.err = av, err
	}
	w.key = KeyOf(w.item)
	return w
}

// Update changes attributes of the item at key.
func Update(key table.Key, upd expression.UpdateBuilder) *Write {
	return &Write{kind: "update", key: key, update: &upd}
}

// Delete removes the item at key.
func Delete(key table.Key) *Write { return &Write{kind: "delete", key: key} }

// Check asserts a condition on the item at key without changing it.
func Check(key table.Key, cond expression.ConditionBuilder) *Write {
	return &Write{kind: "check", key: key, cond: &cond}
}

// If makes the write conditional.
func (w *Write) If(cond expression.ConditionBuilder) *Write {
	if w.cond != nil {
		c := w.cond.And(cond)
		w.cond = &c
	} else {
		w.cond = &cond
	}
	return w
}

// OrFail names the domain error returned when the condition fails.
func (w *Write) OrFail(err error) *Write { w.fail = err; return w }

// Conditions that read as sentences.

// NotExists holds when the item is absent.
func NotExists() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(table.AttrPK))
}

// Exists holds when the item is present.
func Exists() expression.ConditionBuilder {
	return expression.AttributeExists(expression.Name(table.AttrPK))
}

// AtVersion holds when the item is at version v.
func AtVersion(v int64) expression.ConditionBuilder {
	return expression.Name(table.AttrVersion).Equal(expression.Value(v))
}

// Is holds when attribute name equals value.
func Is(name string, value any) expression.ConditionBuilder {
	return expression.Name(name).Equal(expression.Value(value))
}

// BumpVersion is an update that increments the version; chain more Set calls on it.
func BumpVersion() expression.UpdateBuilder {
	return expression.Add(expression.Name(table.AttrVersion), expression.Value(1))
}

func (w *Write) failure() error {
	if w.fail != nil {
		return w.fail
	}
	return ErrConditionFailed
}

func (w *Write) build(tableName string) (types.TransactWriteItem, error) {
	if w.err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encode item %s/%s: %w", w.key.PK, w.key.SK, w.err)
	}
	var expr expression.Expression
	var err error
	switch {
	case w.update != nil && w.cond != nil:
		expr, err = expression.NewBuilder().WithUpdate(*w.update).WithCondition(*w.cond).Build()
	case w.update != nil:
		expr, err = expression.NewBuilder().WithUpdate(*w.update).Build()
	case w.cond != nil:
		expr, err = expression.NewBuilder().WithCondition(*w.cond).Build()
	}
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build expression for %s/%s: %w", w.key.PK, w.key.SK, err)
	}
	name := aws.String(tableName)
	switch w.kind {
	case "put":
		return types.TransactWriteItem{Put: &types.Put{TableName: name, Item: w.item,
			ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
	case "update":
		return types.TransactWriteItem{Update: &types.Update{TableName: name, Key: w.key.AV(), UpdateExpression: expr.Update(),
			ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
	case "delete":
		return types.TransactWriteItem{Delete: &types.Delete{TableName: name, Key: w.key.AV(),
			ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
	default:
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: name, Key: w.key.AV(),
			ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
	}
}

// MaxTransactionItems is DynamoDB's limit on one TransactWriteItems.
const MaxTransactionItems = 100

// maxAttempts bounds retries of throttled or conflicting writes.
const maxAttempts = 6

// Transact runs writes as one all-or-nothing TransactWriteItems. A failed
// condition returns the error its write named with OrFail (the first one, in
// write order). Cancellations for transaction conflicts or throttling (which
// the SDK does not retry) are retried with jittered backoff, at most
// maxAttempts times, then reported as unavailable (503); nothing is ever
// half-written.
func (s *Store) Transact(ctx context.Context, what string, writes ...*Write) error {
	writes = merge(writes)
	if len(writes) == 0 {
		return nil
	}
	if len(writes) > MaxTransactionItems {
		return apperr.Internal(what, fmt.Errorf("transaction of %d items exceeds %d", len(writes), MaxTransactionItems))
	}
	if len(writes) == 1 && writes[0].kind != "check" {
		return s.Do(ctx, what, writes[0])
	}
	items := make([]types.TransactWriteItem, len(writes))
	for i, w := range writes {
		it, err := w.build(s.Table)
		if err != nil {
			return apperr.Internal(what, err)
		}
		items[i] = it
	}
	var last error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		_, err := s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil
		}
		var canceled *types.TransactionCanceledException
		if !errors.As(err, &canceled) {
			// The SDK already retried throttling; what is left is 503 or internal.
			return fmt.Errorf("%s: %w", what, mapSDKError(err))
		}
		retry := false
		for i, r := range canceled.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				return fmt.Errorf("%s: %w", what, writes[i].failure())
			case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
				retry = true
			}
		}
		if !retry {
			return fmt.Errorf("%s: %w", what, apperr.Internal("transaction canceled", err))
		}
		last = err
	}
	return fmt.Errorf("%s: %w", what, &apperr.Error{Kind: apperr.KindUnavailable, Code: apperr.ErrUnavailable.Code,
		Detail: apperr.ErrUnavailable.Detail, Err: last})
}

// merge folds the condition checks of a transaction into the other write
// on the same item (a transaction may name an item only once): two checks
// become one whose condition is both, and a check beside a put, update or
// delete adds its condition to that write. Independent rules (a grant's
// proof, the last-admin guard) can thus each add their checks without
// knowing of each other. A merged write that fails reports the error of
// the write it was merged into.
func merge(writes []*Write) []*Write {
	at := make(map[table.Key]int, len(writes))
	dup := false
	for _, w := range writes {
		if _, ok := at[w.key]; ok {
			dup = true
			break
		}
		at[w.key] = 0
	}
	if !dup {
		return writes
	}
	clear(at)
	out := make([]*Write, 0, len(writes))
	for _, w := range writes {
		i, ok := at[w.key]
		if !ok {
			at[w.key] = len(out)
			out = append(out, w)
			continue
		}
		prev := out[i]
		switch {
		case w.kind == "check" && w.cond != nil:
			c := *prev
			c.If(*w.cond)
			out[i] = &c
		case prev.kind == "check":
			c := *w
			if prev.cond != nil {
				c.If(*prev.cond)
			}
			if c.fail == nil {
				c.fail = prev.fail
			}
			out[i] = &c
		default:
			out = append(out, w) // two changes of one item: DynamoDB refuses, as it should
		}
	}
	return out
}

// Do runs one conditional write with the single-item API. Throttling is
// retried by the SDK's own retryer; what it gives up on is 503.
func (s *Store) Do(ctx context.Context, what string, w *Write) error {
	it, err := w.build(s.Table)
	if err != nil {
		return apperr.Internal(what, err)
	}
	switch {
	case it.Put != nil:
		p := it.Put
		_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: p.TableName, Item: p.Item, ConditionExpression: p.ConditionExpression,
			ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: p.ExpressionAttributeValues})
	case it.Update != nil:
		u := it.Update
		_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
			ConditionExpression: u.ConditionExpression, ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues})
	case it.Delete != nil:
		d := it.Delete
		_, err = s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: d.TableName, Key: d.Key, ConditionExpression: d.ConditionExpression,
			ExpressionAttributeNames: d.ExpressionAttributeNames, ExpressionAttributeValues: d.ExpressionAttributeValues})
	default:
		return apperr.Internal(what, errors.New("a condition check alone changes nothing: use it inside Transact"))
	}
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%s: %w", what, w.failure())
	}
	return fmt.Errorf("%s: %w", what, mapSDKError(err))
}

// retryable reports throttling that the SDK's own retryer gave up on.
func retryable(err error) bool {
	var pte *types.ProvisionedThroughputExceededException
	var rle *types.RequestLimitExceeded
	var tce *types.TransactionConflictException
	var tip *types.TransactionInProgressException
	return errors.As(err, &pte) || errors.As(err, &rle) || errors.As(err, &tce) || errors.As(err, &tip)
}

// mapSDKError turns throttling into "unavailable" and anything else into an
// internal error; the SDK error stays wrapped for the logs.
func mapSDKError(err error) error {
	if _, ok := apperr.As(err); ok {
		return err
	}
	if retryable(err) {
		return &apperr.Error{Kind: apperr.KindUnavailable, Code: apperr.ErrUnavailable.Code, Detail: apperr.ErrUnavailable.Detail, Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return apperr.Internal("dynamodb call failed", err)
}

func backoff(ctx context.Context, attempt int) error {
	base := 10 * time.Millisecond << min(attempt, 6)
	return clock.Sleep(ctx, base/2+rand.N(base/2+1))
}
