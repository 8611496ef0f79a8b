package usage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/table"
)

// RecordRequest is the body of POST /accounts/{accountId}/usage.
type RecordRequest struct {
	Metric string `json:"metric"`
	Amount *int64 `json:"amount"`
}

// RecordCommand is a validated record request.
type RecordCommand struct {
	Caller    access.Caller
	AccountID string
	Metric    string
	Amount    int64
}

// Command validates the request: a well-formed metric and an amount from 1
// to MaxAmount. Whether the account knows the metric is decided by Record.
func (r RecordRequest) Command(c access.Caller, accountID string) (RecordCommand, error) {
	var f apperr.Fields
	metric := strings.TrimSpace(r.Metric)
	f.Check(ValidMetric(metric), "metric", "invalid_metric", "metric is a name like tasks, webhooks or your billing unit")
	f.Check(r.Amount != nil, "amount", "required", "amount is required")
	if r.Amount != nil {
		f.Check(*r.Amount >= 1 && *r.Amount <= MaxAmount, "amount", "out_of_range", fmt.Sprintf("amount is from 1 to %d", MaxAmount))
	}
	if err := f.Err(); err != nil {
		return RecordCommand{}, err
	}
	return RecordCommand{Caller: c, AccountID: accountID, Metric: metric, Amount: *r.Amount}, nil
}

// Recorded is the counter after a record.
type Recorded struct {
	AccountID string `json:"accountId"`
	Period    Period `json:"period"`
	MetricUsage
}

// Record adds amount to the metric's counter of the current billing period,
// in one conditional update: unless the allowance is unlimited or
// usage-based, the condition is that the counter plus amount stays within
// the limit, so racing requests never lose a count and never pass the
// limit. A refused record changes nothing and answers 429 with the limit and
// the instant the allowance renews. The update counts once even when the
// SDK resends it (see add); clients retrying a whole request use
// Idempotency-Key, which replays the first answer.
func (s *Service) Record(ctx context.Context, cmd RecordCommand) (Recorded, error) {
	t := cmd.Caller.Tenant
	if err := s.Access.Require(ctx, cmd.Caller, access.RecordUsage, cmd.AccountID); err != nil {
		return Recorded{}, err
	}
	terms, err := s.Terms.Terms(ctx, t, cmd.AccountID)
	if err != nil {
		return Recorded{}, err
	}
	a, ok := terms.Allowances[cmd.Metric]
	if !ok {
		return Recorded{}, unknownMetric(cmd.Metric, terms)
	}
	now := s.Clock.Now()
	p := PeriodAt(terms.Anchor, now)
	// A period found finalised means this clock is behind the job's: the
	// count belongs to the next period. Twice is more than any skew.
	for range 3 {
		used, err := s.add(ctx, t, cmd.AccountID, p, cmd.Metric, cmd.Amount, a, now)
		if errors.Is(err, errFinalised) {
			p = p.Next(terms.Anchor)
			continue
		}
		if err != nil {
			return Recorded{}, fmt.Errorf("record %d %s in account %s: %w", cmd.Amount, cmd.Metric, cmd.AccountID, err)
		}
		return Recorded{AccountID: cmd.AccountID, Period: p, MetricUsage: measure(cmd.Metric, used, a, true)}, nil
	}
	return Recorded{}, apperr.Internal("record usage", errors.New("every candidate period is finalised"))
}

func unknownMetric(metric string, terms Terms) error {
	known := make([]string, 0, len(terms.Allowances))
	for m := range terms.Allowances {
		known = append(known, m)
	}
	sort.Strings(known)
	return apperr.Validation(apperr.FieldError{Field: "metric", Code: "unknown_metric",
		Detail: fmt.Sprintf("this account has no allowance for %q; its metrics are %s", metric, strings.Join(known, ", "))})
}

