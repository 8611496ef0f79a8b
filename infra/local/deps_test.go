package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The tests of deps.sh (what `make deps` runs) give it a PATH of fake tools,
// each a shell script the test writes, beside links to the few system
// utilities the script uses, so that the machine's real java, node, go,
// apt-get and sudo are out of its sight.

// depsFakes is a PATH directory for one run of deps.sh.
type depsFakes struct {
	t   *testing.T
	dir string
	log string // each fake apt-get, apt-cache and sudo appends its arguments here
}

func newDepsFakes(t *testing.T) *depsFakes {
	t.Helper()
	f := &depsFakes{t: t, dir: t.TempDir()}
	f.log = filepath.Join(t.TempDir(), "installer-calls")
	for _, tool := range []string{"sh", "awk", "sed", "grep", "sort", "tail", "dirname", "id", "env", "chmod"} {
		real, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("deps.sh needs %s: %v", tool, err)
		}
		if err := os.Symlink(real, filepath.Join(f.dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	// A fake installer that would be seen if deps.sh tried to install.
	for _, tool := range []string{"apt-get", "apt-cache", "sudo"} {
		f.fake(tool, `echo "`+tool+` $*" >>`+f.log)
	}
	return f
}

// fake writes an executable named tool running script.
func (f *depsFakes) fake(tool, script string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, tool), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		f.t.Fatal(err)
	}
}

// tools writes fake java, node, npm and go reporting these versions.
func (f *depsFakes) tools(java, node, npm, goVersion string) {
	f.fake("java", `echo 'openjdk version "`+java+`" 2025-04-15' >&2`)
	f.fake("node", "echo v"+node)
	f.fake("npm", "echo "+npm)
	f.fake("go", "echo go version go"+goVersion+" linux/amd64")
}

