package domainevents

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every action the code writes into a change log by name is a detail-type of
// the catalogue, so it has a published schema: a new action without one
// fails here, not in a product team's rule. (Actions passed in a variable
// are covered by the catalogue's own tests of the changes they come from.)
func TestEveryLoggedActionIsADetailType(t *testing.T) {
	call := regexp.MustCompile(`(?:changelog\.New\w*|\.logEntry)\(`)
	action := regexp.MustCompile(`"([a-z_]+\.[a-z_]+)"`)
	seen := 0
	for _, root := range []string{"../../shared", "../../functions"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, at := range call.FindAllIndex(src, -1) {
				args := src[at[1]:min(len(src), at[1]+400)]
				if end := strings.Index(string(args), "\n\n"); end > 0 {
					args = args[:end]
				}
				m := action.FindSubmatch(args)
				if m == nil {
					continue
				}
				seen++
				if _, ok := DetailTypes[string(m[1])]; !ok {
					t.Errorf("%s logs %q, which is not in DetailTypes (add it and events/schemas/%s.json)", path, m[1], m[1])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if seen < 50 {
		t.Fatalf("found only %d logged actions: the scan no longer sees the change-log calls", seen)
	}
}
