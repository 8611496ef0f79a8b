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
// and, when it queries, on its indexes. Every function that serves a route
// with Auth resolves its callers itself (httpapi.Server.Serve): the session, then
// user, membership and account in one batch, so it holds GetItem and
// BatchGetItem.
var tableAccess = map[string][]string{
	// auth reads users and sessions, queries a user's memberships (GSI1),
	// records failed sign-ins and writes sessions in transactions.
	"auth": {actGetItem, actBatchGetItem, actQuery, actPutItem, actUpdateItem, actDeleteItem, actConditionCheck},

	// usage-reset records usage (UpdateItem ADD with a condition), reads
	// terms and periods (BatchGetItem, GetItem, Query), resets and
	// finalises in transactions (Update, Put of the change log, a
	// ConditionCheck when a period has no counters yet), queries the due
	// index (GSI3) in its job, and stores and frees Idempotency-Key records
	// (PutItem, DeleteItem).
	"usage-reset": {actGetItem, actBatchGetItem, actQuery, actPutItem, actUpdateItem, actDeleteItem, actConditionCheck},
	// link reads accounts, a parent's links and an account's admins
	// (GetItem, BatchGetItem, Query), links and unlinks in transactions
	// (Update of both accounts, Put or Delete of the link item, Put of the
	// change-log entries and of a new child's account and membership),
	// associates users (Put or Update or Delete of memberships, Update of
	// seat pools, ConditionChecks of the user, roles and the remaining
	// Admin), switches sessions (Update of the session, Put of the access
	// entry, ConditionChecks of the membership and account), and stores and
	// frees Idempotency-Key records.
	"link": {actGetItem, actBatchGetItem, actQuery, actPutItem, actUpdateItem, actDeleteItem, actConditionCheck},
	// reassign registers and deletes content (Put/Delete with the change
	// log, ConditionChecks of the owner's membership and of a running
	// reassignment), lists it (Query, GSI1), moves it in page transactions
	// (Update of items and of the job, a ConditionCheck of the target's
	// membership), counts and resumes via the due index (Query, GSI3), and
	// stores and frees Idempotency-Key records.
	"reassign": {actGetItem, actBatchGetItem, actQuery, actPutItem, actUpdateItem, actDeleteItem, actConditionCheck},

	// accounts only reads: the directory and member lists (Query on the
	// table, GSI1 and GSI2), accounts, users and licence pools (GetItem,
	// BatchGetItem), change logs and access history (Query).
	"accounts": {actGetItem, actBatchGetItem, actQuery},
	// edit reads what it changes (GetItem, BatchGetItem, Query of a user's
	// memberships and of an account's admins), changes it in transactions:
	// Update of accounts, users, memberships and licence pools, Put of new
	// accounts, memberships, email claims, pools and change-log entries,
	// Delete of a replaced email claim, ConditionCheck of the other admin
	// that keeps an account administrable and of custom roles; and stores
	// and frees Idempotency-Key records.
	"edit": {actGetItem, actBatchGetItem, actQuery, actPutItem, actUpdateItem, actDeleteItem, actConditionCheck},
	// delete reads users, memberships and an account's partition (GetItem,
	// BatchGetItem, Query), deletes users' claims and memberships and a
	// wiped account's items (DeleteItem), updates user tombstones, licence
	// pools and account status (UpdateItem), puts change-log and
	// closed-account entries (PutItem) and checks the remaining admin
	// (ConditionCheck).
	"delete": {actGetItem, actBatchGetItem, actQuery, actPutItem, actUpdateItem, actDeleteItem, actConditionCheck},

	// publish-events reads nothing of the table itself: its event source
	// mapping reads the stream (a grant of its own, on the stream only).
	"publish-events": {},

	// ses-events records what SES says of a sent email: it reads the
	// invitation and the delivery (GetItem, Query), and records the outcome
	// and the tenant's suppression entry in transactions (Put, Update).
	"ses-events": {actGetItem, actQuery, actPutItem, actUpdateItem},
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
	"edit":   true, // generated passwords, email-change confirmations
	"auth":   true, // the code that proves an address at first sign-in
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
