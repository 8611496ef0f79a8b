// Package stack starts the local stand-ins for AWS: DynamoDB Local (Amazon's
// own emulator, shipped inside the npm package amplify-dynamodb-simulator) and
// aws-ses-v2-local (an SES endpoint with a web inbox). It creates the table
// from the shared schema. Both run as child processes that Stop ends.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/table"
)

// Options say where and how to run the stack.
type Options struct {
	Root        string // the repository root
	DynamoPort  int    // 0 = a free port
	SESPort     int    // 0 = a free port
	KMSPort     int    // 0 = a free port
	SMSPort     int    // 0 = a free port
	DataDir     string // "" = in memory; else DynamoDB Local keeps its data there
	Log         io.Writer
	DynamoFlags []string
}

// Stack is a running local stack.
type Stack struct {
	DynamoEndpoint string
	SESEndpoint    string
	// KMSEndpoint is local-kms, run in this process; TwoFactorKeyID the key
	// that seals second-factor secrets there.
	KMSEndpoint    string
	TwoFactorKeyID string
	// SMSEndpoint is the local SMS outbox (SNS Publish; GET / and /messages).
	SMSEndpoint string
	procs       []*exec.Cmd
	stops       []func()
}

// Start launches DynamoDB Local and SES local and waits until both answer.
func Start(ctx context.Context, o Options) (*Stack, error) {
	var err error
	if o.DynamoPort == 0 {
		if o.DynamoPort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if o.SESPort == 0 {
		if o.SESPort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	s := &Stack{
		DynamoEndpoint: fmt.Sprintf("http://127.0.0.1:%d", o.DynamoPort),
		SESEndpoint:    fmt.Sprintf("http://127.0.0.1:%d", o.SESPort),
	}
	emulator := filepath.Join(o.Root, "infra", "node_modules", "amplify-dynamodb-simulator", "emulator")
	if _, err := os.Stat(filepath.Join(emulator, "DynamoDBLocal.jar")); err != nil {
		return nil, fmt.Errorf("DynamoDB Local not installed (run make deps): %w", err)
	}
	args := []string{"-Djava.library.path=DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar", "-port", strconv.Itoa(o.DynamoPort), "-disableTelemetry"}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("dynamodb data dir: %w", err)
		}
		abs, _ := filepath.Abs(o.DataDir)
		args = append(args, "-dbPath", abs)
	} else {
		args = append(args, "-inMemory")
	}
	args = append(args, o.DynamoFlags...)
	if err := s.spawn(emulator, o.Log, "java", args...); err != nil {
		return nil, err
	}
	ses := filepath.Join(o.Root, "infra", "node_modules", ".bin", "aws-ses-v2-local")
	if err := s.spawn(o.Root, o.Log, ses, "--host", "127.0.0.1", "--port", strconv.Itoa(o.SESPort)); err != nil {
		s.Stop()
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, ep := range []string{s.DynamoEndpoint, s.SESEndpoint + "/store"} {
		if err := waitHTTP(ctx, ep, deadline); err != nil {
			s.Stop()
			return nil, err
		}
	}
	if err := s.startTwoFactor(ctx, o); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// startTwoFactor starts local-kms with the key of second-factor secrets,
// and the local SMS outbox.
func (s *Stack) startTwoFactor(ctx context.Context, o Options) error {
	dir, cleanup, err := kmsDir(o.DataDir)
	if err != nil {
		return fmt.Errorf("local kms dir: %w", err)
	}
	k, ep, err := startKMS(dir, o.KMSPort, o.Log)
	if err != nil {
		cleanup()
		return err
	}
	s.stops = append(s.stops, func() { k.stop(); cleanup() })
	s.KMSEndpoint, s.TwoFactorKeyID = ep, TwoFactorKeyAlias
	if err := EnsureTwoFactorKey(ctx, ep); err != nil {
		return err
	}
	outbox, ep, err := startSMSOutbox(o.SMSPort)
	if err != nil {
		return err
	}
	s.stops = append(s.stops, func() { _ = outbox.srv.Close() })
	s.SMSEndpoint = ep
	return nil
}

func (s *Stack) spawn(dir string, log io.Writer, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	s.procs = append(s.procs, cmd)
	return nil
}

// Stop ends every process the stack started.
func (s *Stack) Stop() {
	for _, p := range s.procs {
		if p.Process != nil {
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		}
	}
	for _, p := range s.procs {
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	s.procs = nil
	for _, stop := range s.stops {
		stop()
	}
	s.stops = nil
}

func waitHTTP(ctx context.Context, url string, deadline time.Time) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not start: %w", url, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// FreePort asks the kernel for an unused loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// CreateTable creates the table from the shared schema unless it exists, and
// waits until it is active.
func CreateTable(ctx context.Context, db *dynamodb.Client, name string) error {
	_, err := db.CreateTable(ctx, table.Schema.CreateTableInput(name))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(db)
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	if err != nil {
		return sameIndexes(ctx, db, name) // it existed already, TTL included
	}
	if _, err := db.UpdateTimeToLive(ctx, table.Schema.TimeToLiveInput(name)); err != nil {
		return fmt.Errorf("enable ttl on %s: %w", name, err)
	}
	return nil
}

// sameIndexes checks that a table kept from an earlier run (make dev keeps
// its data) has every index of the schema, which may have grown since.
func sameIndexes(ctx context.Context, db *dynamodb.Client, name string) error {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", name, err)
	}
	have := map[string]bool{}
	for _, ix := range out.Table.GlobalSecondaryIndexes {
		have[aws.ToString(ix.IndexName)] = true
	}
	for _, ix := range table.Schema.Indexes {
		if !have[ix.Name] {
			return fmt.Errorf("the local table %s has no index %s: it was made by an older version of the schema; "+
				"`make reset` forgets the local data and starts afresh", name, ix.Name)
		}
	}
	return nil
}

// RepoRoot walks up from the working directory to the folder with go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