// add is the conditional counter update; it returns the counter after it.
//
// The update is a TransactWriteItems (the counter, and the check that the
// account is open, accounts.OpenItem, so no count lands in an account
// after its close), not an UpdateItem, because
// ADD is not idempotent and the SDK's retryer resends a request whose answer
// it did not get (a 5xx, a connection cut on the way back) although DynamoDB
// may have applied it. The SDK fills a transaction's ClientRequestToken once
// per operation (its idempotency-token middleware runs before the retry
// loop) and every attempt sends the same token; DynamoDB answers an attempt
// whose token it already applied (within ten minutes) with success and
// changes nothing. Transactions return no values, so the counter is then
// read, strongly consistent (it may include records that landed since): two
// calls per record.
func (s *Service) add(ctx context.Context, t table.Tenant, accountID string, p Period, metric string, amount int64, a Allowance, now time.Time) (int64, error) {
	key := t.UsagePeriod(accountID, p.Start)
	limited := a.Limited()
	if limited && amount > a.Limit {
		cur, _, err := s.readPeriod(ctx, key)
		if err != nil {
			return 0, err
		}
		return 0, refusal(metric, a, cur.Used[metric], p, now)
	}
	due := t.DueUsagePeriod(p.End, accountID, p.Start)
	used := expression.Name(usedAttr(metric))
	upd := setIfMissing(expression.UpdateBuilder{}, map[string]any{
		table.AttrType: periodType, "accountId": accountID, "periodStart": p.Start, "periodEnd": p.End,
		attrStatus: statusOpen, table.AttrGSI3PK: due.PK, table.AttrGSI3SK: due.SK,
	}).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Add(used, expression.Value(amount)).
		Add(expression.Name(attrRev), expression.Value(1))
	cond := expression.AttributeNotExists(expression.Name(attrFinalizedAt))
	if limited {
		cond = cond.And(expression.AttributeNotExists(used).Or(used.LessThanEqual(expression.Value(a.Limit - amount))))
	}
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return 0, apperr.Internal("build usage update", err)
	}
	open, err := accounts.OpenItem(s.Store.Table, t, accountID)
	if err != nil {
		return 0, err
	}
	err = s.applyOnce(ctx, open, types.TransactWriteItem{Update: &types.Update{
		TableName:                           aws.String(s.Store.Table),
		Key:                                 key.AV(),
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}})
	if accountClosed(err) {
		return 0, accounts.ErrClosed
	}
	if failed, ok := conditionFailed(err); ok {
		var cur periodItem
		if failed != nil {
			cur, err = decodePeriod(failed)
		} else {
			cur, _, err = s.readPeriod(ctx, key)
		}
		if err != nil {
			return 0, err
		}
		if cur.FinalizedAt != nil {
			return 0, errFinalised
		}
		return 0, refusal(metric, a, cur.Used[metric], p, now)
	}
	if err != nil {
		return 0, sdkError("update usage counter", err)
	}
	cur, _, err := s.readPeriod(ctx, key)
	if err != nil {
		return 0, err
	}
	return cur.Used[metric], nil
}

// maxConflictAttempts bounds applyOnce's own retries of a transaction
// cancelled by a conflict (the SDK does not retry cancellations).
const maxConflictAttempts = 10

// applyOnce sends one counter update as a single-item transaction (see add).
// A transaction cancelled because another one held the item applied
// nothing, so it is sent again, as a new operation with a new token, after
// a jittered pause.
func (s *Service) applyOnce(ctx context.Context, open, update types.TransactWriteItem) error {
	for attempt := 1; ; attempt++ {
		_, err := s.Store.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{update, open}})
		if !conflicted(err) || attempt == maxConflictAttempts {
			return err
		}
		pause := time.Duration(5+rand.IntN(10*attempt)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// conditionFailed reports a record cancelled by the counter's condition,
// with the counter item as it was (nil when it did not exist).
func conditionFailed(err error) (map[string]types.AttributeValue, bool) {
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) || len(canceled.CancellationReasons) == 0 ||
		aws.ToString(canceled.CancellationReasons[0].Code) != "ConditionalCheckFailed" {
		return nil, false
	}
	return canceled.CancellationReasons[0].Item, true
}

// accountClosed reports a record cancelled by its check that the account
// is open (the transaction's second item, accounts.OpenItem).
func accountClosed(err error) bool {
	var canceled *types.TransactionCanceledException
	return errors.As(err, &canceled) && len(canceled.CancellationReasons) == 2 &&
		aws.ToString(canceled.CancellationReasons[1].Code) == "ConditionalCheckFailed"
}

// conflicted reports a transaction cancelled because another transaction or
// write held its item at the same moment (or throttled): nothing applied.
func conflicted(err error) bool {
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		return false
	}
	for _, r := range canceled.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			return true
		}
	}
	return false
}

// setIfMissing sets each attribute only when the item does not have it yet:
// the first record of a period creates the item with these.
func setIfMissing(upd expression.UpdateBuilder, values map[string]any) expression.UpdateBuilder {
	for name, v := range values {
		n := expression.Name(name)
		upd = upd.Set(n, expression.IfNotExists(n, expression.Value(v)))
	}
	return upd
}

// readPeriod reads a period item (strongly consistent) and says whether it
// exists; a period never recorded reads as empty.
func (s *Service) readPeriod(ctx context.Context, key table.Key) (periodItem, bool, error) {
	out, err := s.Store.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Store.Table), Key: key.AV(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return periodItem{}, false, sdkError("read usage period", err)
	}
	if out.Item == nil {
		return periodItem{Used: map[string]int64{}}, false, nil
	}
	p, err := decodePeriod(out.Item)
	return p, true, err
}

// refusal is the 429 of a record that would pass the limit.
func refusal(metric string, a Allowance, used int64, p Period, now time.Time) error {
	wait := int64(math.Ceil(p.End.Sub(now).Seconds()))
	return ErrLimitReached.
		Withf("the %s allowance of this billing period is used up (%d of %d); it renews at %s",
			metric, used, a.Limit, email.FormatInstant(p.End)).
		With("metric", metric).With("limit", a.Limit).With("used", used).
		With("resetAt", p.End.UTC()).With("retryAfterSeconds", max(1, wait))
}
