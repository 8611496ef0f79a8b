package accounts

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/table"
)

// ClosedEntry is an account in the register of closed accounts
// (table.ClosedAccount): a copy of what the directory shows of it, written
// by the close and deleted by a reopen or the end of a wipe.
type ClosedEntry struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Type      string    `dynamodbav:"type"`
	ID        string    `dynamodbav:"id"`
	Name      string    `dynamodbav:"name"`
	Status    string    `dynamodbav:"status"`
	PlanID    string    `dynamodbav:"planId,omitempty"`
	ParentID  string    `dynamodbav:"parentId,omitempty"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	ClosedAt  time.Time `dynamodbav:"closedAt"`
}

// NewClosedEntry is the register entry of account a, closed at at.
func NewClosedEntry(t table.Tenant, a Account, at time.Time) ClosedEntry {
	k := t.ClosedAccount(strings.ToLower(a.Name), a.ID)
	return ClosedEntry{PK: k.PK, SK: k.SK, Type: "CLOSED_ACCOUNT", ID: a.ID, Name: a.Name, Status: StatusClosed,
		PlanID: a.PlanID, ParentID: a.ParentID, CreatedAt: a.CreatedAt, ClosedAt: at}
}

// Key is the entry's primary key.
func (e ClosedEntry) Key() table.Key { return table.Key{PK: e.PK, SK: e.SK} }

// NotClosed holds for an account (or a register entry) that is not closed:
// the directory's filter of the active accounts.
func NotClosed() expression.ConditionBuilder {
	return expression.Name("status").NotEqual(expression.Value(StatusClosed))
}

// Decoded is an account item, or an entry of the register of closed
// accounts (the same attributes), as an Account.
func Decoded(item map[string]types.AttributeValue) (Account, error) {
	var a Account
	err := attributevalue.UnmarshalMap(item, &a)
	return a, err
}
