// Package coldstart measures what a Lambda cold start costs each function:
// the time from exec to the first "next invocation" request to the Lambda
// runtime API (served here by the test), beside a hello-world aws-lambda-go
// binary and an "SDK floor" binary built the same way, the work done at init
// (GODEBUG=inittrace=1) and the stripped binary's size.
//
// Timing is a benchmark (a report, never pass/fail); what is deterministic is
// tested: every function starts with only its AWS environment and without a
// network call, stays under the size goal, links no template or test code,
// and our packages do next to nothing at init.
package coldstart

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/routes"
)

// Baselines built beside the functions (under testdata/).
const (
	hello     = "hello"     // the smallest aws-lambda-go function
	sdkFloor  = "sdkfloor"  // hello plus the AWS SDK set-up every function does
	netAtInit = "netatinit" // a control that calls the network at init
)

// buildFlags are `make build`'s: no RPC, reproducible paths, stripped, no cgo.
var buildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w"}

type buildResult struct {
	once sync.Once
	dir  string
	err  error
}

var builds sync.Map // "goos/goarch" -> *buildResult

// TestMain removes the build folders (about 130 MB each) when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	builds.Range(func(_, v any) bool {
		if dir := v.(*buildResult).dir; dir != "" {
			_ = os.RemoveAll(dir)
		}
		return true
	})
	os.Exit(code)
}

// build compiles every function as `make build` does for goos/goarch, plus
// the baselines when they can run here, into a temporary folder, once per
// test process. Each binary is named after its folder.
func build(tb testing.TB, goos, goarch string) string {
	tb.Helper()
	v, _ := builds.LoadOrStore(goos+"/"+goarch, &buildResult{})
	r := v.(*buildResult)
	r.once.Do(func() {
		if r.dir, r.err = os.MkdirTemp("", "coldstart-"+goarch+"-"); r.err != nil {
			return
		}
		// One go build for all: the packages compile in parallel.
		args := append([]string{"build"}, buildFlags...)
		args = append(args, "-o", r.dir+"/")
		if goos == runtime.GOOS && goarch == runtime.GOARCH {
			for _, b := range []string{hello, sdkFloor, netAtInit} {
				args = append(args, "./infra/coldstart/testdata/"+b)
			}
		}
		for _, f := range routes.Functions() {
			args = append(args, "./functions/"+f)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
		if out, err := cmd.CombinedOutput(); err != nil {
			r.err = fmt.Errorf("build for %s/%s: %v\n%s", goos, goarch, err, out)
		}
	})
	if r.err != nil {
		tb.Fatal(r.err)
	}
	return r.dir
}

// buildHere builds for this machine, so the binaries can run.
func buildHere(tb testing.TB) string { return build(tb, runtime.GOOS, runtime.GOARCH) }

// runtimeAPI is a minimal Lambda runtime API: it notes when the function
// first asks for an invocation, and keeps it waiting.
type runtimeAPI struct {
	addr  string
	ready chan time.Time
}

func newRuntimeAPI(tb testing.TB) *runtimeAPI {
	tb.Helper()
	r := &runtimeAPI{ready: make(chan time.Time, 1)}
	r.addr = serve(tb, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/2018-06-01/runtime/invocation/next" {
			select {
			case r.ready <- time.Now():
			default:
			}
			<-req.Context().Done() // hold the function at "ready" until it is killed
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	return r
}

// netTrap is an HTTP proxy that answers nothing and records every request
// made through it. The functions get it as HTTP_PROXY and HTTPS_PROXY, which
// the SDK's and net/http's transports honour for every host but loopback
// (the runtime API), so any network call at init shows up here.
type netTrap struct {
	addr string
	mu   sync.Mutex
	hits []string
}

func newNetTrap(tb testing.TB) *netTrap {
	tb.Helper()
	t := &netTrap{}
	t.addr = serve(tb, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		t.mu.Lock()
		t.hits = append(t.hits, req.Method+" "+req.Host)
		t.mu.Unlock()
		w.WriteHeader(http.StatusBadGateway)
	}))
	return t
}

