package httpapi

import (
	"testing"

	"github.com/acme/accountadmin/shared/apperr"
)

// Whatever the body, Decode answers a client error or decodes: never a panic,
// never an internal error.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`{"name":"a","count":1,"tags":["x"]}`, `{"name":`, `[]`, `null`, `{"count":1e999}`,
		`{"tags":[1,2]}`, `{"name":"\ud800"}`, `{"name":"a"} trailing`, "\x00", `{"Name":"case"}`} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		var dst sample
		err := Decode(Request{Body: body, IsBase64Encoded: b64}, &dst)
		if err == nil {
			return
		}
		e, ok := apperr.As(err)
		if !ok {
			t.Fatalf("not a domain error: %v", err)
		}
		if status, _ := Status(e.Kind); status < 400 || status >= 500 {
			t.Fatalf("body %q: status %d", body, status)
		}
	})
}

func FuzzIfMatch(f *testing.F) {
	for _, seed := range []string{`"1"`, `W/"1"`, `*`, `""`, `"99999999999999999999"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		n, err := IfMatch(Request{Headers: map[string]string{"if-match": v}})
		if err != nil && apperr.KindOf(err) != apperr.KindInvalid {
			t.Fatalf("If-Match %q: %v", v, err)
		}
		if err == nil && v != "" && n < 1 {
			t.Fatalf("If-Match %q gave version %d", v, n)
		}
	})
}
