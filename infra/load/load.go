package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/infra/local/stack"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/sesmail"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/usage"
)

// DefaultDuration is how long the clients run unless told otherwise.
const DefaultDuration = 60 * time.Second

// Options of a load run.
type Options struct {
	Clients  int
	Duration time.Duration
	Accounts int    // accounts of the tenant; client i is an Admin of account i mod Accounts
	URL      string // an API already running; "" starts one in-process
	// Tasks is the seeded tenant's allowance of the "tasks" metric per
	// billing period, small so that usage records reach it (429) in a run.
	Tasks int64
}

// password is every seeded user's password.
const password = "Load-Test-Harbor-42"

// Intended reports whether a status is an expected answer under load: 2xx,
// 409 (a conflict, e.g. an invitation raced), 412 (an If-Match that another
// client's edit made stale) and 429 (a usage limit or an invitation rate
// limit reached). Anything else is an error.
func Intended(status int) bool {
	return status >= 200 && status < 300 || status == http.StatusConflict ||
		status == http.StatusPreconditionFailed || status == http.StatusTooManyRequests
}

// Run starts (or uses) the API, seeds a tenant, signs every client in, runs
// the clients for o.Duration and reports. progress gets what happens
// before the run and any 5xx the handlers log.
func Run(ctx context.Context, o Options, progress io.Writer) (*Report, error) {
	if o.Clients < 1 || o.Accounts < 1 || o.Duration <= 0 || o.Tasks < 1 {
		return nil, errors.New("clients, accounts, duration and tasks must be positive")
	}
	deps, base, stop, err := start(ctx, o, progress)
	if err != nil {
		return nil, err
	}
	defer stop()
	began := time.Now()
	users, ten, err := seed(ctx, deps, o)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(progress, "load: seeded tenant %s: %d accounts, %d users (%.1fs)\n", ten.ID(), o.Accounts, len(users), time.Since(began).Seconds())

	httpc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 2 * o.Clients, MaxIdleConnsPerHost: 2 * o.Clients, IdleConnTimeout: time.Minute}}
	clients := make([]*client, len(users))
	for i, u := range users {
		clients[i] = &client{http: httpc, base: base, tenant: ten.ID(), user: u, rng: rand.New(rand.NewPCG(uint64(i), uint64(began.UnixNano())))}
	}
	// Sign in first, a few at a time: argon2id takes 19 MiB and tens of
	// milliseconds per sign-in, by design.
	began = time.Now()
	if err := parallel(ctx, clients, 8, func(c *client) error { return c.signIn(ctx, nil) }); err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	fmt.Fprintf(progress, "load: %d clients signed in (%.1fs); running for %s\n", len(clients), time.Since(began).Seconds(), o.Duration)

	began = time.Now()
	deadline := began.Add(o.Duration)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				c.step(ctx)
			}
		}()
	}
	wg.Wait()
	rep := newReport(o.Clients, time.Since(began))
	for _, c := range clients {
		rep.add(c.samples)
	}
	return rep, ctx.Err()
}

