package content

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Reassignment job statuses.
const (
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Reassignment tuning defaults.
const (
	DefaultMovePage = 50               // items per transaction (plus the job and a membership check)
	DefaultLease    = 60 * time.Second // a runner that stops is replaced after this
	DefaultSettle   = time.Second      // the owner index may lag the table by about this much
	maxPageRetries  = 5
)

// ResumeJob is the scheduled job that continues reassignments whose runner
// stopped (a crash or a timeout); ResumeLookBack bounds the due buckets it
// reads.
const (
	ResumeJob      = "resume-reassignments"
	ResumeLookBack = 7 * 24 * time.Hour
)

// Errors of reassignments.
var (
	ErrTargetNotMember = apperr.Validation(apperr.FieldError{Field: "targetUserId", Code: "not_a_member",
		Detail: "the target must be a member of the account"})
	ErrSameUser = apperr.Validation(apperr.FieldError{Field: "targetUserId", Code: "same_user",
		Detail: "the target must be someone else"})
	ErrReassignmentRunning = apperr.New(apperr.KindConflict, "reassignment_running",
		"this user's content is already being reassigned to someone else; wait for that job to finish")
	errItemChanged = errors.New("a content item changed while it was being moved")
	errLeaseLost   = errors.New("another runner took over the reassignment")
	errLeaseHeld   = errors.New("the reassignment is being run by someone else")
	errJobChanged  = errors.New("the reassignment changed while it was being finished")
)

// Job is a reassignment: every item one user owns in an account moves to
// another member. Done is exact: each page's transaction adds its count.
type Job struct {
	PK         string          `dynamodbav:"PK"`
	SK         string          `dynamodbav:"SK"`
	Type       string          `dynamodbav:"type"`
	ID         string          `dynamodbav:"id"`
	AccountID  string          `dynamodbav:"accountId"`
	SourceID   string          `dynamodbav:"sourceUserId"`
	TargetID   string          `dynamodbav:"targetUserId"`
	Status     string          `dynamodbav:"status"`
	Total      int64           `dynamodbav:"total"`      // the source's items when it started
	Done       int64           `dynamodbav:"done"`       // moved so far
	Redirected int64           `dynamodbav:"redirected"` // registered for the target while it ran
	Reason     string          `dynamodbav:"reason,omitempty"`
	Runner     string          `dynamodbav:"runner"`     // who runs it now
	LeaseUntil int64           `dynamodbav:"leaseUntil"` // epoch seconds; after it, another runner may take over
	StartedBy  changelog.Actor `dynamodbav:"startedBy"`
	CreatedAt  time.Time       `dynamodbav:"createdAt"`
	UpdatedAt  time.Time       `dynamodbav:"updatedAt"`
	FinishedAt *time.Time      `dynamodbav:"finishedAt,omitempty"`
	GSI3PK     string          `dynamodbav:"GSI3PK,omitempty"`
	GSI3SK     string          `dynamodbav:"GSI3SK,omitempty"`
}

// runningGuard allows one running job per source and account.
type runningGuard struct {
	PK       string `dynamodbav:"PK"`
	SK       string `dynamodbav:"SK"`
	Type     string `dynamodbav:"type"`
	JobID    string `dynamodbav:"jobId"`
	TargetID string `dynamodbav:"targetId"`
}

// Progress is a job as GET /reassignments/{jobId} shows it.
type Progress struct {
	ID           string     `json:"id"`
	AccountID    string     `json:"accountId"`
	SourceUserID string     `json:"sourceUserId"`
	TargetUserID string     `json:"targetUserId"`
	Status       string     `json:"status"`
	Total        int64      `json:"total"` // grows when content was added for the source while it ran
	Done         int64      `json:"done"`
	Redirected   int64      `json:"redirected"` // registered for the target directly while it ran
	Reason       string     `json:"reason,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	FinishedAt   *time.Time `json:"finishedAt,omitempty"`
}

// ProgressOf shows a job.
func ProgressOf(j Job) Progress {
	return Progress{ID: j.ID, AccountID: j.AccountID, SourceUserID: j.SourceID, TargetUserID: j.TargetID, Status: j.Status,
		Total: max(j.Total, j.Done), Done: j.Done, Redirected: j.Redirected, Reason: j.Reason,
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, FinishedAt: j.FinishedAt}
}

// StartRequest is the body of POST /users/{userId}/reassign-content.
type StartRequest struct {
	TargetUserID string `json:"targetUserId"`
	AccountID    string `json:"accountId,omitempty"` // default: the caller's active account
}

// StartCommand is a validated start.
type StartCommand struct {
	Caller    access.Caller
	AccountID string
	SourceID  string
	TargetID  string
}

// Command validates the request.
func (r StartRequest) Command(c access.Caller, sourceID string) (StartCommand, error) {
	target, account := strings.TrimSpace(r.TargetUserID), strings.TrimSpace(r.AccountID)
	if account == "" {
		account = c.AccountID
	}
	var f apperr.Fields
	f.Check(ids.Valid(target), "targetUserId", "invalid", "targetUserId is a user id")
	f.Check(account == "" || ids.Valid(account), "accountId", "invalid", "accountId is an account id")
	if err := f.Err(); err != nil {
		return StartCommand{}, err
	}
	if target == sourceID {
		return StartCommand{}, ErrSameUser
	}
	return StartCommand{Caller: c, AccountID: account, SourceID: sourceID, TargetID: target}, nil
}

// Start records a reassignment of everything the source owns in the account
// to the target (who must be a member of it), then runs it until budget
// ends; what is left is continued by the resume job once the lease expires.
// Starting again while a job for the same source and target is running
// continues that job (a retry after a timeout); for another target it is
// 409. The answer is the job's progress.
func (s *Service) Start(ctx, budget context.Context, cmd StartCommand) (Progress, error) {
	t := cmd.Caller.Tenant
	if err := s.Access.Require(ctx, cmd.Caller, access.ReassignContent, cmd.AccountID); err != nil {
		return Progress{}, err
	}
	guardKey := t.RunningReassignment(cmd.AccountID, cmd.SourceID)
	for range 3 {
		var guard runningGuard
		running, err := s.Store.Get(ctx, guardKey, &guard)
		if err != nil {
			return Progress{}, err
		}
		if running {
			if guard.TargetID != cmd.TargetID {
				return Progress{}, ErrReassignmentRunning.With("reassignmentId", guard.JobID)
			}
			return s.resume(ctx, budget, t, guard.JobID)
		}
		total, err := s.count(ctx, t, cmd.AccountID, cmd.SourceID)
		if err != nil {
			return Progress{}, err
		}
		now := s.Clock.Now()
		runner := s.IDs.NewID()
		job := Job{ID: s.IDs.NewID(), AccountID: cmd.AccountID, SourceID: cmd.SourceID, TargetID: cmd.TargetID,
			Status: StatusRunning, Total: total, Runner: runner, StartedBy: changelog.ActorOf(cmd.Caller), CreatedAt: now, UpdatedAt: now}
		k := t.Reassignment(job.ID)
		job.PK, job.SK, job.Type = k.PK, k.SK, "REASSIGNMENT"
		job.LeaseUntil = now.Add(s.Lease).Unix()
		due := t.DueReassignment(time.Unix(job.LeaseUntil, 0), job.ID)
		job.GSI3PK, job.GSI3SK = due.PK, due.SK
		err = s.Store.Transact(ctx, fmt.Sprintf("start reassignment of %s's content", cmd.SourceID),
			store.Put(job).If(store.NotExists()),
			store.Put(runningGuard{PK: guardKey.PK, SK: guardKey.SK, Type: "REASSIGNING", JobID: job.ID, TargetID: cmd.TargetID}).
				If(store.NotExists()).OrFail(errGuardChanged),
			store.Check(t.Membership(cmd.AccountID, cmd.TargetID), store.Exists()).OrFail(ErrTargetNotMember),
			accounts.Open(t, cmd.AccountID))
		if errors.Is(err, errGuardChanged) {
			continue // a job started meanwhile: look at it
		}
		if err != nil {
			return Progress{}, err
		}
		return s.run(ctx, budget, t, job)
	}
	return Progress{}, apperr.ErrUnavailable
}

// Progress reads a job (any member of its account may).
func (s *Service) Progress(ctx context.Context, caller access.Caller, jobID string) (Progress, error) {
	job, ok, err := s.readJob(ctx, caller.Tenant, jobID)
	if err != nil {
		return Progress{}, err
	}
	if !ok {
		return Progress{}, apperr.ErrNotFound.Withf("no reassignment %s", jobID)
	}
	if err := s.Access.Require(ctx, caller, access.ReadContent, job.AccountID); err != nil {
		return Progress{}, err
	}
	return ProgressOf(job), nil
}

// ResumeReport says what one run of the resume job did.
type ResumeReport struct {
	Buckets  int `json:"buckets"`
	Due      int `json:"due"`      // jobs whose runner's lease had expired
	Finished int `json:"finished"` // finished by this run
	Left     int `json:"left"`     // still running (budget spent, or taken by another runner)
	Failed   int `json:"failed"`
}

// ResumeDue continues every running reassignment whose runner stopped: it
// reads the due index (GSI3) buckets of the last week up to now, takes each
// job over (a conditional update of its lease) and runs it within budget.
// Safe to run twice or alongside a live runner: a job has one runner at a
// time, and every page is conditioned on the items' current owner.
func (s *Service) ResumeDue(ctx, budget context.Context) (ResumeReport, error) {
	var rep ResumeReport
	var first error
	buckets, err := s.Store.EachDue(ctx, "REASSIGN", s.Clock.Now(), ResumeLookBack, func(sortKeys []string) error {
		for _, sk := range sortKeys {
			k, ok := parseDueJob(sk)
			if !ok {
				continue
			}
			rep.Due++
			if budget.Err() != nil {
				rep.Left++
				continue
			}
			p, err := s.resume(ctx, budget, k.tenant, k.jobID)
			switch {
			case err != nil:
				rep.Failed++
				if first == nil {
					first = err
				}
			case p.Status == StatusRunning:
				rep.Left++
			default:
				rep.Finished++
			}
		}
		return nil
	})
	rep.Buckets = buckets
	if err != nil {
		return rep, fmt.Errorf("resume reassignments: %w", err)
	}
	if first != nil {
		return rep, fmt.Errorf("resume reassignments: %d failed: %w", rep.Failed, first)
	}
	return rep, nil
}

type dueJob struct {
	tenant table.Tenant
	jobID  string
}

// parseDueJob reads a due-index sort key: "<lease epoch>#<tenant>#<job id>".
func parseDueJob(sk string) (dueJob, bool) {
	parts := strings.Split(sk, "#")
	if len(parts) != 3 {
		return dueJob{}, false
	}
	if _, err := strconv.ParseInt(parts[0], 10, 64); err != nil {
		return dueJob{}, false
	}
	t, err := table.ForTenant(parts[1])
	if err != nil || parts[2] == "" {
		return dueJob{}, false
	}
	return dueJob{tenant: t, jobID: parts[2]}, true
}

// resume takes a running job over if its lease expired and runs it; a job
// whose runner is alive, or that ended, is only reported.
func (s *Service) resume(ctx, budget context.Context, t table.Tenant, jobID string) (Progress, error) {
	now := s.Clock.Now()
	runner := s.IDs.NewID()
	until := now.Add(s.Lease)
	due := t.DueReassignment(until, jobID)
	upd := expression.Set(expression.Name("runner"), expression.Value(runner)).
		Set(expression.Name("leaseUntil"), expression.Value(until.Unix())).
		Set(expression.Name(table.AttrGSI3PK), expression.Value(due.PK)).
		Set(expression.Name(table.AttrGSI3SK), expression.Value(due.SK)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	err := s.Store.Do(ctx, "take over reassignment "+jobID, store.Update(t.Reassignment(jobID), upd).
		If(store.Is("status", StatusRunning).And(expression.Name("leaseUntil").LessThanEqual(expression.Value(now.Unix())))).
		OrFail(errLeaseHeld))
	job, ok, rerr := s.readJob(ctx, t, jobID)
	if rerr != nil {
		return Progress{}, rerr
	}
	if !ok {
		return Progress{}, apperr.ErrNotFound.Withf("no reassignment %s", jobID)
	}
	if errors.Is(err, errLeaseHeld) {
		return ProgressOf(job), nil
	}
	if err != nil {
		return Progress{}, err
	}
	return s.run(ctx, budget, t, job)
}

// run moves the source's items page by page while this runner holds the
// lease and budget lasts. Each page is one transaction: every item on
// condition that the source still owns it, a check that the target is still
// a member, and the job's done count and lease on condition that this runner
// still holds it. So a page is moved entirely or not at all, and a runner
// that resumes after a crash (or a lost response) neither moves an item
// twice nor skips one. When the source's partition reads empty twice, the
// second time after Settle (the index may lag the table), the job ends.
func (s *Service) run(ctx, budget context.Context, t table.Tenant, job Job) (Progress, error) {
	cursor := ""
	movedThisPass, retries := 0, 0
	settled := false
	for {
		if budget.Err() != nil {
			s.release(ctx, t, job)
			return s.progress(ctx, t, job)
		}
		moved, next, err := s.movePage(ctx, t, job, cursor)
		switch {
		case errors.Is(err, errItemChanged) && retries < maxPageRetries:
			retries++
			continue // read the page again
		case errors.Is(err, errLeaseLost):
			return s.progress(ctx, t, job)
		case errors.Is(err, ErrTargetNotMember):
			return s.finish(ctx, t, job, StatusFailed, "the target is no longer a member of the account")
		case errors.Is(err, accounts.ErrClosed):
			// Nothing more moves in a closed account; the job ends (its
			// guard goes and its log entry says why), so a reopened account
			// can start another.
			return s.finish(ctx, t, job, StatusFailed, "the account was closed")
		case err != nil:
			// The lease stays: the resume job continues after it expires.
			return Progress{}, fmt.Errorf("reassignment %s: %w", job.ID, err)
		}
		retries = 0
		job.Done += int64(moved)
		movedThisPass += moved
		if next != "" {
			cursor = next
			continue
		}
		cursor = ""
		if movedThisPass > 0 {
			movedThisPass = 0
			continue // another pass: items may have joined behind the cursor
		}
		if !settled && s.Settle > 0 {
			settled = true
			if err := clock.Sleep(ctx, s.Settle); err != nil {
				return Progress{}, err
			}
			continue
		}
		return s.finish(ctx, t, job, StatusDone, "")
	}
}

// movePage moves one page of the source's items, and reports how many and
// the cursor of the next page.
func (s *Service) movePage(ctx context.Context, t table.Tenant, job Job, cursor string) (int, string, error) {
	src := t.ContentByOwner(job.AccountID, job.SourceID, "")
	page, err := s.Store.QueryPage(ctx, store.Query{Index: table.GSI1, Partition: src.PK, SKPrefix: src.SK,
		Limit: int32(s.PageSize), Cursor: cursor})
	if err != nil {
		return 0, "", err
	}
	if len(page.Items) == 0 {
		return 0, page.Cursor, nil
	}
	// The index may be behind: move only what the table says the source owns.
	keys := make([]table.Key, len(page.Items))
	for i, it := range page.Items {
		keys[i] = store.KeyOf(it)
	}
	current, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return 0, "", err
	}
	now := s.Clock.Now()
	var writes []*store.Write
	for _, k := range keys {
		raw, ok := current[k]
		if !ok {
			continue
		}
		var it Item
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return 0, "", apperr.Internal("decode content", err)
		}
		if it.OwnerID != job.SourceID {
			continue
		}
		dst := t.ContentByOwner(job.AccountID, job.TargetID, it.ID)
		writes = append(writes, store.Update(k, store.BumpVersion().
			Set(expression.Name("ownerId"), expression.Value(job.TargetID)).
			Set(expression.Name(table.AttrGSI1PK), expression.Value(dst.PK)).
			Set(expression.Name("reassignedBy"), expression.Value(job.ID)).
			Set(expression.Name("updatedAt"), expression.Value(now))).
			If(store.Is("ownerId", job.SourceID)).OrFail(errItemChanged))
	}
	if len(writes) == 0 {
		return 0, page.Cursor, nil
	}
	until := now.Add(s.Lease)
	due := t.DueReassignment(until, job.ID)
	writes = append(writes,
		store.Check(t.Membership(job.AccountID, job.TargetID), store.Exists()).OrFail(ErrTargetNotMember),
		accounts.Open(t, job.AccountID),
		store.Update(t.Reassignment(job.ID), expression.Add(expression.Name("done"), expression.Value(len(writes))).
			Set(expression.Name("leaseUntil"), expression.Value(until.Unix())).
			Set(expression.Name(table.AttrGSI3PK), expression.Value(due.PK)).
			Set(expression.Name(table.AttrGSI3SK), expression.Value(due.SK)).
			Set(expression.Name("updatedAt"), expression.Value(now))).
			If(store.Is("runner", job.Runner).And(store.Is("status", StatusRunning))).OrFail(errLeaseLost))
	if err := s.Store.Transact(ctx, fmt.Sprintf("reassignment %s: move %d items", job.ID, len(writes)-3), writes...); err != nil {
		return 0, "", err
	}
	return len(writes) - 3, page.Cursor, nil
}

// finish ends the job: its status, its final total, the guard deleted, and
// the job's one change-log entry with its counts, in one transaction.
func (s *Service) finish(ctx context.Context, t table.Tenant, job Job, status, reason string) (Progress, error) {
	for range maxPageRetries {
		cur, ok, err := s.readJob(ctx, t, job.ID)
		if err != nil {
			return Progress{}, err
		}
		if !ok || cur.Runner != job.Runner || cur.Status != StatusRunning {
			return s.progress(ctx, t, job)
		}
		now := s.Clock.Now()
		upd := expression.Set(expression.Name("status"), expression.Value(status)).
			Set(expression.Name("total"), expression.Value(max(cur.Total, cur.Done))).
			Set(expression.Name("finishedAt"), expression.Value(now)).
			Set(expression.Name("updatedAt"), expression.Value(now)).
			Remove(expression.Name(table.AttrGSI3PK)).Remove(expression.Name(table.AttrGSI3SK))
		if reason != "" {
			upd = upd.Set(expression.Name("reason"), expression.Value(reason))
		}
		action := "content.reassigned"
		if status == StatusFailed {
			action = "content.reassignment_failed"
		}
		after := map[string]any{"ownerId": cur.TargetID, "reassignment": cur.ID, "status": status,
			"moved": cur.Done, "redirected": cur.Redirected, "total": max(cur.Total, cur.Done)}
		if reason != "" {
			after["reason"] = reason
		}
		entry := changelog.New(t, s.IDs.NewID(), now, cur.AccountID, cur.StartedBy, action, "user", cur.SourceID,
			map[string]any{"ownerId": cur.SourceID}, after)
		err = s.Store.Transact(ctx, "finish reassignment "+job.ID,
			store.Update(t.Reassignment(job.ID), upd).
				If(store.Is("runner", job.Runner).And(store.Is("status", StatusRunning)).
					And(store.Is("done", cur.Done)).And(store.Is("redirected", cur.Redirected))).
				OrFail(errJobChanged),
			store.Delete(t.RunningReassignment(cur.AccountID, cur.SourceID)).If(store.Is("jobId", cur.ID)).OrFail(errJobChanged),
			entry.Write())
		if errors.Is(err, errJobChanged) {
			continue // content was registered for the target meanwhile: count it
		}
		if err != nil {
			return Progress{}, err
		}
		return s.progress(ctx, t, job)
	}
	return Progress{}, apperr.ErrUnavailable
}

// release hands the job back early (budget spent), so the resume job can
// take it over at its next run instead of waiting for the lease to expire.
func (s *Service) release(ctx context.Context, t table.Tenant, job Job) {
	now := s.Clock.Now()
	due := t.DueReassignment(now, job.ID)
	upd := expression.Set(expression.Name("leaseUntil"), expression.Value(now.Unix())).
		Set(expression.Name(table.AttrGSI3PK), expression.Value(due.PK)).
		Set(expression.Name(table.AttrGSI3SK), expression.Value(due.SK))
	// A failure leaves the lease to expire by itself: nothing is lost.
	_ = s.Store.Do(ctx, "release reassignment "+job.ID, store.Update(t.Reassignment(job.ID), upd).
		If(store.Is("runner", job.Runner).And(store.Is("status", StatusRunning))))
}

func (s *Service) progress(ctx context.Context, t table.Tenant, job Job) (Progress, error) {
	cur, ok, err := s.readJob(ctx, t, job.ID)
	if err != nil {
		return Progress{}, err
	}
	if !ok {
		return ProgressOf(job), nil
	}
	return ProgressOf(cur), nil
}

func (s *Service) readJob(ctx context.Context, t table.Tenant, jobID string) (Job, bool, error) {
	var j Job
	if !ids.Valid(jobID) {
		return Job{}, false, nil
	}
	ok, err := s.Store.Get(ctx, t.Reassignment(jobID), &j)
	return j, ok, err
}

// count is how many items the owner has in the account (a COUNT query on
// the owner's index partition: no items are returned).
func (s *Service) count(ctx context.Context, t table.Tenant, accountID, ownerID string) (int64, error) {
	ix := t.ContentByOwner(accountID, ownerID, "")
	kc := expression.Key(table.AttrGSI1PK).Equal(expression.Value(ix.PK)).And(expression.Key(table.AttrGSI1SK).BeginsWith(ix.SK))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return 0, apperr.Internal("build count query", err)
	}
	var n int64
	var start map[string]types.AttributeValue
	for {
		res, err := s.Store.DB.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.Store.Table), IndexName: aws.String(table.GSI1),
			KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
			Select: types.SelectCount, ExclusiveStartKey: start})
		if err != nil {
			return 0, apperr.Internal("count content", err)
		}
		n += int64(res.Count)
		if len(res.LastEvaluatedKey) == 0 {
			return n, nil
		}
		start = res.LastEvaluatedKey
	}
}
