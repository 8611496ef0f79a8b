package app

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// appImportPath is this package, the composition root.
const appImportPath = "github.com/acme/accountadmin/shared/app"

// mayImportApp reports whether the package in dir (relative to the
// repository, slash-separated) may import the composition root: a
// function's main package, the tools under infra/, testkit, and app itself.
// Every other package takes service.Deps, so that it does not link what
// the functions build at init.
func mayImportApp(dir string) bool {
	parts := strings.Split(dir, "/")
	switch {
	case len(parts) == 2 && parts[0] == "functions":
		return true
	case parts[0] == "infra":
		return true
	case dir == "shared/testkit", dir == "shared/app":
		return true
	}
	return false
}

// TestOnlyTheWiringImportsApp fails on a non-test file outside the wiring
// that imports shared/app.
func TestOnlyTheWiringImportsApp(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var importers []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == appImportPath {
				rel, _ := filepath.Rel(root, path)
				rel = filepath.ToSlash(rel)
				importers = append(importers, rel)
				if !mayImportApp(filepath.ToSlash(filepath.Dir(rel))) {
					t.Errorf("%s imports shared/app: take service.Deps (the wiring builds it with app.Deps.Service)", rel)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(importers) == 0 {
		t.Fatal("no file imports shared/app: the walk missed the repository")
	}
}

func TestMayImportApp(t *testing.T) {
	cases := map[string]bool{
		"functions/auth":         true,
		"functions/auth/handler": false,
		"infra/local/api":        true,
		"infra/load":             true,
		"shared/testkit":         true,
		"shared/app":             true,
		"shared/administration":  false,
		"shared/routes":          false,
		"events":                 false,
	}
	for dir, want := range cases {
		if got := mayImportApp(dir); got != want {
			t.Errorf("mayImportApp(%q) = %v, want %v", dir, got, want)
		}
	}
}
