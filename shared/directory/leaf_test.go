package directory_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The directory is the read model: the packages that change things load
// what they change through its owner (identity, accounts, access), never
// through shared/directory. Only the non-test files count: a test may read
// back through the directory what a write did.
func TestWritePathDoesNotImportTheDirectory(t *testing.T) {
	const directory = "github.com/acme/accountadmin/shared/directory"
	writers := []string{"administration", "invitations", "associates", "links", "content", "usage", "auth"}
	fset := token.NewFileSet()
	for _, pkg := range writers {
		dir := filepath.Join("..", pkg)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				if path, _ := strconv.Unquote(imp.Path.Value); path == directory {
					t.Errorf("shared/%s/%s imports shared/directory: load the item through its owner", pkg, name)
				}
			}
		}
	}
}
