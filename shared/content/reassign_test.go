package content_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/content"
	"github.com/acme/accountadmin/shared/store"
)

// Thousands of items move, page by page, with exact progress and one
// change-log entry; nobody else's content is touched.
func TestReassignMovesEverything(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.seed(t, w.source.ID, 2000)
	bystander := w.seed(t, w.ten.AdminID, 3)

	p, err := w.start(ctx, ctx, w.svc, w.target.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != content.StatusDone || p.Total != 2000 || p.Done != 2000 || p.FinishedAt == nil {
		t.Fatalf("progress: %+v", p)
	}
	if got := w.owned(t, w.target.ID); len(got) != 2000 || got[0].ReassignedBy != p.ID || got[0].Version != 2 {
		t.Fatalf("target owns %d (first %+v)", len(got), got[0])
	}
	if got := w.owned(t, w.source.ID); len(got) != 0 {
		t.Fatalf("source still owns %d", len(got))
	}
	if got := w.owned(t, w.ten.AdminID); len(got) != len(bystander) || got[0].Version != 1 {
		t.Fatalf("bystander's content: %+v", got)
	}
	log := w.changes(t, "content.reassigned")
	if len(log) != 1 || log[0].After["moved"] != float64(2000) || log[0].SubjectID != w.source.ID || log[0].Actor.ID != w.ten.AdminID {
		t.Fatalf("change log: %+v", log)
	}
	again, err := w.svc.Progress(ctx, w.admin, p.ID)
	if err != nil || again.Status != p.Status || again.Done != p.Done || again.Total != p.Total || !again.FinishedAt.Equal(*p.FinishedAt) {
		t.Fatalf("GET progress: %+v %v", again, err)
	}
	// The guard is gone: the next reassignment of this user may start.
	if p2, err := w.start(ctx, ctx, w.svc, w.ten.AdminID); err != nil || p2.Status != content.StatusDone || p2.Total != 0 {
		t.Fatalf("a second, empty job: %+v %v", p2, err)
	}
}

// commitThenLose sends a request and, for the chosen call of an operation,
// hands the SDK an error instead of the response: the write happened, the
// caller does not know (a crash right after DynamoDB answered).
type commitThenLose struct {
	next      *awshttp.BuildableClient
	operation string
	failOn    int64
	calls     atomic.Int64
}

func (c *commitThenLose) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	if err != nil || !strings.HasSuffix(req.Header.Get("X-Amz-Target"), "."+c.operation) {
		return resp, err
	}
	if c.calls.Add(1) != c.failOn {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	body := `{"__type":"com.amazon.coral.validate#ValidationException","message":"injected: response lost"}`
	return &http.Response{StatusCode: 400, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": []string{"application/x-amz-json-1.0"}}, Request: req,
		Body: io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body))}, nil
}

// A runner fails halfway, before or after its page was written; the job is
// resumed by the resume job once the lease expires and ends with every item
// moved exactly once and an exact count.
func TestReassignResumesAfterAFailureHalfway(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		committed bool // the failing page was written before the failure
	}{{"the page is not written", false}, {"the page is written, the answer lost", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newIsolatedWorld(t)
			ctx := context.Background()
			w.seed(t, w.source.ID, 400) // 8 pages of 50

			crashing := *w.svc
			if tc.committed {
				// The start and three pages succeed; the fourth is written
				// but its answer lost.
				lose := &commitThenLose{next: awshttp.NewBuildableClient(), operation: "TransactWriteItems", failOn: 5}
				crashing.Store = store.New(awsclient.DynamoDB(w.env.AWS, func(o *dynamodb.Options) { o.HTTPClient = lose }), w.env.Config.Table)
			} else {
				// The start and four pages succeed; the fifth page fails.
				fail := &failNth{next: awshttp.NewBuildableClient(), n: 6}
				crashing.Store = store.New(awsclient.DynamoDB(w.env.AWS, func(o *dynamodb.Options) { o.HTTPClient = fail }), w.env.Config.Table)
			}
			crashing.Access.Store = crashing.Store
			_, err := w.start(ctx, ctx, &crashing, w.target.ID)
			if err == nil {
				t.Fatal("the runner did not fail")
			}
			jobs := w.changes(t, "content.reassigned")
			if len(jobs) != 0 {
				t.Fatalf("a failed run logged the job: %+v", jobs)
			}
			// Halfway: some pages moved, the job still running, nothing lost.
			moved := len(w.owned(t, w.target.ID))
			if moved != 200 || len(w.owned(t, w.source.ID)) != 200 {
				t.Fatalf("halfway: target owns %d", moved)
			}
			// Until the lease expires, the resume job leaves it alone.
			if rep, err := w.svc.ResumeDue(ctx, ctx); err != nil || rep.Due != 0 {
				t.Fatalf("resume within the lease: %+v %v", rep, err)
			}
			w.env.Clock.Advance(content.DefaultLease + time.Second)
			rep, err := w.svc.ResumeDue(ctx, ctx)
			if err != nil || rep.Due != 1 || rep.Finished != 1 {
				t.Fatalf("resume: %+v %v", rep, err)
			}
			if got := w.owned(t, w.target.ID); len(got) != 400 {
				t.Fatalf("target owns %d", len(got))
			}
			log := w.changes(t, "content.reassigned")
			if len(log) != 1 || log[0].After["moved"] != float64(400) || log[0].After["total"] != float64(400) {
				t.Fatalf("change log: %+v", log)
			}
			// Run twice: nothing left to do.
			w.env.Clock.Advance(content.DefaultLease + time.Second)
			if rep, err := w.svc.ResumeDue(ctx, ctx); err != nil || rep.Due != 0 {
				t.Fatalf("resume again: %+v %v", rep, err)
			}
		})
	}
}

