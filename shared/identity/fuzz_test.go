package identity

import (
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/apperr"
)

// An accepted email is normalised for good: lower-case, trimmed, bounded, one
// '@', and normalising it again changes nothing.
func FuzzNormalizeEmail(f *testing.F) {
	for _, seed := range []string{"a@b.example", " A@B.EXAMPLE ", "a@b", "\"quoted\"@b.example", "a@b.example\n", "Ω@b.example", "a@@b.example"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := NormalizeEmail(raw)
		if err != nil {
			if apperr.KindOf(err) != apperr.KindUnprocessable {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if got != strings.ToLower(got) || got != strings.TrimSpace(got) || len(got) > MaxEmailLength || strings.Count(got, "@") != 1 {
			t.Fatalf("%q normalised to %q", raw, got)
		}
		again, err := NormalizeEmail(got)
		if err != nil || again != got {
			t.Fatalf("%q: not idempotent: %q %v", raw, again, err)
		}
	})
}

// Tokens of any shape are refused as unauthenticated, never accepted half-way.
func FuzzParseToken(f *testing.F) {
	for _, seed := range []string{"acme.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "a.b", ".", "#.x", "acme..x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ten, tok, err := ParseToken(raw)
		if err != nil {
			if apperr.KindOf(err) != apperr.KindUnauthenticated {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if ten.ID() == "" || string(tok) != raw || len(tok.Hash()) != 64 {
			t.Fatalf("%q parsed to %q", raw, ten.ID())
		}
	})
}
