// Command local runs the service on one machine, with no AWS account:
//
//	local dev              DynamoDB Local (data kept under .local/), SES local with its
//	                       inbox, the table, a seeded demo tenant, the local HTTP API and
//	                       the schedules and the local clock (POST /_local/clock); Ctrl-C
//	                       stops everything it started.
//	local test -- CMD...   DynamoDB Local (in memory) and SES local on free ports, then
//	                       CMD with their endpoints in the environment; exits with CMD's code.
//	local bootstrap ...    create a tenant, its first account and admin in the table named
//	                       by TABLE_NAME (in AWS: the deployed table, with your credentials).
//	local backfill -tenant T
//	                       repair one tenant's items written by older versions (idempotent).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/infra/local/stack"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/backfill"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/sesmail"
	"github.com/acme/accountadmin/shared/sms"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/twofactor/kmsseal"
)

// The demo tenant that `make dev` seeds.
const (
	demoTenant   = "demo"
	demoEmail    = "admin@demo.test"
	demoPassword = "Tangerine-Harbor-42"
	demoAccount  = "Demo Company"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: local dev [flags] | local test -- command [args]")
		os.Exit(2)
	}
	var err error
	code := 0
	switch os.Args[1] {
	case "dev":
		err = dev(os.Args[2:])
	case "test":
		code, err = test(os.Args[2:])
	case "bootstrap":
		err = bootstrap(os.Args[2:])
	case "backfill":
		err = backfillCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func dev(args []string) error {
	fs := flag.NewFlagSet("dev", flag.ExitOnError)
	port := fs.Int("port", 3000, "HTTP API port")
	dynamoPort := fs.Int("dynamodb-port", 8000, "DynamoDB Local port")
	sesPort := fs.Int("ses-port", 8005, "SES local port (its inbox is served there too)")
	smsPort := fs.Int("sms-port", 8006, "local SMS outbox port (its page and GET /messages)")
	data := fs.String("data", ".local/dynamodb", "where DynamoDB Local keeps its data")
	every := fs.Duration("schedule", time.Minute, "how often the scheduled jobs run")
	eventsPort := fs.Int("events-port", 4010, "the local event bus's port (PutEvents; its events are also at the API's /_local/events)")
	webhook := fs.String("events-webhook", os.Getenv("EVENTS_WEBHOOK"), "POST each domain event to this URL (or set EVENTS_WEBHOOK)")
	_ = fs.Parse(args)
	if err := checkPorts([]portUse{{"HTTP API", *port, "port"}, {"DynamoDB Local", *dynamoPort, "dynamodb-port"},
		{"SES local", *sesPort, "ses-port"}, {"local SMS outbox", *smsPort, "sms-port"}}); err != nil {
		return err
	}

	root, err := stack.RepoRoot()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logFile, err := os.Create(filepath.Join(root, ".local", "emulators.log"))
	if err != nil {
		if err := os.MkdirAll(filepath.Join(root, ".local"), 0o755); err != nil {
			return err
		}
		if logFile, err = os.Create(filepath.Join(root, ".local", "emulators.log")); err != nil {
			return err
		}
	}
	defer logFile.Close()
	st, err := stack.Start(ctx, stack.Options{Root: root, DynamoPort: *dynamoPort, SESPort: *sesPort, SMSPort: *smsPort,
		DataDir: filepath.Join(root, *data), Log: logFile})
	if err != nil {
		return err
	}
	defer st.Stop()

	base := fmt.Sprintf("http://localhost:%d", *port)
	setenv(map[string]string{
		awsclient.EnvDynamoDBEndpoint: st.DynamoEndpoint,
		awsclient.EnvSESEndpoint:      st.SESEndpoint,
		"TABLE_NAME":                  "accountadmin",
		"SENDER_EMAIL":                "no-reply@demo.test",
		"SENDER_NAME":                 "Acme (local)",
		"REPLY_TO_INVITER":            "true",
		"PUBLIC_BASE_URL":             base,
		"AWS_LAMBDA_LOG_FORMAT":       "JSON",
		kmsseal.EnvKMSEndpoint:        st.KMSEndpoint,
		kmsseal.EnvKeyID:              st.TwoFactorKeyID,
		sms.EnvEndpoint:               st.SMSEndpoint,
		sms.EnvSenderID:               "DemoAdmin",
	})
	eventBus, err := startEventBus(ctx, *eventsPort, *webhook)
	if err != nil {
		return err
	}
	deps, err := app.FromEnv(ctx)
	if err != nil {
		return err
	}
	deps.Mail = sesmail.New(deps.AWS, deps.Config.Sender).With(sesmail.Options{Name: deps.Config.SenderName, ConfigurationSet: deps.Config.ConfigurationSet}) // invite, edit and auth send email
	// One settable clock for every function and job (POST /_local/clock),
	// starting at real time on each run.
	localClock := clock.NewLocal(clock.System{})
	deps.Clock, deps.IDs = localClock, ids.TimeOrdered{Clock: localClock}
	deps.Log = httpapi.NewLogger(os.Stdout) // the functions' own logger: the lines production writes
	if err := stack.CreateTable(ctx, awsclient.DynamoDB(deps.AWS), deps.Config.Table); err != nil {
		return err
	}
	if err := seed(ctx, deps.Store, deps.Clock, deps.IDs); err != nil {
		return err
	}
	if err := startPublishEvents(ctx, deps, st.DynamoEndpoint); err != nil {
		return err
	}
	srv := api.New(deps)
	httpSrv := &http.Server{Addr: fmt.Sprintf(":%d", *port), Handler: withEvents(srv, eventBus), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", httpSrv.Addr)
	if err != nil {
		return fmt.Errorf("listen on %d: %w", *port, err)
	}
	go srv.RunSchedules(ctx, *every)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(shut)
	}()
	fmt.Printf(`
Account administration service, running locally.

  HTTP API     %s
  Inbox (SES)  %s
  SMS outbox   %s
  DynamoDB     %s  (table %s, data in %s)

  Sign in as the demo tenant's admin:
    tenant    %s
    email     %s
    password  %s

  curl -s -X POST %s/auth/sign-in -H 'content-type: application/json' \
    -d '{"tenant":"%s","email":"%s","password":"%s"}'

  Domain events (the local event bus): %s%s

  Jobs and time (local only):
    curl -X POST %s/_local/run/expire-invitations
    curl -X POST %s/_local/clock -d '{"advance":"8d"}'   (or {"set":"<RFC 3339 instant>"}; GET shows it)

Ctrl-C stops everything.
`, base, st.SESEndpoint, st.SMSEndpoint, st.DynamoEndpoint, deps.Config.Table, *data, demoTenant, demoEmail, demoPassword,
		base, demoTenant, demoEmail, demoPassword, base+stack.EventsPath, webhookNote(*webhook), base, base)
	if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Println("\nstopped.")
	return nil
}

// seed bootstraps the demo tenant once; later runs find it and keep it.
func seed(ctx context.Context, s *store.Store, clk clock.Clock, gen ids.Generator) error {
	_, err := tenancy.Bootstrap{TenantID: demoTenant, TenantName: "Demo", AccountName: demoAccount,
		AdminEmail: demoEmail, AdminPassword: demoPassword, AdminFirst: "Ada", AdminLast: "Admin", Operator: true}.Run(ctx, s, clk, gen)
	if e, ok := apperr.As(err); ok && e.Code == "tenant_exists" {
		return nil
	}
	return err
}

func test(args []string) (int, error) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return 2, errors.New("test needs a command to run")
	}
	root, err := stack.RepoRoot()
	if err != nil {
		return 1, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var log io.Writer = io.Discard
	if os.Getenv("LOCAL_STACK_LOG") != "" {
		log = os.Stderr
	}
	st, err := stack.Start(ctx, stack.Options{Root: root, Log: log})
	if err != nil {
		return 1, err
	}
	defer st.Stop()
	fmt.Fprintf(os.Stderr, "local stack: DynamoDB Local %s, SES local %s, local-kms %s, local SMS outbox %s\n",
		st.DynamoEndpoint, st.SESEndpoint, st.KMSEndpoint, st.SMSEndpoint)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		awsclient.EnvDynamoDBEndpoint+"="+st.DynamoEndpoint,
		awsclient.EnvSESEndpoint+"="+st.SESEndpoint,
		"AWS_REGION=us-east-1",
		kmsseal.EnvKMSEndpoint+"="+st.KMSEndpoint,
		kmsseal.EnvKeyID+"="+st.TwoFactorKeyID,
		sms.EnvEndpoint+"="+st.SMSEndpoint,
	)
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

