// Package changelog records who changed what, when, with before and after
// values. An entry is always written in the same transaction as the change it
// records: callers add Entry.Write() to their store.Transact call.
package changelog

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Actor kinds.
const (
	ActorUser     = "user"
	ActorSupport  = "support"  // a tenant operator switched into the account changed, with a reason
	ActorOperator = "operator" // a tenant operator doing tenant administration
	ActorSystem   = "system"   // a scheduled job or an automation
	ActorAPIKey   = "api_key"  // a machine credential: its id and name
)

// Actor is who made a change. A support actor is "support person ID acting
// in account AccountID, because Reason".
type Actor struct {
	Kind      string `dynamodbav:"kind" json:"kind"`
	ID        string `dynamodbav:"id" json:"id"`
	AccountID string `dynamodbav:"accountId,omitempty" json:"accountId,omitempty"` // support: the account they act in
	Reason    string `dynamodbav:"reason,omitempty" json:"reason,omitempty"`       // support: why they entered it
	// Name and Email are the person (user, support, operator) as they were
	// when the entry was written; a later rename does not change them.
	// Entries written before actors were named have neither: readers show
	// the id. Jobs are named by their id alone.
	Name  string `dynamodbav:"name,omitempty" json:"name,omitempty"`
	Email string `dynamodbav:"email,omitempty" json:"email,omitempty"`
}

// ActorOf is who a caller's change is logged as, named (name and email) as
// the caller was at this request: an API key as itself (kind api_key,
// its id and name); a user as themselves; a
// tenant operator as support when the change is in the account their
// session is switched into (with that account and their reason), else as
// an operator doing tenant administration. New settles which, from the
// account the entry is written to.
func ActorOf(c access.Caller) Actor {
	if c.IsKey() {
		return Actor{Kind: ActorAPIKey, ID: c.KeyID, Name: c.KeyName}
	}
	if c.Operator {
		return Actor{Kind: ActorOperator, ID: c.UserID, AccountID: c.AccountID, Reason: c.SupportReason, Name: c.Name, Email: c.Email}.In(c.AccountID)
	}
	return Actor{Kind: ActorUser, ID: c.UserID, Name: c.Name, Email: c.Email}
}

// In is the actor as the change log of accountID records it: an operator
// whose session is switched into accountID with a reason is support there;
// anywhere else the same operator is doing tenant administration (kind
// operator, no account or reason of theirs: those belong to another
// account's log).
func (a Actor) In(accountID string) Actor {
	if a.Kind != ActorSupport && a.Kind != ActorOperator {
		return a
	}
	if a.Reason != "" && a.AccountID == accountID {
		a.Kind = ActorSupport
		return a
	}
	return Actor{Kind: ActorOperator, ID: a.ID, Name: a.Name, Email: a.Email}
}

// System is the actor of scheduled jobs.
func System(job string) Actor { return Actor{Kind: ActorSystem, ID: job} }

// Entry is one change-log item.
type Entry struct {
	PK          string         `dynamodbav:"PK"`
	SK          string         `dynamodbav:"SK"`
	Type        string         `dynamodbav:"type"`
	ID          string         `dynamodbav:"id"`
	AccountID   string         `dynamodbav:"accountId"`
	At          time.Time      `dynamodbav:"at"`
	Actor       Actor          `dynamodbav:"actor"`
	Action      string         `dynamodbav:"action"` // e.g. invitation.accepted, user.suspended
	SubjectType string         `dynamodbav:"subjectType"`
	SubjectID   string         `dynamodbav:"subjectId"`
	Before      map[string]any `dynamodbav:"before,omitempty"` // never secrets
	After       map[string]any `dynamodbav:"after,omitempty"`
	GSI1PK      string         `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK      string         `dynamodbav:"GSI1SK,omitempty"`
}

// New builds an entry in account's log; when the subject is a user it is
// also listed in that user's log.
func New(t table.Tenant, id string, at time.Time, accountID string, actor Actor, action, subjectType, subjectID string, before, after map[string]any) Entry {
	k := t.ChangeLogEntry(accountID, id)
	e := Entry{PK: k.PK, SK: k.SK, Type: "CHANGE", ID: id, AccountID: accountID, At: at, Actor: actor.In(accountID), Action: action,
		SubjectType: subjectType, SubjectID: subjectID, Before: before, After: after}
	if subjectType == "user" {
		ix := t.UserChangeLog(subjectID, id)
		e.GSI1PK, e.GSI1SK = ix.PK, ix.SK
	}
	return e
}

// Write is the entry as a transaction item; its id is fresh, so it must not exist.
func (e Entry) Write() *store.Write { return store.Put(e).If(store.NotExists()) }

// InAccount holds for the entries of accountID's change log (a filter of
// an index that lists several accounts' entries).
func InAccount(accountID string) expression.ConditionBuilder {
	return expression.Name("accountId").Equal(expression.Value(accountID))
}
