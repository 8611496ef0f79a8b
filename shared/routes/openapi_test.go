package routes

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The OpenAPI document describes exactly the routes of Table: these tests
// fail when a route is added without its documentation, or documented
// without being routed, or when the two disagree on authentication.

const openAPIFile = "openapi.json"

// bearerScheme is the security scheme of routes that need a caller (Auth).
const bearerScheme = "bearer"

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

type openAPIOperation struct {
	OperationID string                 `json:"operationId"`
	Function    string                 `json:"x-function"`
	Security    *[]map[string][]string `json:"security"`
	Parameters  []openAPIParameter     `json:"parameters"`
	Responses   map[string]any         `json:"responses"`
}

type openAPIParameter struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

// openAPIMethods are the path item keys that are operations.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func readOpenAPI(t *testing.T) (openAPIDoc, map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatalf("read %s: %v", openAPIFile, err)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("decode %s: %v", openAPIFile, err)
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatalf("decode %s: %v", openAPIFile, err)
	}
	return doc, tree
}

// operations is every documented operation by route key ("POST /auth/sign-in").
func operations(t *testing.T, doc openAPIDoc) map[string]openAPIOperation {
	t.Helper()
	ops := map[string]openAPIOperation{}
	for path, item := range doc.Paths {
		for key, raw := range item {
			if !slices.Contains(openAPIMethods, key) {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("decode %s %s: %v", key, path, err)
			}
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops
}

func TestOpenAPIDocumentsExactlyTheRouteTable(t *testing.T) {
	// GIVEN the route table and the OpenAPI document
	doc, _ := readOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	ops := operations(t, doc)
	routed := map[string]Route{}
	for _, r := range Table {
		routed[r.Key()] = r
	}
	// THEN every route is documented, with its function
	for _, r := range Table {
		op, ok := ops[r.Key()]
		if !ok {
			t.Errorf("%s is routed but missing from %s", r.Key(), openAPIFile)
			continue
		}
		if op.Function != r.Function {
			t.Errorf("%s: x-function = %q, want %q", r.Key(), op.Function, r.Function)
		}
		if op.OperationID == "" || len(op.Responses) == 0 {
			t.Errorf("%s: needs an operationId and responses", r.Key())
		}
		// AND its operationId is the row's Op, the name its handler
		// registers under
		if op.OperationID != r.Op {
			t.Errorf("%s: operationId = %q, but its row's Op is %q", r.Key(), op.OperationID, r.Op)
		}
	}
	// AND nothing is documented that is not routed
	var extra []string
	for key := range ops {
		if _, ok := routed[key]; !ok {
			extra = append(extra, key)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("%s documents routes that routes.Table does not have: %v", openAPIFile, extra)
	}
}

func TestOpenAPISecurityFollowsAuth(t *testing.T) {
	// GIVEN the document's bearer scheme
	doc, _ := readOpenAPI(t)
	s, ok := doc.Components.SecuritySchemes[bearerScheme]
	if !ok || s.Type != "http" || !strings.EqualFold(s.Scheme, "bearer") {
		t.Fatalf("components.securitySchemes.%s = %+v, want an http bearer scheme", bearerScheme, s)
	}
	ops := operations(t, doc)
	for _, r := range Table {
		op, ok := ops[r.Key()]
		if !ok {
			continue // reported by TestOpenAPIDocumentsExactlyTheRouteTable
		}
		// THEN each operation says explicitly whether it needs the bearer
		if op.Security == nil {
			t.Errorf("%s: no security declared; want %s", r.Key(), wantSecurity(r))
			continue
		}
		sec := *op.Security
		switch {
		case r.Auth && !(len(sec) == 1 && len(sec[0]) == 1 && sec[0][bearerScheme] != nil):
			t.Errorf("%s needs a caller: security = %v, want %s", r.Key(), sec, wantSecurity(r))
		case !r.Auth && len(sec) != 0:
			t.Errorf("%s is public: security = %v, want %s", r.Key(), sec, wantSecurity(r))
		}
		// AND authorized operations document the refusal of a missing or
		// refused session: 401
		if r.Auth && op.Responses["401"] == nil {
			t.Errorf("%s: needs a caller but has no 401 response", r.Key())
		}
	}
}

func wantSecurity(r Route) string {
	if r.Auth {
		return `[{"` + bearerScheme + `": []}]`
	}
	return "[]"
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIPathParametersAreDeclared(t *testing.T) {
	// GIVEN documented paths with {parameters}
	doc, tree := readOpenAPI(t)
	for path, item := range doc.Paths {
		var pathLevel []openAPIParameter
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &pathLevel); err != nil {
				t.Fatalf("%s parameters: %v", path, err)
			}
		}
		for key, raw := range item {
			if !slices.Contains(openAPIMethods, key) {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("decode %s %s: %v", key, path, err)
			}
			declared := map[string]bool{}
			for _, p := range append(slices.Clone(pathLevel), op.Parameters...) {
				if p.Ref != "" {
					resolved, ok := resolveRef(tree, p.Ref).(map[string]any)
					if !ok {
						t.Errorf("%s %s: parameter %s does not resolve", key, path, p.Ref)
						continue
					}
					p.Name, _ = resolved["name"].(string)
					p.In, _ = resolved["in"].(string)
					p.Required, _ = resolved["required"].(bool)
				}
				if p.In == "path" && p.Required {
					declared[p.Name] = true
				}
			}
			// THEN each is a required path parameter of every operation
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s %s: path parameter %q is not declared (in: path, required: true)", strings.ToUpper(key), path, m[1])
				}
			}
		}
	}
}

func TestOpenAPIReferencesResolve(t *testing.T) {
	// GIVEN every $ref of the document THEN it points at something in it
	_, tree := readOpenAPI(t)
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok && resolveRef(tree, ref) == nil {
				t.Errorf("%s: $ref %q does not resolve", at, ref)
			}
			for k, e := range x {
				walk(at+"/"+k, e)
			}
		case []any:
			for _, e := range x {
				walk(at+"[]", e)
			}
		}
	}
	walk("#", tree)
}

// resolveRef follows a local JSON pointer ("#/components/schemas/Problem").
func resolveRef(tree map[string]any, ref string) any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = tree
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[part]; !ok {
			return nil
		}
	}
	return cur
}
