package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestBadInputOnEveryRoute sends, as the rightful caller, broken versions of
// every security-matrix request that has a JSON body: truncated JSON (400),
// a field of the wrong type (422), an unknown field (422), a body far over
// the limit (413). None is a 500, each answers problem+json, and nothing of
// the tenant changes (not even an Idempotency-Key record).
func TestBadInputOnEveryRoute(t *testing.T) {
	w := newSecurityWorld(t)
	bodies := 0
	for _, row := range securityMatrix {
		t.Run(row.route, func(t *testing.T) {
			p := row.prepare(t, w)
			var fields map[string]any
			if p.body == "" || json.Unmarshal([]byte(p.body), &fields) != nil || len(fields) == 0 {
				return // no JSON object body to break
			}
			bodies++
			before := w.tenantItems(t, w.a)
			for _, bad := range []struct {
				name string
				body string
				want int
			}{
				{"truncated JSON", p.body[:len(p.body)/2], 400},
				{"a field of the wrong type", wrongType(fields), 422},
				{"an unknown field", withField(fields, "unexpectedField", 1), 422},
				{"a body over the limit", withField(fields, "padding", strings.Repeat("x", 1<<20)), 413},
			} {
				q := p
				q.body = bad.body
				status, body, hdr := w.do(t, q.as, q)
				if status != bad.want || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
					t.Errorf("%s: %d %s, want %d problem+json: %.200s", bad.name, status, hdr.Get("Content-Type"), bad.want, body)
				}
			}
			if changed := diff(before, w.tenantItems(t, w.a)); len(changed) > 0 {
				t.Errorf("bad input changed the tenant: %v", changed)
			}
		})
	}
	if bodies < 20 {
		t.Fatalf("only %d routes with a JSON body were tried", bodies)
	}
}

// wrongType gives the first field that is not a boolean a boolean (the
// wrong type for any string, number, array or object), or, when every
// field is a boolean, the first one a string.
func wrongType(fields map[string]any) string {
	out := map[string]any{}
	done := false
	for _, k := range sortedKeys(fields) {
		out[k] = fields[k]
		if _, isBool := fields[k].(bool); !isBool && !done {
			out[k], done = true, true
		}
	}
	if !done {
		out[sortedKeys(fields)[0]] = "not a boolean"
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func withField(fields map[string]any, name string, value any) string {
	out := map[string]any{name: value}
	for k, v := range fields {
		out[k] = v
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