// failNth answers the nth TransactWriteItems with a non-retryable error,
// without sending it.
type failNth struct {
	next  *awshttp.BuildableClient
	n     int64
	calls atomic.Int64
}

func (f *failNth) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".TransactWriteItems") && f.calls.Add(1) == f.n {
		body := `{"__type":"com.amazon.coral.validate#ValidationException","message":"injected: crash"}`
		return &http.Response{StatusCode: 400, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": []string{"application/x-amz-json-1.0"}}, Request: req,
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}, nil
	}
	return f.next.Do(req)
}

// A request whose budget runs out leaves the job running; asking again with
// the same target continues it (a retry), another target is refused while
// it runs, and content registered for the source meanwhile goes to the
// target and is counted.
func TestReassignRetryAndContentAddedWhileRunning(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.seed(t, w.source.ID, 120)

	p, err := w.start(ctx, spent(), w.svc, w.target.ID)
	if err != nil || p.Status != content.StatusRunning || p.Done != 0 || p.Total != 120 {
		t.Fatalf("budget spent: %+v %v", p, err)
	}
	if _, err := w.start(ctx, ctx, w.svc, w.ten.AdminID); apperr.KindOf(err) != apperr.KindConflict {
		t.Fatalf("another target while running: %v", err)
	}
	cmd, err := content.RegisterRequest{Type: "report", Name: "Made meanwhile", OwnerID: w.source.ID}.Command(w.admin, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := w.svc.Register(ctx, cmd)
	if err != nil || reg.OwnerID != w.target.ID || reg.RequestedOwnerID != w.source.ID || reg.ReassignedBy != p.ID {
		t.Fatalf("registered while running: %+v %v", reg, err)
	}
	mid, _ := w.svc.Progress(ctx, w.admin, p.ID)
	if mid.Redirected != 1 || mid.Status != content.StatusRunning {
		t.Fatalf("progress meanwhile: %+v", mid)
	}
	// The retry continues the same job to its end.
	done, err := w.start(ctx, ctx, w.svc, w.target.ID)
	if err != nil || done.ID != p.ID || done.Status != content.StatusDone || done.Done != 120 || done.Redirected != 1 {
		t.Fatalf("retry: %+v %v", done, err)
	}
	if got := w.owned(t, w.target.ID); len(got) != 121 {
		t.Fatalf("target owns %d", len(got))
	}
	log := w.changes(t, "content.reassigned")
	if len(log) != 1 || log[0].After["redirected"] != float64(1) || log[0].After["moved"] != float64(120) {
		t.Fatalf("log: %+v", log)
	}
	// After the job, content for the source is the source's again.
	reg, err = w.svc.Register(ctx, cmd)
	if err != nil || reg.OwnerID != w.source.ID || reg.RequestedOwnerID != "" {
		t.Fatalf("registered after: %+v %v", reg, err)
	}
}

// The target must be a member of the account, at the start and on every
// page; a target removed halfway ends the job as failed, with its counts.
func TestReassignTargetMustBeAMember(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.seed(t, w.source.ID, 60)
	stranger := w.env.AddUser(t, w.ten, w.env.AddAccount(t, w.ten, "Elsewhere"), "stranger@"+w.ten.ID()+".example", "")
	_, err := w.start(ctx, ctx, w.svc, stranger.ID)
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindUnprocessable || e.Fields[0].Code != "not_a_member" {
		t.Fatalf("non-member target: %v", err)
	}
	if _, err := w.start(ctx, ctx, w.svc, w.source.ID); apperr.KindOf(err) != apperr.KindUnprocessable {
		t.Fatalf("to oneself: %v", err)
	}
	if len(w.owned(t, w.source.ID)) != 60 {
		t.Fatal("a refused start moved content")
	}
	p, err := w.start(ctx, spent(), w.svc, w.target.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.env.Store.Do(ctx, "remove target", store.Delete(w.ten.Membership(w.ten.AccountID, w.target.ID))); err != nil {
		t.Fatal(err)
	}
	p, err = w.start(ctx, ctx, w.svc, w.target.ID)
	if err != nil || p.Status != content.StatusFailed || p.Reason == "" || p.Done != 0 {
		t.Fatalf("target removed: %+v %v", p, err)
	}
	if log := w.changes(t, "content.reassignment_failed"); len(log) != 1 {
		t.Fatalf("log: %+v", log)
	}
}

// Who may: reassigning needs content.reassign (Admin, or an operator
// switched into the account with a reason) in the account; reading
// progress, membership of it (or support switched in). An operator not
// switched in, or switched into another account, is 403 switch_required.
// Refusals change nothing.
func TestReassignPermissions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.seed(t, w.source.ID, 5)
	second := w.env.AddAccount(t, w.ten, "Second")
	otherAdmin := w.env.AddUser(t, w.ten, second, "admin2@"+w.ten.ID()+".example", "", access.RoleAdmin)
	other := w.env.NewTenant(t)
	callers := []struct {
		name string
		c    access.Caller
		code string
	}{
		{"viewer", access.Caller{Tenant: w.ten.Tenant, UserID: w.target.ID, SessionID: "s", AccountID: w.ten.AccountID, Roles: []string{access.RoleViewer}}, "forbidden"},
		{"admin of another account", access.Caller{Tenant: w.ten.Tenant, UserID: otherAdmin.ID, SessionID: "s", AccountID: second, Roles: []string{access.RoleAdmin}}, "forbidden"},
		{"other tenant's admin", access.Caller{Tenant: other.Tenant, UserID: other.AdminID, SessionID: "s", AccountID: other.AccountID, Roles: []string{access.RoleAdmin}}, "not_found"},
		{"operator not switched", w.operator, "switch_required"},
		{"operator switched into another account", w.supportIn(second), "switch_required"},
	}
	for _, c := range callers {
		cmd := content.StartCommand{Caller: c.c, AccountID: w.ten.AccountID, SourceID: w.source.ID, TargetID: w.target.ID}
		if _, err := w.svc.Start(ctx, ctx, cmd); code(err) != c.code {
			t.Errorf("%s start: %v, want %s", c.name, err, c.code)
		}
	}
	if len(w.owned(t, w.source.ID)) != 5 || len(w.changes(t, "content.reassigned")) != 0 {
		t.Fatal("a refused caller moved content")
	}
	support := w.supportIn(w.ten.AccountID)
	p, err := w.svc.Start(ctx, ctx, content.StartCommand{Caller: support, AccountID: w.ten.AccountID, SourceID: w.source.ID, TargetID: w.target.ID})
	if err != nil || p.Status != content.StatusDone {
		t.Fatalf("operator: %+v %v", p, err)
	}
	want := changelog.Actor{Kind: changelog.ActorSupport, ID: support.UserID, AccountID: w.ten.AccountID, Reason: supportReason}
	if log := w.changes(t, "content.reassigned"); len(log) != 1 || log[0].Actor != want {
		t.Fatalf("support's job log: %+v", log)
	}
	// Progress: the viewer and support switched in read it; the others do not see it.
	for _, c := range []struct {
		name string
		c    access.Caller
		code string
	}{
		{"viewer", callers[0].c, ""},
		{"support switched in", support, ""},
		{"admin of another account", callers[1].c, "forbidden"},
		{"other tenant", callers[2].c, "not_found"},
		{"operator not switched", w.operator, "switch_required"},
	} {
		if _, err := w.svc.Progress(ctx, c.c, p.ID); code(err) != c.code {
			t.Errorf("%s progress: %v, want %q", c.name, err, c.code)
		}
	}
	if _, err := w.svc.Progress(ctx, w.admin, "nope"); apperr.KindOf(err) != apperr.KindNotFound {
		t.Errorf("unknown job: %v", err)
	}
}

// Retries racing each other (and the resume job) over one job: one runner
// at a time, every item moved once, one change-log entry.
func TestConcurrentRetriesRunTheJobOnce(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t)
	ctx := context.Background()
	w.seed(t, w.source.ID, 300)
	p, err := w.start(ctx, spent(), w.svc, w.target.ID)
	if err != nil || p.Status != content.StatusRunning {
		t.Fatalf("start: %+v %v", p, err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				_, err = w.start(ctx, ctx, w.svc, w.target.ID)
			} else {
				_, err = w.svc.ResumeDue(ctx, ctx)
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	final, err := w.svc.Progress(ctx, w.admin, p.ID)
	if err != nil || final.Status != content.StatusDone || final.Done != 300 {
		t.Fatalf("final: %+v %v", final, err)
	}
	if got := w.owned(t, w.target.ID); len(got) != 300 {
		t.Fatalf("target owns %d", len(got))
	}
	if log := w.changes(t, "content.reassigned"); len(log) != 1 {
		t.Fatalf("%d change-log entries", len(log))
	}
}
