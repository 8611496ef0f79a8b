// Package testkit gives integration tests a real store on DynamoDB Local and
// SES local (started by `make test`), a manual clock, a call counter and
// fresh tenants, so tests run in parallel without seeing each other. Nothing
// here imitates DynamoDB: every call goes over the wire to the emulator.
package testkit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/acme/accountadmin/infra/local/stack"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/sesmail"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// Start is the instant every test clock starts at.
var Start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// Env is one test's view of the local stack.
type Env struct {
	app.Deps
	Clock *clock.Manual
	Calls *awsclient.CallCounter
	DB    *dynamodb.Client
	SES   *ses.Client // SES local, from AWS_ENDPOINT_URL_SES; Deps.Mail sends through it
	Logs  *LogBuffer

	quiet quietState // see Session
}

var (
	tableOnce sync.Once
	tableName string
	tableErr  error
)

// EnvSkippedFile names a file to which Require appends the name of each test
// it skips, one a line, so that `make unit` can count them.
const EnvSkippedFile = "TESTKIT_SKIPPED_FILE"

// Require skips the test when the local stack is not running (plain `go
// test`), and fails it under CI, where `make test` must have started it.
func Require(tb testing.TB) {
	tb.Helper()
	if os.Getenv(awsclient.EnvDynamoDBEndpoint) == "" {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is not set: run the tests with `make test`", awsclient.EnvDynamoDBEndpoint)
		}
		if err := recordSkip(os.Getenv(EnvSkippedFile), tb.Name()); err != nil {
			tb.Fatalf("record the skip in %s: %v", EnvSkippedFile, err)
		}
		tb.Skipf("needs DynamoDB Local: run `make test` (%s is not set)", awsclient.EnvDynamoDBEndpoint)
	}
}

