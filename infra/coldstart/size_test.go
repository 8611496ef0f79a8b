package coldstart

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/routes"
)

// maxBinaryMB is the size goal of a stripped function binary, in MB of 10^6
// bytes.
const maxBinaryMB = 12

// Every function binary, stripped, is at most 12 MB: the linux/arm64 build
// `make build` deploys and this machine's build (amd64 binaries are the
// larger). Sizes are deterministic for a given Go and module set, so this is
// a plain assertion, unlike timings.
func TestFunctionBinariesStayUnder12MB(t *testing.T) {
	targets := [][2]string{{"linux", "arm64"}}
	if runtime.GOOS+"/"+runtime.GOARCH != "linux/arm64" {
		targets = append(targets, [2]string{runtime.GOOS, runtime.GOARCH})
	}
	for _, target := range targets {
		dir := build(t, target[0], target[1])
		for _, f := range routes.Functions() {
			mb := megabytes(t, filepath.Join(dir, f))
			if mb > maxBinaryMB {
				t.Errorf("%s/%s %s is %.2f MB stripped, over the %d MB goal: look for what it links "+
					"(go tool nm -size -sort size; go list -deps -tags lambda.norpc ./functions/%s)", target[0], target[1], f, mb, maxBinaryMB, f)
			}
			t.Logf("%s/%s %-18s %5.2f MB", target[0], target[1], f, mb)
		}
	}
}

// forbidden are packages no function binary may link, and why.
var forbidden = map[string]string{
	"text/template": "templates call methods by name through reflection, so the linker keeps every exported method of every type (about 7 MB); write the page or email with strings.Builder and html.EscapeString",
	"html/template": "it imports text/template (see there)",
	"net/rpc":       "build with -tags lambda.norpc, as make build does",
	"github.com/aws/aws-sdk-go-v2/config": "its profile, SSO, web-identity and IMDS providers cost about 40% of a cold start's instructions and 2 MB; " +
		"a function's AWS configuration comes from its environment (app.AWSConfigFromEnv)",
	"testing":           "test code does not belong in a deployed binary",
	"net/http/httptest": "test code does not belong in a deployed binary",
	"github.com/acme/accountadmin/shared/testkit":    "the test kit does not belong in a deployed binary",
	"github.com/acme/accountadmin/infra/local":       "the local stack does not belong in a deployed binary",
	"github.com/acme/accountadmin/infra/local/stack": "the local stack does not belong in a deployed binary",
}

// sesClient is linked only by the functions that send email: its package
// initialisation (the SES endpoint tables, about 76 KiB of heap, and the XML
// decoder) would cost every other function's cold start for nothing.
const sesClient = "github.com/aws/aws-sdk-go-v2/service/ses"

// sendEmail are the functions that send email (main sets app.Deps.Mail).
var sendEmail = []string{"invite", "edit", "auth"}

// kmsClient is linked only by the function that enrols and verifies second
// factors (shared/twofactor/kmsseal): its endpoint tables are 90 KiB of
// init heap.
const kmsClient = "github.com/aws/aws-sdk-go-v2/service/kms"

// sealSecrets are the functions that seal and open TOTP keys.
var sealSecrets = []string{"auth"}

// schemaSerde reports an SDK service package of schema-based serialisation
// (service/<name>/schemas, from service/dynamodb v1.69 and service/kms
// v1.61): its package initialisation builds every shape's schema, 340 KiB
// and 1,900 allocations for KMS alone, in every process that links it. The
// service modules are pinned at the releases before it (go.mod).
func schemaSerde(pkg string) bool {
	return strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/") && strings.HasSuffix(pkg, "/schemas")
}

// No function links a template package (the reason invite and accept were
// 18 MB), the SDK's config loader, an SDK service of schema-based
// serialisation, nor test or local-stack code; only the functions that send
// email link the SES client, only the one that seals secrets links KMS.
func TestFunctionsLinkNoForbiddenPackage(t *testing.T) {
	for _, f := range routes.Functions() {
		out, err := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "../../functions/"+f).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", f, err, out)
		}
		deps := strings.Fields(string(out))
		for pkg, why := range forbidden {
			if slices.Contains(deps, pkg) {
				t.Errorf("%s links %s: %s", f, pkg, why)
			}
		}
		if links, sends := slices.Contains(deps, sesClient), slices.Contains(sendEmail, f); links != sends {
			t.Errorf("%s sends email: %v, links %s: %v; only functions that send email link it (shared/sesmail)", f, sends, sesClient, links)
		}
		if links, seals := slices.Contains(deps, kmsClient), slices.Contains(sealSecrets, f); links != seals {
			t.Errorf("%s seals secrets: %v, links %s: %v; only the function that seals links it (shared/twofactor/kmsseal)", f, seals, kmsClient, links)
		}
		for _, pkg := range deps {
			if schemaSerde(pkg) {
				t.Errorf("%s links %s: schema-based serialisation costs every cold start; pin the service module at the release before it", f, pkg)
			}
		}
	}
}

// Our packages do next to nothing at init: whatever is per process (a
// regexp, a blocklist, a template) is built on first use with sync.Once, so
// a start pays only for what the SDK and the runtime need. The heap bytes
// each package's init allocates (GODEBUG=inittrace=1) are deterministic; a
// single package-level regexp.MustCompile of a name rule such as
// `^[a-z][a-z0-9_-]{0,39}$` allocates about 37 KiB.
func TestOurPackagesAllocateLittleAtInit(t *testing.T) {
	const ours, maxPerPackage = "github.com/acme/accountadmin/", 4 << 10
	dir := buildHere(t)
	for _, f := range routes.Functions() {
		for pkg, heap := range traceInit(t, filepath.Join(dir, f)).packages {
			if strings.HasPrefix(pkg, ours) && heap > maxPerPackage {
				t.Errorf("%s: init of %s allocates %d bytes (at most %d): build it on first use (sync.OnceValue)", f, pkg, heap, maxPerPackage)
			}
		}
	}
}