func (t *netTrap) calls() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.hits)
}

// serve serves h on a free loopback port until the test ends.
func serve(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// lambdaEnv is the environment a deployed function gets, and nothing else:
// no local endpoints, no home configuration. proxy, if set, is where any
// network call goes.
func lambdaEnv(runtimeAPI, proxy string) []string {
	env := []string{
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAPI, "AWS_REGION=eu-west-1", "AWS_LAMBDA_FUNCTION_NAME=cold",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_ACCESS_KEY_ID=AKIDCOLDSTART", "AWS_SECRET_ACCESS_KEY=cold",
		"AWS_SESSION_TOKEN=cold", "TABLE_NAME=accountadmin", "SENDER_EMAIL=no-reply@example.com",
		"PUBLIC_BASE_URL=https://api.example.com", "AWS_LAMBDA_LOG_FORMAT=JSON", "HOME=" + os.TempDir(),
		"EVENT_BUS_NAME=accountadmin-events", // publish-events
	}
	if proxy != "" {
		env = append(env, "HTTP_PROXY=http://"+proxy, "HTTPS_PROXY=http://"+proxy)
	}
	return env
}

// start runs one cold start of binary and returns how long it took to become
// ready for its first event. extraEnv is added to the Lambda environment;
// stderr, if not nil, receives the function's standard error.
func start(tb testing.TB, binary, proxy string, stderr *bytes.Buffer, extraEnv ...string) time.Duration {
	tb.Helper()
	api := newRuntimeAPI(tb)
	cmd := exec.Command(binary)
	cmd.Env = append(lambdaEnv(api.addr, proxy), extraEnv...)
	if stderr != nil {
		cmd.Stderr = stderr
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	select {
	case at := <-api.ready:
		return at.Sub(began)
	case err := <-exited:
		exited <- err // for the deferred wait
		tb.Fatalf("%s exited before it was ready: %v", filepath.Base(binary), err)
	case <-time.After(20 * time.Second):
		tb.Fatalf("%s was not ready after 20s", filepath.Base(binary))
	}
	return 0
}

// Every function binary starts with only the environment it gets in AWS and
// reaches "ready for the first event": no missing configuration, no panic
// and no network call at init (caught by a proxy every call goes through).
func TestEveryFunctionStartsCold(t *testing.T) {
	dir := buildHere(t)
	t.Run("control: a network call at init is caught", func(t *testing.T) {
		trap := newNetTrap(t)
		start(t, filepath.Join(dir, netAtInit), trap.addr, nil)
		if got := trap.calls(); len(got) == 0 || !strings.Contains(got[0], "dynamodb.eu-west-1.amazonaws.com") {
			t.Fatalf("the trap did not see the control's call: %v", got)
		}
	})
	for _, f := range append(routes.Functions(), sdkFloor) {
		t.Run(f, func(t *testing.T) {
			trap := newNetTrap(t)
			d := start(t, filepath.Join(dir, f), trap.addr, nil)
			if calls := trap.calls(); len(calls) > 0 {
				t.Fatalf("%s called the network before it was ready: %v", f, calls)
			}
			t.Logf("%s ready after %v", f, d)
		})
	}
}

// initCost is what GODEBUG=inittrace=1 reports for one start: the package
// initialisers' total clock time, heap bytes and allocations, per package.
type initCost struct {
	ms       float64
	bytes    int64
	allocs   int64
	packages map[string]int64 // heap bytes allocated by each package's init
}

// traceInit starts binary once with GODEBUG=inittrace=1 and sums its lines,
// e.g. "init net/http @14 ms, 0.10 ms clock, 4712 bytes, 49 allocs".
func traceInit(tb testing.TB, binary string) initCost {
	tb.Helper()
	var stderr bytes.Buffer
	start(tb, binary, "", &stderr, "GODEBUG=inittrace=1")
	c := initCost{packages: map[string]int64{}}
	sc := bufio.NewScanner(bytes.NewReader(stderr.Bytes()))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" || f[6] != "clock," || f[8] != "bytes," {
			continue
		}
		ms, _ := strconv.ParseFloat(f[4], 64)
		heap, _ := strconv.ParseInt(f[7], 10, 64)
		allocs, _ := strconv.ParseInt(f[9], 10, 64)
		c.ms += ms
		c.bytes += heap
		c.allocs += allocs
		c.packages[f[1]] += heap
	}
	if len(c.packages) == 0 {
		tb.Fatalf("%s printed no init trace:\n%s", filepath.Base(binary), stderr.String())
	}
	return c
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func megabytes(tb testing.TB, path string) float64 {
	tb.Helper()
	st, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return float64(st.Size()) / 1e6
}

// stage copies binary into a new file of its own, written with write(2) as
// unzipping the deployment package writes it, and drops the file from the
// page cache, so that it is read from disk as in a new execution environment.
// How a binary's pages happen to be cached otherwise (written by the linker
// through a memory map, copied, partly reclaimed) moves its start by up to
// 3 ms on this machine, for reasons that have nothing to do with the function
// (BENCHMARKS.md); a fresh copy per run spreads that luck across runs.
func stage(b *testing.B, binary string) string {
	b.Helper()
	data, err := os.ReadFile(binary)
	if err != nil {
		b.Fatal(err)
	}
	staged := filepath.Join(b.TempDir(), filepath.Base(binary))
	if err := os.WriteFile(staged, data, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := dropFromPageCache(staged); err != nil {
		b.Fatal(err)
	}
	return staged
}

// BenchmarkColdStart reports, per function (and for the SDK floor), over
// b.N starts of fresh copies (stage): the median time to ready; the median of the hello-world
// baseline started alternately with it (so load on the machine weighs on
// both alike) and the ratio (goal <= 1.3); the init totals of one
// GODEBUG=inittrace=1 start (less noisy than the timings); and the stripped
// size in MB of this machine's build and of the linux/arm64 build that
// `make build` deploys (goal <= 12). Run it with e.g. -benchtime 15x.
// COLDSTART_ENV (space-separated NAME=value) is added to the environment of
// every start, e.g. COLDSTART_ENV=AWS_XRAY_DAEMON_ADDRESS=169.254.79.129:2000
// for a function with active tracing on.
func BenchmarkColdStart(b *testing.B) {
	extra := strings.Fields(os.Getenv("COLDSTART_ENV"))
	dir := buildHere(b)
	arm := build(b, "linux", "arm64")
	for _, f := range append([]string{sdkFloor}, routes.Functions()...) {
		b.Run(f, func(b *testing.B) {
			bin, base := stage(b, filepath.Join(dir, f)), stage(b, filepath.Join(dir, hello))
			start(b, base, "", nil, extra...) // the first starts read the binaries from disk; not timed
			start(b, bin, "", nil, extra...)
			var ds, hs []time.Duration
			for range b.N {
				hs = append(hs, start(b, base, "", nil, extra...))
				ds = append(ds, start(b, bin, "", nil, extra...))
			}
			d, h := median(ds), median(hs)
			c := traceInit(b, bin)
			b.ReportMetric(float64(d.Microseconds())/1000, "ms-to-ready")
			b.ReportMetric(float64(h.Microseconds())/1000, "hello-ms")
			b.ReportMetric(float64(d)/float64(h), "x-hello")
			b.ReportMetric(c.ms, "init-ms")
			b.ReportMetric(float64(c.bytes)/1024, "init-KiB")
			b.ReportMetric(float64(c.allocs), "init-allocs")
			b.ReportMetric(megabytes(b, bin), "MB")
			if f != sdkFloor {
				b.ReportMetric(megabytes(b, filepath.Join(arm, f)), "arm64-MB")
			}
		})
	}
}