// recordSkip appends name to the file at path (nothing when path is empty).
// Each line is one write to a file opened for appending, so the test
// processes of many packages can share the file.
func recordSkip(path, name string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(name + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// New returns an Env with its own clock and call counter, on this test
// process's table (created on first use).
func New(tb testing.TB) *Env {
	tb.Helper()
	Require(tb)
	ctx := context.Background()
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	calls := &awsclient.CallCounter{}
	if _, benchmark := tb.(*testing.B); benchmark {
		calls.CountCapacity() // RCU/op and WCU/op; tests send requests as production does
	}
	db := awsclient.DynamoDB(cfg, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, calls.Attach) })
	tableOnce.Do(func() {
		tableName = fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
		tableErr = stack.CreateTable(ctx, awsclient.DynamoDB(cfg), tableName)
	})
	if tableErr != nil {
		tb.Fatal(tableErr)
	}
	clk := clock.NewManual(Start)
	logs := &LogBuffer{}
	mail := awsclient.SES(cfg)
	e := &Env{
		Deps: app.Deps{
			Config: app.Config{Table: tableName, Sender: "no-reply@test.example", BaseURL: "http://localhost:3000"},
			AWS:    cfg,
			Store:  store.New(db, tableName),
			Mail:   &sesmail.Sender{SES: mail, From: "no-reply@test.example"},
			Clock:  clk,
			IDs:    ids.TimeOrdered{Clock: clk},
			Log:    slog.New(slog.NewJSONHandler(io.MultiWriter(logs, logSink()), &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
		Clock: clk, Calls: calls, DB: db, SES: mail, Logs: logs,
	}
	return e
}

func logSink() io.Writer {
	if os.Getenv("TEST_LOGS") != "" {
		return os.Stderr
	}
	return io.Discard
}

// LogBuffer captures log output so tests can check what was (not) logged.
type LogBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	return len(p), nil
}

// String is everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

// Tenant is a freshly bootstrapped tenant with one account and its admin.
type Tenant struct {
	table.Tenant
	AccountID     string
	AdminID       string
	AdminEmail    string
	AdminPassword string
}

// Password is the password every test user gets.
const Password = "Correct-Horse-7-Battery"

var tenantSeq struct {
	sync.Mutex
	n int
}

// NewTenant bootstraps a tenant no other test uses.
func (e *Env) NewTenant(tb testing.TB) Tenant {
	tb.Helper()
	tenantSeq.Lock()
	tenantSeq.n++
	n := tenantSeq.n
	tenantSeq.Unlock()
	id := fmt.Sprintf("t%d-%s", n, ids.NewSecret()[:10])
	id = sanitize(id)
	email := fmt.Sprintf("admin@%s.example", id)
	c, err := tenancy.Bootstrap{TenantID: id, TenantName: "Tenant " + id, AccountName: "Account of " + id,
		AdminEmail: email, AdminPassword: Password, AdminFirst: "Ada", AdminLast: "Admin"}.Run(context.Background(), e.Store, e.Clock, e.IDs)
	if err != nil {
		tb.Fatalf("bootstrap tenant: %v", err)
	}
	tenantEnvs.Store(c.Tenant.ID(), e)
	return Tenant{Tenant: c.Tenant, AccountID: c.AccountID, AdminID: c.AdminID, AdminEmail: c.Email, AdminPassword: Password}
}

func sanitize(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == '_' || c == '-' {
			out[i] = 'x'
		}
	}
	return "t" + string(out)
}

// User is a test user.
type User struct {
	ID       string
	Email    string
	Password string
}

// AddUser creates an active user who is a member of accountID with roles and
// the default licence (pass licence "-" for none).
func (e *Env) AddUser(tb testing.TB, t Tenant, accountID, email string, licence string, roles ...string) User {
	tb.Helper()
	hash, err := identity.HashPassword(Password)
	if err != nil {
		tb.Fatal(err)
	}
	if len(roles) == 0 {
		roles = []string{access.RoleViewer}
	}
	switch licence {
	case "":
		licence = tenancy.DefaultLicence
	case "-":
		licence = ""
	}
	now := e.Clock.Now()
	u := identity.NewUser(t.Tenant, identity.User{ID: e.IDs.NewID(), Email: email, FirstName: "Test", LastName: "User",
		PasswordHash: hash, Status: identity.UserActive, HomeAccountID: accountID, CreatedAt: now, UpdatedAt: now})
	m := accounts.NewMembership(t.Tenant, accounts.Membership{AccountID: accountID, UserID: u.ID, Email: email, Roles: roles,
		FirstName: u.FirstName, LastName: u.LastName, Licence: licence, CreatedAt: now, UpdatedAt: now})
	err = e.Store.Transact(context.Background(), "add test user",
		store.Put(u).If(store.NotExists()),
		store.Put(identity.NewEmailClaim(t.Tenant, email, u.ID)).If(store.NotExists()),
		store.Put(m).If(store.NotExists()))
	if err != nil {
		tb.Fatalf("add user %s: %v", email, err)
	}
	return User{ID: u.ID, Email: email, Password: Password}
}

// AddAccount creates another account in t (with no members).
func (e *Env) AddAccount(tb testing.TB, t Tenant, name string) string {
	tb.Helper()
	now := e.Clock.Now()
	a := accounts.NewAccount(t.Tenant, accounts.Account{ID: e.IDs.NewID(), Name: name, CreatedAt: now, UpdatedAt: now})
	if err := e.Store.Do(context.Background(), "add test account", store.Put(a).If(store.NotExists())); err != nil {
		tb.Fatal(err)
	}
	return a.ID
}

// AddMembership makes an existing user a member of another account.
func (e *Env) AddMembership(tb testing.TB, t Tenant, accountID, userID, email string, roles ...string) {
	tb.Helper()
	now := e.Clock.Now()
	m := accounts.NewMembership(t.Tenant, accounts.Membership{AccountID: accountID, UserID: userID, Email: email, Roles: roles,
		Licence: tenancy.DefaultLicence, CreatedAt: now, UpdatedAt: now})
	if err := e.Store.Do(context.Background(), "add test membership", store.Put(m)); err != nil {
		tb.Fatal(err)
	}
}

// Items returns every item of a partition, for checking what a change wrote.
func (e *Env) Items(tb testing.TB, pk string) int {
	tb.Helper()
	items, err := e.Store.QueryAll(context.Background(), store.Query{Partition: pk}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return len(items)
}

// TableName is this process's test table.
func (e *Env) TableName() *string { return aws.String(e.Config.Table) }

// AttrString flattens an attribute value to text, for scanning items for
// secrets.
func AttrString(v types.AttributeValue) string {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberSS:
		return strings.Join(x.Value, " ")
	case *types.AttributeValueMemberL:
		var parts []string
		for _, e := range x.Value {
			parts = append(parts, AttrString(e))
		}
		return strings.Join(parts, " ")
	case *types.AttributeValueMemberM:
		var parts []string
		for k, e := range x.Value {
			parts = append(parts, k, AttrString(e))
		}
		return strings.Join(parts, " ")
	default:
		return ""
	}
}

// OnTable moves e to another (existing) table.
func (e *Env) OnTable(name string) {
	e.Config.Table = name
	e.Store = store.New(e.DB, name)
}

// OnOwnTable creates a table of e's own, named after prefix, and moves e to
// it: for tests and benchmarks of the scheduled jobs, which read the due
// index across tenants, so must not share a table with tests whose clocks
// are elsewhere (nor count other benchmarks' items).
func (e *Env) OnOwnTable(ctx context.Context, prefix string) error {
	name := strings.NewReplacer("_", "x", "-", "x").Replace(fmt.Sprintf("%s-%d-%s", prefix, os.Getpid(), strings.ToLower(ids.NewSecret()[:10])))
	if err := stack.CreateTable(ctx, e.DB, name); err != nil {
		return err
	}
	e.OnTable(name)
	return nil
}

// OwnTable is OnOwnTable for a test: a failure ends it.
func (e *Env) OwnTable(tb testing.TB, prefix string) {
	tb.Helper()
	if err := e.OnOwnTable(context.Background(), prefix); err != nil {
		tb.Fatal(err)
	}
}

// Changes reads the change log of account accountID of tenant t and keeps
// the entries of action, oldest first.
func (e *Env) Changes(tb testing.TB, t table.Tenant, accountID, action string) []changelog.Entry {
	tb.Helper()
	items, err := e.Store.QueryAll(context.Background(), store.Query{Partition: t.AccountPartition(accountID), SKPrefix: table.ChangeLogPrefix}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	var all []changelog.Entry
	if err := (store.Page{Items: items}).Decode(&all); err != nil {
		tb.Fatal(err)
	}
	return slices.DeleteFunc(all, func(c changelog.Entry) bool { return c.Action != action })
}
