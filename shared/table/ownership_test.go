package table_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Every item type has one owning package: the package that declares its
// struct (the struct with a `dynamodbav:"PK"` field) alone knows its
// attribute names. A literal attribute name of an owned item in another
// package (in expression.Name, expression.Key, store.Is, or a struct tag) is
// a second writer or reader of that item by hand; GSI names belong to this
// package. The generic attributes every item has (keys, type, version,
// ttl) and the packages generic over items (exempt) are exempt.
func TestAttributeNamesStayWithTheirOwner(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	type file struct {
		pkg  string
		path string
		ast  *ast.File
	}
	var files []file
	for _, dir := range []string{"shared", "functions"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			files = append(files, file{pkg: filepath.ToSlash(rel), path: path, ast: f})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// The owners: attribute name → the packages declaring an item with it.
	owners := map[string][]string{}
	for _, f := range files {
		ast.Inspect(f.ast, func(n ast.Node) bool {
			st, ok := n.(*ast.StructType)
			if !ok || !isItem(st) {
				return true
			}
			for _, name := range tagNames(st) {
				if !slices.Contains(owners[name], f.pkg) {
					owners[name] = append(owners[name], f.pkg)
				}
			}
			return true
		})
	}
	gsi := regexp.MustCompile(`^GSI[0-9]+(PK|SK)?$`)
	var findings []string
	report := func(f file, pos token.Pos, what string) {
		p := fset.Position(pos)
		rel, _ := filepath.Rel(root, p.Filename)
		findings = append(findings, filepath.ToSlash(rel)+": "+what)
	}
	foreign := func(pkg, name string) bool {
		if generic[name] || exempt[pkg] {
			return false
		}
		own, ok := owners[name]
		return ok && !slices.Contains(own, pkg)
	}
	for _, f := range files {
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BasicLit:
				if x.Kind == token.STRING && !exempt[f.pkg] {
					if s, err := strconv.Unquote(x.Value); err == nil && gsi.MatchString(s) {
						report(f, x.Pos(), "index name "+strconv.Quote(s)+" outside shared/table")
					}
				}
			case *ast.CallExpr:
				if name, ok := attributeCall(x); ok && foreign(f.pkg, name) {
					report(f, x.Pos(), "attribute "+strconv.Quote(name)+" of an item owned by "+strings.Join(owners[name], ", "))
				}
			case *ast.StructType:
				if isItem(x) {
					return true
				}
				for _, name := range tagNames(x) {
					if foreign(f.pkg, name) {
						report(f, x.Pos(), "struct tag "+strconv.Quote(name)+" of an item owned by "+strings.Join(owners[name], ", "))
					}
				}
			}
			return true
		})
	}
	sort.Strings(findings)
	// The findings not yet moved to their owners are listed, one per line,
	// in testdata/foreign-attributes.txt: a new one fails, and so does a
	// listed one that is gone (take it off the list), so the list only
	// shrinks.
	raw, err := os.ReadFile(filepath.Join("testdata", "foreign-attributes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]int{}
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			known[line]++
		}
	}
	for _, f := range findings {
		if known[f] > 0 {
			known[f]--
			continue
		}
		t.Errorf("%s: use the owner's typed read or write instead", f)
	}
	for f, n := range known {
		if n > 0 {
			t.Errorf("%s (%d): no longer found: take it off testdata/foreign-attributes.txt", f, n)
		}
	}
	if os.Getenv("OWNERSHIP_LIST") != "" {
		fmt.Println(strings.Join(findings, "\n"))
	}
}

// generic are the attributes of every item, which shared/store and the
// key builders handle for all of them.
var generic = map[string]bool{"PK": true, "SK": true, "type": true, "version": true, "ttl": true}

// exempt are the packages generic over items: the store, the keys and
// schema, and the test kit (which builds fixtures of every item).
var exempt = map[string]bool{"shared/store": true, "shared/table": true, "shared/testkit": true}

// isItem reports whether a struct is an item: it has the partition key.
func isItem(st *ast.StructType) bool { return slices.Contains(tagNames(st), "PK") }

// tagNames are the dynamodbav names of a struct's fields.
func tagNames(st *ast.StructType) []string {
	var out []string
	for _, fl := range st.Fields.List {
		if fl.Tag == nil {
			continue
		}
		raw, err := strconv.Unquote(fl.Tag.Value)
		if err != nil {
			continue
		}
		name, _, _ := strings.Cut(reflect.StructTag(raw).Get("dynamodbav"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// attributeCall is the literal attribute name a call names:
// expression.Name("x"), expression.Key("x"), store.Is("x", v).
func attributeCall(c *ast.CallExpr) (string, bool) {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || len(c.Args) == 0 {
		return "", false
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return "", false
	}
	switch {
	case pkg.Name == "expression" && (sel.Sel.Name == "Name" || sel.Sel.Name == "Key"),
		pkg.Name == "store" && sel.Sel.Name == "Is":
	default:
		return "", false
	}
	lit, ok := c.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
