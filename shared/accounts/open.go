package accounts

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// ErrClosed refuses a write into a closed account (409 account_closed): it
// is what Open's check fails with when the account was closed (or wiped)
// after the write's own checks read it open.
var ErrClosed = apperr.New(apperr.KindConflict, "account_closed",
	"this account is closed: nothing in it changes until a tenant operator reopens it")

// Open is the rule "nothing is written into a closed account", as a check
// on the account item inside the transaction that writes into the
// account's data (memberships, invitations, licences, content, usage,
// plan and overrides, change log). A close commits an update of the
// account item, so a write whose transaction holds this check either
// commits before the close (DynamoDB serialises the two: a transaction
// conflict is retried by store.Transact) or fails with ErrClosed; a write
// never lands in an account after it was closed. An account that is gone
// (wiped) fails it too.
//
// Beside a write of the account item itself, store.Transact folds the
// check into that write, which then reports its own error; such callers
// tell the two apart with ClosedMeanwhile.
func Open(t table.Tenant, accountID string) *store.Write {
	return store.Check(t.Account(accountID), store.Is("status", StatusActive)).OrFail(ErrClosed)
}

// OpenItem is Open as the raw transaction item, for the writes that build
// their TransactWriteItems themselves (usage records, which rely on the
// SDK's ClientRequestToken). A cancellation reason ConditionalCheckFailed
// at its place means the account is closed (ErrClosed).
func OpenItem(tableName string, t table.Tenant, accountID string) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(store.Is("status", StatusActive)).Build()
	if err != nil {
		return types.TransactWriteItem{}, apperr.Internal("build the account-open check", err)
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(tableName), Key: t.Account(accountID).AV(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
}

// OpenEach is Open for each of accountIDs, once each.
func OpenEach(t table.Tenant, accountIDs ...string) []*store.Write {
	out := make([]*store.Write, 0, len(accountIDs))
	seen := make(map[string]bool, len(accountIDs))
	for _, id := range accountIDs {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, Open(t, id))
	}
	return out
}

// ClosedMeanwhile turns err, a failed write whose condition on accountID's
// item held more than Open (a version, a link), into ErrClosed when the
// account is closed (or gone) now: the close committed between the
// write's read and its commit. Any other error is returned as it is.
func ClosedMeanwhile(ctx context.Context, s *store.Store, t table.Tenant, accountID string, err error) error {
	switch apperr.KindOf(err) {
	case apperr.KindConflict, apperr.KindPreconditionFailed, apperr.KindNotFound:
	default:
		return err
	}
	if errors.Is(err, ErrClosed) {
		return err
	}
	var a struct {
		Status string `dynamodbav:"status"`
	}
	ok, rerr := s.Get(ctx, t.Account(accountID), &a)
	if rerr != nil {
		return err
	}
	if !ok || a.Status != StatusActive {
		return ErrClosed
	}
	return err
}
