package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/acme/accountadmin/functions/publish-events/handler"
	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/infra/local/stack"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/domainevents"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// The tests run what `make dev` runs: DynamoDB Local's stream read by the
// local stack's pump (the event source mapping's filter applied), the
// publish-events handler, and the real PutEvents call answered by the local
// event bus, from which the tests read the events. One pump per test
// process, on the process's table, from the stream's start: tests tell their
// events apart by tenant.

const testBus = "accountadmin-test-events"

var (
	pumpOnce sync.Once
	bus      *stack.LocalEventBus
	pumpLogs *testkit.LogBuffer // what the pump and the publisher logged
	pumpErr  = make(chan error, 1)
	faults   = &faultyPutEvents{rules: map[string]*fault{}, calls: map[string][][]string{}}
)

// faultyPutEvents is a fake at the SDK edge: it passes PutEvents to the real
// client (the local event bus) except for the entries a test's fault names,
// which it answers as EventBridge answers a refused entry. It records, per
// tenant, the entry ids of every call.
type faultyPutEvents struct {
	real  domainevents.EventsAPI
	mu    sync.Mutex
	rules map[string]*fault     // by tenant
	calls map[string][][]string // by tenant: the entry ids of each call, in order
}

type fault struct {
	match func(domainevents.Detail) bool
	times int // how many more times to refuse a matching entry
}

func (f *faultyPutEvents) failFor(tenant string, times int, match func(domainevents.Detail) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules[tenant] = &fault{match: match, times: times}
}

func (f *faultyPutEvents) callsOf(tenant string) [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.calls[tenant]...)
}

func (f *faultyPutEvents) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	results := make([]types.PutEventsResultEntry, len(in.Entries))
	var pass []types.PutEventsRequestEntry
	var passIdx []int
	f.mu.Lock()
	perTenant := map[string][]string{}
	for i, e := range in.Entries {
		var d domainevents.Detail
		_ = json.Unmarshal([]byte(aws.ToString(e.Detail)), &d)
		perTenant[d.Tenant] = append(perTenant[d.Tenant], d.ID)
		if r := f.rules[d.Tenant]; r != nil && r.times > 0 && r.match(d) {
			r.times--
			results[i] = types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("injected by the test")}
			continue
		}
		pass, passIdx = append(pass, e), append(passIdx, i)
	}
	for tenant, ids := range perTenant {
		f.calls[tenant] = append(f.calls[tenant], ids)
	}
	f.mu.Unlock()
	failed := int32(len(in.Entries) - len(pass))
	if len(pass) > 0 {
		out, err := f.real.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: pass}, opts...)
		if err != nil {
			return nil, err
		}
		for j, r := range out.Entries {
			results[passIdx[j]] = r
		}
		failed += out.FailedEntryCount
	}
	return &eventbridge.PutEventsOutput{Entries: results, FailedEntryCount: failed}, nil
}

// startPump starts, once per process, the local event bus and the stream
// pump feeding the publish-events handler.
func startPump(t *testing.T, env *testkit.Env) {
	t.Helper()
	pumpOnce.Do(func() {
		if err := stack.EnableStream(context.Background(), env.DB, env.Config.Table); err != nil {
			t.Fatal(err)
		}
		bus = &stack.LocalEventBus{Name: testBus, Log: env.Log}
		srv := httptest.NewServer(bus) // lives as long as the test process
		faults.real = eventbridge.NewFromConfig(env.AWS, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(srv.URL) })
		pub := &domainevents.Publisher{Bus: testBus, Events: faults, Log: env.Log, Backoff: 10 * time.Millisecond}
		pump := &stack.StreamPump{DB: env.DB, Streams: stack.StreamsClient(env.AWS, os.Getenv(awsclient.EnvDynamoDBEndpoint)),
			Table: env.Config.Table, Filter: domainevents.ChangeLogInserts.Matches, Handler: stack.StreamHandler(handler.New(pub)),
			Poll: 20 * time.Millisecond, Log: env.Log}
		pumpLogs = env.Logs
		go func() { pumpErr <- pump.Run(context.Background()) }()
	})
}

