package table_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
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
	nested := nestedInItems(files)
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
			case *ast.TypeSpec:
				if _, ok := x.Type.(*ast.StructType); ok && nested[f.pkg+"."+x.Name.Name] {
					// A map inside an item (an entry's actor, a settings'
					// licence types): its names are not attributes.
					return false
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
	for _, f := range findings {
		t.Errorf("%s: use the owner's typed read or write instead", f)
	}
}

// file is one parsed Go file and the package folder it is in.
type file struct {
	pkg  string
	path string
	ast  *ast.File
}

// nestedInItems are the named struct types ("shared/changelog.Actor") that
// an item holds as a field (directly, or in a slice, map or pointer), and
// those they hold in turn: they are the shape of a map attribute inside an
// item, so their dynamodbav names are its keys, not top-level attributes.
func nestedInItems(files []file) map[string]bool {
	structs := map[string]*ast.StructType{} // "pkg.Name"
	type typeIn struct {
		expr ast.Expr
		in   file
	}
	others := map[string]typeIn{} // named types that are not structs: type Catalogue []Type
	imports := map[*ast.File]map[string]string{}
	for _, pf := range files {
		pkg, f := pf.pkg, pf.ast
		imports[f] = map[string]string{}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			name := filepath.Base(path)
			if im.Name != nil {
				name = im.Name.Name
			}
			if rel, ok := strings.CutPrefix(path, "github.com/acme/accountadmin/"); ok {
				imports[f][name] = rel
			}
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok {
				for _, s := range g.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok {
						if st, ok := ts.Type.(*ast.StructType); ok {
							structs[pkg+"."+ts.Name.Name] = st
						} else {
							others[pkg+"."+ts.Name.Name] = typeIn{ts.Type, pf}
						}
					}
				}
			}
		}
	}
	fileOf := map[*ast.StructType]file{}
	for _, pf := range files {
		ast.Inspect(pf.ast, func(n ast.Node) bool {
			if st, ok := n.(*ast.StructType); ok {
				fileOf[st] = pf
			}
			return true
		})
	}
	var named func(e ast.Expr, pkg string, f *ast.File) string
	named = func(e ast.Expr, pkg string, f *ast.File) string {
		switch x := e.(type) {
		case *ast.Ident:
			return pkg + "." + x.Name
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				return imports[f][id.Name] + "." + x.Sel.Name
			}
		case *ast.StarExpr:
			return named(x.X, pkg, f)
		case *ast.ArrayType:
			return named(x.Elt, pkg, f)
		case *ast.MapType:
			return named(x.Value, pkg, f)
		}
		return ""
	}
	out := map[string]bool{}
	var visit func(st *ast.StructType)
	visit = func(st *ast.StructType) {
		pf := fileOf[st]
		for _, fl := range st.Fields.List {
			n := named(fl.Type, pf.pkg, pf.ast)
			for hops := 0; others[n].expr != nil && hops < 4; hops++ {
				o := others[n]
				n = named(o.expr, o.in.pkg, o.in.ast)
			}
			if n != "" && structs[n] != nil && !out[n] && !isItem(structs[n]) {
				out[n] = true
				visit(structs[n])
			}
		}
	}
	for _, st := range structs {
		if isItem(st) {
			visit(st)
		}
	}
	return out
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
