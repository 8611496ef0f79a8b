package stack

import (
	"slices"
	"time"
)

// What each function may do, kept in one place so a reviewer can read every
// grant of the deployment on one screen. A function that is not listed gets
// the documented default; adding a route or a job therefore needs no change
// here, and narrowing a new function is a one-line edit.

// DynamoDB actions, as IAM names them. TransactWriteItems and TransactGetItems
// are not IAM actions: each item of a transaction is authorised as its
// PutItem, UpdateItem, DeleteItem, ConditionCheckItem or GetItem. Scan is
// never granted (no Scan on a request path or in a job), nor dynamodb:*.
const (
	actGetItem        = "dynamodb:GetItem"
	actBatchGetItem   = "dynamodb:BatchGetItem"
	actQuery          = "dynamodb:Query"
	actPutItem        = "dynamodb:PutItem"
	actUpdateItem     = "dynamodb:UpdateItem"
	actDeleteItem     = "dynamodb:DeleteItem"
	actConditionCheck = "dynamodb:ConditionCheckItem" // a ConditionCheck inside TransactWriteItems
)

// tableAccess is the DynamoDB actions of each known function, on the table
// and, when it queries, on its indexes.
var tableAccess = map[string][]string{
	// The authorizer only reads: the session, then user, membership and
	// account in one batch.
	"authorizer": {actGetItem, actBatchGetItem},
	// auth reads users and sessions, queries a user's memberships (GSI1),
	// records failed sign-ins and writes sessions in transactions.
	"auth": {actGetItem, actBatchGetItem, actQuery, actPutItem, actUpdateItem, actDeleteItem, actConditionCheck},
}

// defaultTableAccess is what a function not in tableAccess gets: item reads,
// queries, and conditional single-item and transactional writes. It has no
// Scan, no BatchWriteItem (unconditional) and no table administration.
var defaultTableAccess = []string{actGetItem, actBatchGetItem, actQuery, actPutItem, actUpdateItem, actDeleteItem, actConditionCheck}

// TableActions is the DynamoDB actions function is granted.
func TableActions(function string) []string {
	if acts, ok := tableAccess[function]; ok {
		return slices.Clone(acts)
	}
	return slices.Clone(defaultTableAccess)
}

// mailSenders are the functions that send email through SES; only they may
// call ses:SendEmail / ses:SendRawEmail, and only as the sender identity.
// A name here that is not (yet) a function is ignored.
var mailSenders = map[string]bool{
	"invite": true, // invitation emails
	"accept": true, // welcome email after joining
	"edit":   true, // generated passwords, email-change confirmations
}

// SendsMail reports whether function may send email.
func SendsMail(function string) bool { return mailSenders[function] }

// Sizing of functions. Password hashing (argon2id with 19 MiB per hash) needs
// memory, and Lambda gives CPU in proportion to it.
var memoryMB = map[string]float64{
	"auth":   512, // sign-in verifies a password
	"accept": 512, // a new user sets a password
	"edit":   512, // password set, generate and change
}

const (
	defaultMemoryMB = 256
	// requestTimeout bounds a function behind the HTTP API, whose own
	// integration timeout is 30 seconds.
	requestTimeout = 10 * time.Second
	// jobTimeout bounds a function that runs a scheduled job.
	jobTimeout = 5 * time.Minute
)

// MemoryMB is the memory of function.
func MemoryMB(function string) float64 {
	if mb, ok := memoryMB[function]; ok {
		return mb
	}
	return defaultMemoryMB
}
