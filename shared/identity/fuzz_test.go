package identity

import (
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/acme/accountadmin/shared/apperr"
)

// An accepted email is normalised for good: lower-case, NFC, trimmed,
// bounded, one '@', an ASCII (punycode) domain, and normalising it again
// changes nothing. A refused one is a 422 on the email field, invalid or
// confusable.
func FuzzNormalizeEmail(f *testing.F) {
	for _, seed := range []string{"a@b.example", " A@B.EXAMPLE ", "a@b", "\"quoted\"@b.example", "a@b.example\n", "Ω@b.example", "a@@b.example",
		"jose\u0301@b.example", "\u0130\u0301@b.example", "\u0430dmin@b.example", "ａｄｍｉｎ@b.example", "a\u200db@b.example",
		"иван@b.example", "ada@bücher.example", "ada@xn--bcher-kva.example", "ada@xn--pypal-4ve.example", "ada+tag@b.example", "0@Xn--.0"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := NormalizeEmail(raw)
		if err != nil {
			fe := EmailFieldError(err)
			if apperr.KindOf(err) != apperr.KindUnprocessable || fe.Code != CodeInvalidEmail && fe.Code != CodeConfusableEmail {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		_, domain, _ := strings.Cut(got, "@")
		if got != strings.ToLower(got) || got != strings.TrimSpace(got) || len(got) > MaxEmailLength || strings.Count(got, "@") != 1 ||
			!norm.NFC.IsNormalString(got) || !isASCII(domain) {
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