// event is an event read back from the local event bus.
type event struct {
	stack.BusEvent
	D domainevents.Detail
}

func eventsOf(tenant string, evs []stack.BusEvent) []event {
	var out []event
	for _, ev := range evs {
		var d domainevents.Detail
		if json.Unmarshal(ev.Detail, &d) == nil && d.Tenant == tenant {
			out = append(out, event{ev, d})
		}
	}
	return out
}

// waitFor waits (up to 30 s) until the tenant's events satisfy done.
func waitFor(t *testing.T, tenant string, done func([]event) bool) []event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []event
	_, err := bus.Wait(ctx, func(evs []stack.BusEvent) bool { got = eventsOf(tenant, evs); return done(got) })
	if err != nil {
		select {
		case perr := <-pumpErr:
			pumpErr <- perr
			t.Errorf("the stream pump stopped: %v", perr)
		default:
		}
		t.Fatalf("%v; the tenant's events so far: %v; the pump's warnings and errors:\n%s", err, actions(got), pumpTrouble())
	}
	return got
}

// pumpTrouble is what the pump and the publisher logged above INFO.
func pumpTrouble() string {
	var out []string
	for _, line := range strings.Split(pumpLogs.String(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			out = append(out, line)
		}
	}
	if len(out) > 20 {
		out = out[len(out)-20:]
	}
	return strings.Join(out, "\n")
}

func having(action, log string) func(event) bool {
	return func(e event) bool { return e.DetailType == action && e.D.Log == log }
}

func count(evs []event, f func(event) bool) int {
	n := 0
	for _, e := range evs {
		if f(e) {
			n++
		}
	}
	return n
}

func actions(evs []event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.DetailType+"/"+e.D.Log)
	}
	return out
}

// world is a tenant behind the local HTTP API, with the pump running.
type world struct {
	env *testkit.Env
	ten testkit.Tenant
	url string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := testkit.New(t)
	startPump(t, env)
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	t.Cleanup(srv.Close)
	return &world{env: env, ten: ten, url: srv.URL}
}

func (w *world) do(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, w.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (w *world) must(t *testing.T, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	status, out := w.do(t, method, path, token, body)
	if status != want {
		t.Fatalf("%s %s: %d, want %d: %v", method, path, status, want, out)
	}
	return out
}

func (w *world) signIn(t *testing.T, email, password string) string {
	t.Helper()
	out := w.must(t, 201, "POST", "/auth/sign-in", "", map[string]string{"tenant": w.ten.ID(), "email": email, "password": password})
	return out["token"].(string)
}

// operator adds a tenant operator at home in the tenant's first account
// and signs them in.
func (w *world) operator(t *testing.T) string {
	t.Helper()
	hash, err := identity.HashPassword(testkit.Password)
	if err != nil {
		t.Fatal(err)
	}
	now := w.env.Clock.Now()
	email := strings.ToLower("ops@" + w.ten.ID() + ".example")
	u := identity.NewUser(w.ten.Tenant, identity.User{ID: w.env.IDs.NewID(), Email: email, FirstName: "Olga", LastName: "Operator",
		PasswordHash: hash, Status: identity.UserActive, Operator: true, HomeAccountID: w.ten.AccountID, CreatedAt: now, UpdatedAt: now})
	if err := w.env.Store.Transact(context.Background(), "add operator",
		store.Put(u).If(store.NotExists()), store.Put(identity.NewEmailClaim(w.ten.Tenant, email, u.ID)).If(store.NotExists())); err != nil {
		t.Fatal(err)
	}
	return w.signIn(t, email, testkit.Password)
}

// find is the first string value under key anywhere in v.
func find(v any, key string) string {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x[key].(string); ok {
			return s
		}
		for _, e := range x {
			if s := find(e, key); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range x {
			if s := find(e, key); s != "" {
				return s
			}
		}
	}
	return ""
}

func tokenOf(acceptURL string) string {
	_, tok, _ := strings.Cut(acceptURL, "token=")
	return tok
}