// bootstrap creates a tenant with its first account and admin. The password
// is read from ADMIN_PASSWORD so it never lands in shell history.
func bootstrap(args []string) error {
	fs := flag.NewFlagSet("bootstrap", flag.ExitOnError)
	tenant := fs.String("tenant", "", "tenant id (letters, digits, dashes)")
	name := fs.String("tenant-name", "", "tenant display name")
	account := fs.String("account", "", "name of the first account")
	email := fs.String("email", "", "the admin's email")
	first := fs.String("first-name", "", "the admin's first name")
	last := fs.String("last-name", "", "the admin's last name")
	operator := fs.Bool("operator", false, "the admin is also a tenant operator (support staff)")
	_ = fs.Parse(args)
	password := os.Getenv("ADMIN_PASSWORD")
	if *tenant == "" || *account == "" || *email == "" || password == "" {
		return errors.New("bootstrap needs -tenant, -account, -email and ADMIN_PASSWORD in the environment")
	}
	ctx := context.Background()
	deps, err := tableDeps(ctx)
	if err != nil {
		return err
	}
	c, err := tenancy.Bootstrap{TenantID: *tenant, TenantName: *name, AccountName: *account, AdminEmail: *email,
		AdminPassword: password, AdminFirst: *first, AdminLast: *last, Operator: *operator}.Run(ctx, deps.Store, deps.Clock, deps.IDs)
	if err != nil {
		return err
	}
	fmt.Printf("tenant %s: account %s, admin %s (%s)\n", c.Tenant.ID(), c.AccountID, c.AdminID, c.Email)
	return nil
}

// backfillCmd runs the one-off repairs of items older versions wrote
// (shared/backfill) on one tenant of the table named by TABLE_NAME.
func backfillCmd(args []string) error {
	fs := flag.NewFlagSet("backfill", flag.ExitOnError)
	tenant := fs.String("tenant", "", "the tenant whose old items to repair")
	_ = fs.Parse(args)
	t, err := table.ForTenant(*tenant)
	if err != nil {
		return fmt.Errorf("backfill -tenant: %w", err)
	}
	ctx := context.Background()
	deps, err := tableDeps(ctx)
	if err != nil {
		return err
	}
	svc := backfill.Service{Store: deps.Store, Clock: deps.Clock, IDs: deps.IDs}
	return svc.Run(ctx, t, os.Stdout)
}

// tableDeps builds what a command on the table needs, with the developer's
// credentials (profile, SSO...), not a function's.
func tableDeps(ctx context.Context) (app.Deps, error) {
	awsCfg, err := awsclient.Load(ctx)
	if err != nil {
		return app.Deps{}, err
	}
	return app.FromAWSConfig(ctx, awsCfg)
}

func setenv(m map[string]string) {
	for k, v := range m {
		_ = os.Setenv(k, v)
	}
}
