// Package coldstart measures what a Lambda cold start costs each function:
// the time from exec to the first "next invocation" request to the Lambda
// runtime API (served here by the test), beside a hello-world aws-lambda-go
// binary built the same way, and the stripped binary's size.
package coldstart

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/routes"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// build compiles every function and the baseline as `make build` does
// (-tags lambda.norpc, -trimpath, stripped, no cgo), for this machine's
// architecture so they can run here.
func build(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "coldstart-")
		if buildErr != nil {
			return
		}
		// One go build for all: the packages compile in parallel and each
		// binary is named after its folder.
		args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", binDir + "/", "./infra/coldstart/testdata/hello"}
		for _, f := range routes.Functions() {
			args = append(args, "./functions/"+f)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build functions: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binDir
}

// runtimeAPI is a minimal Lambda runtime API: it notes when the function
// first asks for an invocation, and keeps it waiting.
type runtimeAPI struct {
	addr  string
	ready chan time.Time
	srv   *http.Server
}

func newRuntimeAPI(tb testing.TB) *runtimeAPI {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &runtimeAPI{addr: ln.Addr().String(), ready: make(chan time.Time, 1)}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/2018-06-01/runtime/invocation/next" {
			select {
			case r.ready <- time.Now():
			default:
			}
			<-req.Context().Done() // hold the function at "ready" until it is killed
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})}
	go func() { _ = r.srv.Serve(ln) }()
	tb.Cleanup(func() { _ = r.srv.Close() })
	return r
}

// startToReady runs one cold start of binary and returns how long it took to
// become ready for its first event.
func startToReady(tb testing.TB, binary string) time.Duration {
	tb.Helper()
	api := newRuntimeAPI(tb)
	cmd := exec.Command(binary)
	// The environment a deployed function gets; no local endpoints, so any
	// network call at init would show.
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + api.addr, "AWS_REGION=eu-west-1", "AWS_LAMBDA_FUNCTION_NAME=cold",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_ACCESS_KEY_ID=AKIDCOLDSTART", "AWS_SECRET_ACCESS_KEY=cold",
		"TABLE_NAME=accountadmin", "SENDER_EMAIL=no-reply@example.com", "PUBLIC_BASE_URL=https://api.example.com",
		"AWS_LAMBDA_LOG_FORMAT=JSON", "HOME=" + os.TempDir(),
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case at := <-api.ready:
		return at.Sub(start)
	case err := <-exited:
		tb.Fatalf("%s exited before it was ready: %v", filepath.Base(binary), err)
	case <-time.After(20 * time.Second):
		tb.Fatalf("%s was not ready after 20s", filepath.Base(binary))
	}
	return 0
}

// Every function binary starts with only the environment it gets in AWS and
// reaches "ready for the first event": no missing configuration, no panic
// and no blocking network call at init.
func TestEveryFunctionStartsCold(t *testing.T) {
	dir := build(t)
	for _, f := range routes.Functions() {
		t.Run(f, func(t *testing.T) {
			d := startToReady(t, filepath.Join(dir, f))
			t.Logf("%s ready after %v", f, d)
		})
	}
}

// BenchmarkColdStart reports, per function, the median time to ready, its
// ratio to the hello-world baseline (goal <= 1.3) and the stripped binary's
// size in MB (goal <= 12).
func BenchmarkColdStart(b *testing.B) {
	dir := build(b)
	median := func(binary string, n int) time.Duration {
		var ds []time.Duration
		for range n {
			ds = append(ds, startToReady(b, binary))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	const runs = 15
	hello := median(filepath.Join(dir, "hello"), runs)
	for _, f := range routes.Functions() {
		b.Run(f, func(b *testing.B) {
			var d time.Duration
			for i := 0; i < b.N; i++ {
				d = median(filepath.Join(dir, f), runs)
			}
			st, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(d.Microseconds())/1000, "ms-to-ready")
			b.ReportMetric(float64(hello.Microseconds())/1000, "hello-ms")
			b.ReportMetric(float64(d)/float64(hello), "x-hello")
			b.ReportMetric(float64(st.Size())/1e6, "MB")
		})
	}
}
