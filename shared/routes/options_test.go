package routes

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The OpenAPI document tells a client everything the route table promises
// about each route: these tests fail when a route's option is changed in
// Table without its documentation, or documented without being in Table.

func TestOpenAPIDocumentsEveryRouteOption(t *testing.T) {
	// GIVEN the route table and the document's operations, $refs resolved
	_, tree := readOpenAPI(t)
	ops := documentedOperations(t, tree)
	for _, r := range Table {
		op, ok := ops[r.Key()]
		if !ok {
			continue // reported by TestOpenAPIDocumentsExactlyTheRouteTable
		}
		for _, problem := range optionMismatches(r, op) {
			t.Errorf("%s: %s", r.Key(), problem)
		}
	}
}

// optionMismatches lists what op documents differently from r's options.
func optionMismatches(r Route, op documentedOperation) []string {
	var out []string
	want := func(ok bool, format string, args ...any) {
		if !ok {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	// THEN a route that takes a body documents it and its 413, and one
	// that takes none documents no body
	want(r.BodyLimit == 0 || op.hasBody, "BodyLimit %d but no requestBody", r.BodyLimit)
	want(r.BodyLimit == 0 || op.hasResponse("413"), "BodyLimit %d but no 413 response", r.BodyLimit)
	want(r.BodyLimit > 0 || !op.hasBody, "documents a requestBody but BodyLimit is 0 (the handler reads no body)")
	// AND Idempotency-Key is documented exactly where it is honoured
	want(!r.Idempotent || op.hasHeader("Idempotency-Key"), "Idempotent but no Idempotency-Key header parameter")
	want(r.Idempotent || !op.hasHeader("Idempotency-Key"), "documents Idempotency-Key but is not Idempotent")
	// AND If-Match, with its 412, exactly where it is read
	want(!r.IfMatch || op.hasHeader("If-Match"), "IfMatch but no If-Match header parameter")
	want(!r.IfMatch || op.hasResponse("412"), "IfMatch but no 412 response")
	want(r.IfMatch || !op.hasHeader("If-Match"), "documents If-Match but IfMatch is false")
	// AND a route that needs a caller says so and documents its refusal
	want(!r.Auth || op.bearer, "Auth but no bearer security requirement")
	want(!r.Auth || op.hasResponse("401"), "Auth but no 401 response")
	// AND a no-store route's every success says Cache-Control: no-store
	if r.NoStore {
		for _, status := range op.successes() {
			want(op.noStore(status), "NoStore but its %s response has no Cache-Control header of value no-store", status)
		}
	}
	return out
}

// documentedOperation is what the options are checked against in one
// operation of the document.
type documentedOperation struct {
	hasBody   bool
	bearer    bool
	headers   []string                     // header parameters (operation and path level)
	responses map[string]map[string]any    // by status, resolved
	resHeader map[string]map[string]string // by status: header name -> its schema const
}

func (o documentedOperation) hasResponse(status string) bool { return o.responses[status] != nil }

func (o documentedOperation) hasHeader(name string) bool {
	return slices.ContainsFunc(o.headers, func(h string) bool { return strings.EqualFold(h, name) })
}

func (o documentedOperation) successes() []string {
	var out []string
	for status := range o.responses {
		if strings.HasPrefix(status, "2") {
			out = append(out, status)
		}
	}
	slices.Sort(out)
	return out
}

func (o documentedOperation) noStore(status string) bool {
	for name, value := range o.resHeader[status] {
		if strings.EqualFold(name, "Cache-Control") && value == "no-store" {
			return true
		}
	}
	return false
}

// documentedOperations reads every operation of the document by route key.
func documentedOperations(t *testing.T, tree map[string]any) map[string]documentedOperation {
	t.Helper()
	paths, _ := tree["paths"].(map[string]any)
	out := map[string]documentedOperation{}
	for path, rawItem := range paths {
		item, _ := deref(tree, rawItem).(map[string]any)
		pathParams, _ := item["parameters"].([]any)
		for method, rawOp := range item {
			if !slices.Contains(openAPIMethods, method) {
				continue
			}
			op, _ := deref(tree, rawOp).(map[string]any)
			d := documentedOperation{responses: map[string]map[string]any{}, resHeader: map[string]map[string]string{}}
			_, d.hasBody = op["requestBody"]
			opParams, _ := op["parameters"].([]any)
			for _, p := range append(slices.Clone(pathParams), opParams...) {
				param, _ := deref(tree, p).(map[string]any)
				if name, _ := param["name"].(string); param["in"] == "header" {
					d.headers = append(d.headers, name)
				}
			}
			if sec, ok := op["security"].([]any); ok {
				for _, req := range sec {
					if m, _ := req.(map[string]any); m[bearerScheme] != nil {
						d.bearer = true
					}
				}
			}
			responses, _ := op["responses"].(map[string]any)
			for status, rawResp := range responses {
				resp, _ := deref(tree, rawResp).(map[string]any)
				d.responses[status] = resp
				d.resHeader[status] = map[string]string{}
				headers, _ := resp["headers"].(map[string]any)
				for name, rawHeader := range headers {
					h, _ := deref(tree, rawHeader).(map[string]any)
					schema, _ := deref(tree, h["schema"]).(map[string]any)
					value, _ := schema["const"].(string)
					d.resHeader[status][name] = value
				}
			}
			out[strings.ToUpper(method)+" "+path] = d
		}
	}
	return out
}

// deref follows $refs until it reaches what they point at (nil when one
// does not resolve: TestOpenAPIReferencesResolve reports it).
func deref(tree map[string]any, v any) any {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		v = resolveRef(tree, ref)
	}
	return nil
}

func TestTableRowsAreWellFormed(t *testing.T) {
	// GIVEN every row of the route table
	seen, seenOp := map[string]bool{}, map[string]bool{}
	for _, r := range Table {
		// AND its Op is unique and finds it (handlers register by Op)
		if r.Op == "" || seenOp[r.Op] {
			t.Errorf("%s: Op %q is empty or not unique", r.Key(), r.Op)
		}
		seenOp[r.Op] = true
		if got, ok := LookupOp(r.Op); !ok || got != r {
			t.Errorf("LookupOp(%q) = %+v, %v; want %+v", r.Op, got, ok, r)
		}
		// THEN its key is unique (Lookup finds one row per key)
		if seen[r.Key()] {
			t.Errorf("%s appears twice in Table", r.Key())
		}
		seen[r.Key()] = true
		// AND it has a function, a known throttle class and no negative limit
		if r.Function == "" {
			t.Errorf("%s: no Function", r.Key())
		}
		if r.Throttle != "" && r.Throttle != ThrottlePublic {
			t.Errorf("%s: Throttle %q is not a throttle class (\"\" or %q)", r.Key(), r.Throttle, ThrottlePublic)
		}
		if r.BodyLimit < 0 {
			t.Errorf("%s: BodyLimit %d", r.Key(), r.BodyLimit)
		}
		// AND a route anyone may call has the public class, which keeps it
		// from using up the authorized routes' shared limit
		if !r.Auth && r.Throttle != ThrottlePublic {
			t.Errorf("%s needs no caller: want Throttle %q", r.Key(), ThrottlePublic)
		}
		// AND Lookup and BodyLimit answer it
		if got, ok := Lookup(r.Key()); !ok || got != r {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", r.Key(), got, ok, r)
		}
		if got := BodyLimit(r.Key()); got != r.BodyLimit {
			t.Errorf("BodyLimit(%q) = %d, want %d", r.Key(), got, r.BodyLimit)
		}
	}
	if _, ok := Lookup("GET /not-routed"); ok || BodyLimit("GET /not-routed") != 0 {
		t.Error("an unknown route key has a row")
	}
}