// start returns the dependencies to seed with and the API's address: the
// API started in-process on a free port over a fresh table, or o.URL.
func start(ctx context.Context, o Options, progress io.Writer) (app.Deps, string, func(), error) {
	if os.Getenv(awsclient.EnvDynamoDBEndpoint) == "" && o.URL == "" {
		return app.Deps{}, "", nil, fmt.Errorf("%s is not set: run it with `make load` (or go run ./infra/local test -- go run ./infra/load)", awsclient.EnvDynamoDBEndpoint)
	}
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		return app.Deps{}, "", nil, err
	}
	tableName := os.Getenv("TABLE_NAME")
	if o.URL == "" {
		tableName = fmt.Sprintf("load-%d", time.Now().UnixNano())
	} else if tableName == "" {
		return app.Deps{}, "", nil, errors.New("with -url, TABLE_NAME must name the API's table (the seed is written there)")
	}
	db := awsclient.DynamoDB(cfg)
	clk := clock.System{}
	deps := app.Deps{
		Config: app.Config{Table: tableName, Sender: "no-reply@load.example", BaseURL: "http://localhost"},
		AWS:    cfg, Store: store.New(db, tableName), Mail: sesmail.New(cfg, "no-reply@load.example"), Clock: clk, IDs: ids.TimeOrdered{Clock: clk},
		// Handlers log bad input, conflicts and limits at Warn: only what
		// went wrong inside (5xx) is worth printing here.
		Log: slog.New(slog.NewJSONHandler(progress, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	if o.URL != "" {
		return deps, strings.TrimSuffix(o.URL, "/"), func() {}, nil
	}
	if err := stack.CreateTable(ctx, db, tableName); err != nil {
		return app.Deps{}, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return app.Deps{}, "", nil, err
	}
	base := "http://" + ln.Addr().String()
	deps.Config.BaseURL = base
	srv := &http.Server{Handler: api.New(deps), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return deps, base, func() {
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}, nil
}

// user is a seeded user: an Admin of one account.
type user struct {
	ID, Email, AccountID string
}

// seed bootstraps a tenant with o.Accounts accounts and one Admin user per
// client (with the tenant's default licence), written directly to the
// table; every user shares one password hash, computed once. The tenant's
// allowance of tasks is o.Tasks.
func seed(ctx context.Context, d app.Deps, o Options) ([]user, table.Tenant, error) {
	id := fmt.Sprintf("load%d", time.Now().UnixNano()%1e12)
	created, err := tenancy.Bootstrap{TenantID: id, TenantName: "Load " + id, AccountName: "Load account 0",
		AdminEmail: "admin@" + id + ".example", AdminPassword: password, AdminFirst: "Lee", AdminLast: "Load"}.Run(ctx, d.Store, d.Clock, d.IDs)
	if err != nil {
		return nil, table.Tenant{}, err
	}
	t := created.Tenant
	hash, err := identity.HashPassword(password)
	if err != nil {
		return nil, t, err
	}
	now := d.Clock.Now()
	// A small allowance, so usage records reach the limit (429) during a run.
	if err := usage.SaveAllowances(ctx, d.Store, t, "", map[string]usage.Allowance{"tasks": {Limit: o.Tasks}}, now); err != nil {
		return nil, t, err
	}
	accountIDs := []string{created.AccountID}
	for i := 1; i < o.Accounts; i++ {
		a := accounts.NewAccount(t, accounts.Account{ID: d.IDs.NewID(), Name: fmt.Sprintf("Load account %d", i), CreatedAt: now, UpdatedAt: now})
		if err := d.Store.Do(ctx, "seed account", store.Put(a).If(store.NotExists())); err != nil {
			return nil, t, err
		}
		accountIDs = append(accountIDs, a.ID)
	}
	users := make([]user, o.Clients)
	for i := range users {
		users[i] = user{ID: d.IDs.NewID(), Email: fmt.Sprintf("client-%d@%s.example", i, id), AccountID: accountIDs[i%len(accountIDs)]}
	}
	err = parallel(ctx, users, 16, func(u user) error {
		uu := identity.NewUser(t, identity.User{ID: u.ID, Email: u.Email, FirstName: "Client", LastName: "Load", PasswordHash: hash,
			Status: identity.UserActive, HomeAccountID: u.AccountID, CreatedAt: now, UpdatedAt: now})
		m := accounts.NewMembership(t, accounts.Membership{AccountID: u.AccountID, UserID: u.ID, Email: u.Email,
			FirstName: uu.FirstName, LastName: uu.LastName, Roles: []string{access.RoleAdmin}, Licence: tenancy.DefaultLicence, CreatedAt: now, UpdatedAt: now})
		return d.Store.Transact(ctx, "seed user", store.Put(uu).If(store.NotExists()),
			store.Put(identity.NewEmailClaim(t, u.Email, u.ID)).If(store.NotExists()), store.Put(m).If(store.NotExists()))
	})
	return users, t, err
}

// parallel runs fn on every item, at most n at a time, and returns the first error.
func parallel[T any](ctx context.Context, items []T, n int, fn func(T) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	sem := make(chan struct{}, n)
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(it); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// An operation of the mix, with its weight (out of 100): about 80% reads.
type operation struct {
	name   string
	weight int
	run    func(c *client, ctx context.Context) (int, string)
}

var mix = []operation{
	{"GET /me", 16, func(c *client, ctx context.Context) (int, string) { return c.do(ctx, "GET", "/me", nil, nil) }},
	{"GET /accounts", 12, func(c *client, ctx context.Context) (int, string) {
		return c.do(ctx, "GET", "/accounts?limit=25", nil, nil)
	}},
	{"GET /accounts/{id}", 20, (*client).getAccount},
	{"GET /accounts/{id}/users", 14, func(c *client, ctx context.Context) (int, string) {
		return c.do(ctx, "GET", "/accounts/"+c.user.AccountID+"/users?limit=25", nil, nil)
	}},
	{"GET /accounts/{id}/usage", 10, func(c *client, ctx context.Context) (int, string) {
		return c.do(ctx, "GET", "/accounts/"+c.user.AccountID+"/usage", nil, nil)
	}},
	{"GET /accounts/{id}/content", 8, func(c *client, ctx context.Context) (int, string) {
		return c.do(ctx, "GET", "/accounts/"+c.user.AccountID+"/content?limit=25", nil, nil)
	}},
	{"PATCH /accounts/{id}", 6, (*client).renameAccount},
	{"POST /accounts/{id}/usage", 5, func(c *client, ctx context.Context) (int, string) {
		return c.do(ctx, "POST", "/accounts/"+c.user.AccountID+"/usage", map[string]any{"metric": "tasks", "amount": 1 + c.rng.IntN(5)}, c.idempotent())
	}},
	{"POST /accounts/{id}/invitations", 4, func(c *client, ctx context.Context) (int, string) {
		to := fmt.Sprintf("invitee-%s@load.example", strings.ToLower(ids.NewSecret()[:12]))
		return c.do(ctx, "POST", "/accounts/"+c.user.AccountID+"/invitations", map[string]any{"emails": []string{to}, "sendEmail": false}, nil)
	}},
	{"POST /accounts/{id}/content", 4, func(c *client, ctx context.Context) (int, string) {
		body := map[string]any{"type": "automation", "name": fmt.Sprintf("Load automation %d", c.rng.IntN(1e6)), "ownerId": c.user.ID}
		return c.do(ctx, "POST", "/accounts/"+c.user.AccountID+"/content", body, c.idempotent())
	}},
	{"POST /auth/sign-in", 1, func(c *client, ctx context.Context) (int, string) {
		var status int
		var body string
		_ = c.signIn(ctx, func(s int, b string) { status, body = s, b })
		return status, body
	}},
}

// client is one simulated user with its own session.
type client struct {
	http    *http.Client
	base    string
	tenant  string
	user    user
	token   string
	etag    string // of the account, from the last read or edit
	rng     *rand.Rand
	samples []sample
}

// sample is one request's outcome.
type sample struct {
	op      string
	status  int // 0: no response (a transport error)
	elapsed time.Duration
	body    string // kept only when the status is not intended
}

// step runs one operation picked by weight and records it.
func (c *client) step(ctx context.Context) {
	n := c.rng.IntN(100)
	op := mix[len(mix)-1]
	for _, o := range mix {
		if n < o.weight {
			op = o
			break
		}
		n -= o.weight
	}
	began := time.Now()
	status, body := op.run(c, ctx)
	s := sample{op: op.name, status: status, elapsed: time.Since(began)}
	if !Intended(status) {
		s.body = body
	}
	c.samples = append(c.samples, s)
}

func (c *client) idempotent() http.Header {
	return http.Header{"Idempotency-Key": {"load-" + ids.NewSecret()[:24]}}
}

// do sends one request with the client's session and returns the status and
// body (a transport error is status 0 with the error as body).
func (c *client) do(ctx context.Context, method, path string, body any, header http.Header) (int, string) {
	resp, text, err := c.send(ctx, method, path, body, header)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, text
}

func (c *client) send(ctx context.Context, method, path string, body any, header http.Header) (*http.Response, string, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, "", err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	return resp, string(b), nil
}

// signIn gets the client a new session; seen, when given, gets the outcome.
func (c *client) signIn(ctx context.Context, seen func(status int, body string)) error {
	saved := c.token
	c.token = ""
	resp, text, err := c.send(ctx, "POST", "/auth/sign-in", map[string]string{"tenant": c.tenant, "email": c.user.Email, "password": password}, nil)
	c.token = saved
	if seen != nil {
		if err != nil {
			seen(0, err.Error())
		} else {
			seen(resp.StatusCode, text)
		}
	}
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("sign-in of %s: %d %s", c.user.Email, resp.StatusCode, text)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(text), &out); err != nil || out.Token == "" {
		return fmt.Errorf("sign-in of %s: no token in %s", c.user.Email, text)
	}
	c.token = out.Token
	return nil
}

func (c *client) getAccount(ctx context.Context) (int, string) {
	resp, text, err := c.send(ctx, "GET", "/accounts/"+c.user.AccountID, nil, nil)
	if err != nil {
		return 0, err.Error()
	}
	if resp.StatusCode == http.StatusOK {
		c.etag = resp.Header.Get("ETag")
	}
	return resp.StatusCode, text
}

// renameAccount edits the account's name with the ETag of the client's last
// read: when another client of the same account renamed it meanwhile, the
// answer is 412 and the next read refreshes the ETag.
func (c *client) renameAccount(ctx context.Context) (int, string) {
	if c.etag == "" {
		if status, body := c.getAccount(ctx); status != http.StatusOK {
			return status, body
		}
	}
	name := fmt.Sprintf("Load account %d", c.rng.IntN(1e6))
	resp, text, err := c.send(ctx, "PATCH", "/accounts/"+c.user.AccountID, map[string]string{"name": name}, http.Header{"If-Match": {c.etag}})
	if err != nil {
		return 0, err.Error()
	}
	if resp.StatusCode == http.StatusOK {
		c.etag = resp.Header.Get("ETag")
	}
	return resp.StatusCode, text
}

// Report is the outcome of a run.
type Report struct {
	Clients  int
	Elapsed  time.Duration
	Ops      map[string][]time.Duration // latencies by operation
	Statuses map[string]map[int]int     // by operation, then status
	Errors   []string                   // up to 10 unexpected answers, as "op: status body"
	ErrCount int
}

func newReport(clients int, elapsed time.Duration) *Report {
	return &Report{Clients: clients, Elapsed: elapsed, Ops: map[string][]time.Duration{}, Statuses: map[string]map[int]int{}}
}

func (r *Report) add(samples []sample) {
	for _, s := range samples {
		r.Ops[s.op] = append(r.Ops[s.op], s.elapsed)
		if r.Statuses[s.op] == nil {
			r.Statuses[s.op] = map[int]int{}
		}
		r.Statuses[s.op][s.status]++
		if !Intended(s.status) {
			r.ErrCount++
			if len(r.Errors) < 10 {
				r.Errors = append(r.Errors, fmt.Sprintf("%s: %d %.300s", s.op, s.status, s.body))
			}
		}
	}
}

// Requests is how many requests the clients made.
func (r *Report) Requests() int {
	n := 0
	for _, d := range r.Ops {
		n += len(d)
	}
	return n
}

// Err is non-nil when any answer was not intended (or nothing ran).
func (r *Report) Err() error {
	switch {
	case r.Requests() == 0:
		return errors.New("no request was made")
	case r.ErrCount > 0:
		return fmt.Errorf("%d unexpected answers, e.g. %s", r.ErrCount, r.Errors[0])
	}
	return nil
}

// Print writes the report: throughput, latency percentiles overall and per
// operation, and counts by status.
func (r *Report) Print(w io.Writer) {
	secs := r.Elapsed.Seconds()
	fmt.Fprintf(w, "%d clients for %.1fs: %d requests, %.1f req/s, %d unexpected\n\n", r.Clients, secs, r.Requests(), float64(r.Requests())/secs, r.ErrCount)
	fmt.Fprintf(w, "%-32s %7s %8s %8s %8s %8s  %s\n", "operation", "count", "req/s", "p50 ms", "p90 ms", "p99 ms", "statuses")
	var all []time.Duration
	total := map[int]int{}
	names := make([]string, 0, len(r.Ops))
	for name, d := range r.Ops {
		names = append(names, name)
		all = append(all, d...)
		for s, n := range r.Statuses[name] {
			total[s] += n
		}
	}
	sort.Strings(names)
	line := func(name string, d []time.Duration, statuses map[int]int) {
		slices.Sort(d)
		fmt.Fprintf(w, "%-32s %7d %8.1f %8.1f %8.1f %8.1f  %s\n", name, len(d), float64(len(d))/secs,
			ms(percentile(d, 50)), ms(percentile(d, 90)), ms(percentile(d, 99)), statusList(statuses))
	}
	line("all", all, total)
	for _, name := range names {
		line(name, r.Ops[name], r.Statuses[name])
	}
	for _, e := range r.Errors {
		fmt.Fprintln(w, "unexpected:", e)
	}
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func statusList(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for s := range m {
		keys = append(keys, s)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, s := range keys {
		parts[i] = fmt.Sprintf("%d×%d", s, m[s])
	}
	return strings.Join(parts, " ")
}
