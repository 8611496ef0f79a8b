package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/awsclient"
)

// Without the local stack, Require skips the test and appends its name to
// the file `make unit` counts; each skipped test is one line.
func TestRequireRecordsEachSkip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "skipped")
	t.Setenv(awsclient.EnvDynamoDBEndpoint, "")
	t.Setenv("CI", "")
	t.Setenv(EnvSkippedFile, file)
	ran := 0
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			Require(t)
			ran++
		})
	}
	if ran != 0 {
		t.Fatalf("%d tests went on past Require without the local stack", ran)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := "TestRequireRecordsEachSkip/first\nTestRequireRecordsEachSkip/second\n"
	if string(b) != want {
		t.Fatalf("skipped file:\n%s\nwant:\n%s", b, want)
	}
}

// With the local stack, Require records nothing.
func TestRequireRecordsNothingWithTheStack(t *testing.T) {
	file := filepath.Join(t.TempDir(), "skipped")
	t.Setenv(awsclient.EnvDynamoDBEndpoint, "http://127.0.0.1:1")
	t.Setenv(EnvSkippedFile, file)
	Require(t)
	if b, err := os.ReadFile(file); !os.IsNotExist(err) || strings.TrimSpace(string(b)) != "" {
		t.Fatalf("skipped file with the stack: %q, %v", b, err)
	}
}