// run runs deps.sh with the tools named, as Debian or not, as root or not.
func (f *depsFakes) run(debian, root bool, tools ...string) (int, string) {
	f.t.Helper()
	debianFile := filepath.Join(f.t.TempDir(), "debian_version")
	if debian {
		if err := os.WriteFile(debianFile, []byte("12.11\n"), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	uid := "1000"
	if root {
		uid = "0"
	}
	cmd := exec.Command(filepath.Join(f.dir, "sh"), append([]string{"deps.sh"}, tools...)...)
	cmd.Env = []string{"PATH=" + f.dir, "HOME=" + f.t.TempDir(), "DEPS_DEBIAN_VERSION_FILE=" + debianFile, "DEPS_UID=" + uid}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			f.t.Fatalf("run deps.sh: %v", err)
		}
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func (f *depsFakes) installerCalls() string {
	b, err := os.ReadFile(f.log)
	if err != nil && !os.IsNotExist(err) {
		f.t.Fatal(err)
	}
	return string(b)
}

// neededVersions reads, independently of deps.sh, the Go version go.mod
// names and the lowest Node.js every engines field of the npm lock admits.
func neededVersions(t *testing.T) (goNeeded, nodeNeeded string) {
	t.Helper()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	goNeeded = string(m[1])
	raw, err := os.ReadFile("../../infra/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Engines json.RawMessage `json:"engines"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(raw, &lock); err != nil {
		t.Fatal(err)
	}
	first := regexp.MustCompile(`[0-9]+(\.[0-9]+)*`)
	var best []int
	for _, p := range lock.Packages {
		var engines struct{ Node string }
		if json.Unmarshal(p.Engines, &engines) != nil {
			continue // some old packages give engines as a list
		}
		v := first.FindString(engines.Node)
		if v == "" {
			continue
		}
		if parts := versionParts(v); versionLess(best, parts) {
			best, nodeNeeded = parts, v
		}
	}
	if nodeNeeded == "" {
		t.Fatal("no engines field names a Node.js version")
	}
	return goNeeded, nodeNeeded
}

func versionParts(v string) []int {
	var parts []int
	for _, s := range strings.Split(v, ".") {
		n := 0
		for _, c := range s {
			n = n*10 + int(c-'0')
		}
		parts = append(parts, n)
	}
	return parts
}

func versionLess(a, b []int) bool {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// Tools too old are refused, each with the version it needs, even where
// deps.sh may install (Debian, root) but Debian has nothing new enough.
func TestDepsRefusesToolsTooOld(t *testing.T) {
	goNeeded, nodeNeeded := neededVersions(t)
	f := newDepsFakes(t)
	f.tools("11.0.2", "16.20.0", "6.14.18", "1.20.14")
	code, out := f.run(false, false, "java", "node", "go")
	if code == 0 {
		t.Fatalf("deps.sh accepted old tools:\n%s", out)
	}
	for _, want := range []string{
		"java 11.0.2 is too old: need java 17 or later",
		"node 16.20.0 is too old: need node " + nodeNeeded + " or later",
		"npm 6.14.18 is too old: need npm 7 or later",
		"go 1.20.14 is too old: need go " + goNeeded + " or later",
		"https://go.dev/dl/",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if calls := f.installerCalls(); calls != "" {
		t.Errorf("deps.sh tried to install without being root on Debian:\n%s", calls)
	}
}

// New enough tools pass, and nothing is installed although deps.sh could
// (Debian, root).
func TestDepsAcceptsToolsNewEnough(t *testing.T) {
	goNeeded, nodeNeeded := neededVersions(t)
	f := newDepsFakes(t)
	f.tools("17.0.15", nodeNeeded, "10.9.2", goNeeded)
	f.fake("gcc", "exit 0")
	f.fake("zip", "exit 0")
	code, out := f.run(true, true, "java", "node", "go", "gcc", "zip")
	if code != 0 {
		t.Fatalf("deps.sh refused new enough tools (exit %d):\n%s", code, out)
	}
	if calls := f.installerCalls(); calls != "" {
		t.Errorf("deps.sh tried to install although every tool was there:\n%s", calls)
	}
}

// Off Debian and not root, missing tools are named with what to install,
// and no installer is run.
func TestDepsSaysWhatToInstallWhenNotDebianNorRoot(t *testing.T) {
	goNeeded, nodeNeeded := neededVersions(t)
	f := newDepsFakes(t)
	code, out := f.run(false, false, "java", "node", "go", "gcc")
	if code == 0 {
		t.Fatalf("deps.sh passed with no tools:\n%s", out)
	}
	for _, want := range []string{
		"java is missing: need java 17 or later. Install a Java 17+ runtime",
		"node is missing: need node " + nodeNeeded + " or later. Install Node.js " + nodeNeeded + "+ with npm",
		"go is missing: need go " + goNeeded + " or later. Install Go " + goNeeded + "+ from https://go.dev/dl/",
		"gcc is missing: need gcc. Install a C compiler",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if calls := f.installerCalls(); calls != "" {
		t.Errorf("deps.sh ran an installer off Debian and not root:\n%s", calls)
	}
}

// On Debian as root, a missing tool is installed with apt-get when Debian's
// package is new enough, and not when it is too old (Go).
func TestDepsInstallsOnDebianAsRootOnlyWhatIsNewEnough(t *testing.T) {
	goNeeded, _ := neededVersions(t)
	f := newDepsFakes(t)
	f.fake("apt-cache", `case "$2" in
openjdk-17-jre-headless) echo '  Candidate: 17.0.15+6-1~deb12u1' ;;
golang-go) echo '  Candidate: 2:1.19~1' ;;
esac`)
	// apt-get install of the JRE leaves a java on the PATH.
	f.fake("apt-get", `echo "apt-get $*" >>`+f.log+`
case "$*" in *openjdk-17-jre-headless*) printf '#!/bin/sh\necho "openjdk version \\"17.0.15\\"" >&2\n' >"$(dirname "$0")/java"; chmod +x "$(dirname "$0")/java" ;; esac`)
	code, out := f.run(true, true, "java", "go")
	if code == 0 {
		t.Fatalf("deps.sh passed although Debian's Go is too old:\n%s", out)
	}
	calls := f.installerCalls()
	if !strings.Contains(calls, "apt-get install -y -qq openjdk-17-jre-headless") {
		t.Errorf("the JRE was not installed; installer calls:\n%s", calls)
	}
	if strings.Contains(calls, "golang-go") {
		t.Errorf("Debian's Go 1.19 was installed although go.mod needs %s:\n%s", goNeeded, calls)
	}
	if strings.Contains(out, "java is missing") || !strings.Contains(out, "go is missing: need go "+goNeeded) {
		t.Errorf("want only Go reported missing:\n%s", out)
	}
}
