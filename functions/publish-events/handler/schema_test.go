package handler_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/infra/local/stack"
)

// The published schemas (events/schemas) are JSON Schema 2020-12, using
// only what this validator checks: type, const, enum, required,
// properties, additionalProperties (false), items, minLength, pattern,
// format date-time, allOf, and $ref to another file or to #/$defs.

type schemaSet struct {
	files map[string]any // by file name
}

type schemaRef struct {
	set  *schemaSet
	file string
}

func loadSchemas(t *testing.T) map[string]schemaRef {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "events", "schemas")
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no schemas in %s: %v", dir, err)
	}
	set := &schemaSet{files: map[string]any{}}
	out := map[string]schemaRef{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		name := filepath.Base(p)
		set.files[name] = doc
		if name != "event.json" {
			out[strings.TrimSuffix(name, ".json")] = schemaRef{set, name}
		}
	}
	return out
}

func (r schemaRef) validate(v any) []string {
	return r.set.check(r.file, r.set.files[r.file], v, "")
}

var supported = []string{"$schema", "$id", "$defs", "title", "description", "type", "const", "enum", "required",
	"properties", "additionalProperties", "items", "minLength", "pattern", "format", "allOf", "$ref"}

func (s *schemaSet) check(file string, schema any, v any, at string) []string {
	sch, ok := schema.(map[string]any)
	if !ok {
		return []string{at + ": schema is not an object"}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	for k := range sch {
		if !slices.Contains(supported, k) {
			fail("schema keyword %s is not checked by this validator", k)
		}
	}
	if ref, ok := sch["$ref"].(string); ok {
		f, frag, _ := strings.Cut(ref, "#")
		if f == "" {
			f = file
		}
		target := s.files[f]
		for _, part := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
			if part == "" {
				continue
			}
			m, _ := target.(map[string]any)
			target = m[part]
		}
		if target == nil {
			fail("unresolved $ref %s", ref)
		} else {
			errs = append(errs, s.check(f, target, v, at)...)
		}
	}
	for _, sub := range asSlice(sch["allOf"]) {
		errs = append(errs, s.check(file, sub, v, at)...)
	}
	if c, ok := sch["const"]; ok && !equalJSON(c, v) {
		fail("%v is not %v", v, c)
	}
	if e, ok := sch["enum"]; ok && !slices.ContainsFunc(asSlice(e), func(x any) bool { return equalJSON(x, v) }) {
		fail("%v is not one of %v", v, e)
	}
	if typ, ok := sch["type"].(string); ok && !hasType(v, typ) {
		fail("%v is not a %s", v, typ)
		return errs
	}
	if str, ok := v.(string); ok {
		if n, ok := sch["minLength"].(float64); ok && len([]rune(str)) < int(n) {
			fail("%q is shorter than %v", str, n)
		}
		if p, ok := sch["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		if sch["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("%q is not a date-time", str)
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		for _, req := range asSlice(sch["required"]) {
			if _, ok := obj[req.(string)]; !ok {
				fail("%s is required", req)
			}
		}
		props, _ := sch["properties"].(map[string]any)
		for k, val := range obj {
			if p, ok := props[k]; ok {
				errs = append(errs, s.check(file, p, val, at+"/"+k)...)
			} else if sch["additionalProperties"] == false {
				fail("%s is not allowed", k)
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := sch["items"]; ok {
			for i, e := range arr {
				errs = append(errs, s.check(file, items, e, fmt.Sprintf("%s/%d", at, i))...)
			}
		}
	}
	return errs
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	}
	return false
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// validate checks every event against the schema of its detail-type, as a
// rule's target receives it.
func validate(t *testing.T, evs []event) {
	t.Helper()
	schemas := loadSchemas(t)
	for _, ev := range evs {
		raw, _ := json.Marshal(ev.BusEvent)
		var doc any
		_ = json.Unmarshal(raw, &doc)
		s, ok := schemas[ev.DetailType]
		if !ok {
			t.Errorf("no schema for detail-type %s in events/schemas", ev.DetailType)
			continue
		}
		if errs := s.validate(doc); len(errs) > 0 {
			t.Errorf("%s does not validate: %v\n%s", ev.DetailType, errs, raw)
		}
	}
}

// The validator refuses what the schemas rule out (so a pass means
// something).
func TestTheSchemasRefuseWhatTheyRuleOut(t *testing.T) {
	schemas := loadSchemas(t)
	good := stack.BusEvent{Version: "0", ID: "e", DetailType: "account.renamed", Source: "accountadmin", Account: "1",
		Time: time.Now().UTC(), Region: "us-east-1", Resources: []string{},
		Detail: json.RawMessage(`{"id":"01KAP6ZQ8M0000000000000000","tenant":"t","accountId":"a","log":"account","at":"2026-11-23T09:00:00Z",
			"actor":{"kind":"user","id":"u"},"action":"account.renamed","subject":{"type":"account","id":"a"},"before":{"name":"x"},"after":{"name":"y"}}`)}
	doc := func(e stack.BusEvent) any {
		raw, _ := json.Marshal(e)
		var v any
		_ = json.Unmarshal(raw, &v)
		return v
	}
	if errs := schemas["account.renamed"].validate(doc(good)); len(errs) > 0 {
		t.Fatalf("a good event is refused: %v", errs)
	}
	bad := map[string]string{
		"another subject":  strings.Replace(string(good.Detail), `"type":"account"`, `"type":"user"`, 1),
		"a secret field":   strings.Replace(string(good.Detail), `"log"`, `"passwordHash":"x","log"`, 1),
		"no actor":         strings.Replace(string(good.Detail), `"actor":{"kind":"user","id":"u"},`, ``, 1),
		"an unknown actor": strings.Replace(string(good.Detail), `"kind":"user"`, `"kind":"robot"`, 1),
		"a bad id":         strings.Replace(string(good.Detail), `01KAP6ZQ8M0000000000000000`, `x`, 1),
		"the tenant log":   strings.Replace(string(good.Detail), `"log":"account"`, `"log":"tenant"`, 1),
	}
	for name, detail := range bad {
		e := good
		e.Detail = json.RawMessage(detail)
		if errs := schemas["account.renamed"].validate(doc(e)); len(errs) == 0 {
			t.Errorf("%s: validates", name)
		}
	}
	other := good
	other.Source = "someone.else"
	if errs := schemas["account.renamed"].validate(doc(other)); len(errs) == 0 {
		t.Error("another source validates")
	}
}
