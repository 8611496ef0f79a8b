package identity

import (
	"cmp"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/acme/accountadmin/shared/apperr"
)

// MaxEmailLength is RFC 5321's bound on a path.
const MaxEmailLength = 254

// Field codes NormalizeEmail refuses an address with (field "email").
const (
	CodeInvalidEmail    = "invalid_email"    // not an address at all
	CodeConfusableEmail = "confusable_email" // an address that could pass for another one
)

// NormalizeEmail gives an address the one form under which it is stored,
// claimed and matched, or refuses it.
//
// It trims the address and puts it in Unicode NFC, so that a precomposed "é"
// and an "e" followed by a combining acute are one letter, then lower-cases
// all of it. RFC 5321 lets the local part be case-sensitive, but no mainstream
// provider treats it so and users type it in any case; one person must not
// become two users, so the whole address is compared lower-cased. Display
// names and comments are refused: the address must be bare. Plus-addressing
// is kept: "ada+billing@" and "ada@" are two addresses.
//
// An internationalised domain is stored as punycode (IDNA's lookup profile);
// an invalid one is refused as an invalid address.
//
// An address that could pass for another one is refused with the code
// confusable_email and a detail naming the rule (UTS #39's spirit, the
// highly restrictive level): in the local part and in each domain label,
// no invisible characters (format characters such as a zero-width joiner,
// controls, variation selectors), no full-width or half-width forms, nothing
// NFKC would change (ligatures, superscripts, styled letters), no non-ASCII
// punctuation, symbols or spaces, no unassigned code points, and letters of a
// single script: digits, ASCII punctuation and combining marks go with any,
// and Latin may join the scripts written together in Chinese, Japanese and
// Korean, but Latin with Cyrillic or Greek (Cyrillic "а" for Latin "a") is
// refused. Punycode labels are checked for what they spell.
func NormalizeEmail(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" || len(s) > MaxEmailLength || !utf8.ValidString(s) {
		return "", invalidEmail()
	}
	// Lower-casing rune by rune can leave a letter that composes with the
	// mark after it ("İ" + U+0301 becomes "i" + U+0301, which NFC makes "í"),
	// so NFC is applied again after it.
	s = norm.NFC.String(strings.ToLower(norm.NFC.String(s)))
	if len(s) > MaxEmailLength || strings.ContainsAny(s, " <>\"#\t\r\n") {
		return "", invalidEmail()
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", invalidEmail()
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !domainShaped(domain) {
		return "", invalidEmail()
	}
	if reason := confusable(local); reason != "" {
		return "", confusableEmail("the address " + reason)
	}
	for _, label := range strings.Split(domain, ".") {
		spelt := label
		if strings.HasPrefix(label, "xn--") {
			if spelt, err = idna.Lookup.ToUnicode(label); err != nil {
				return "", invalidEmail()
			}
		}
		if reason := confusable(spelt); reason != "" {
			return "", confusableEmail("the domain " + reason)
		}
	}
	// The shape again: the lookup profile lets a bare "xn--" label through
	// as an empty one.
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil || !domainShaped(ascii) {
		return "", invalidEmail()
	}
	s = local + "@" + ascii
	if len(s) > MaxEmailLength {
		return "", invalidEmail()
	}
	return s, nil
}

// domainShaped reports whether domain has two labels or more, none empty.
func domainShaped(domain string) bool {
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.Contains(domain, "..")
}

// EmailFieldError is the field error NormalizeEmail refused an address with
// (invalid_email or confusable_email, with its detail), for callers that
// report it in their own words or per address; any other error gives the
// invalid_email one.
func EmailFieldError(err error) apperr.FieldError {
	if e, ok := apperr.As(err); ok {
		for _, f := range e.Fields {
			if f.Field == "email" {
				return f
			}
		}
	}
	return invalidEmailField
}

var invalidEmailField = apperr.FieldError{Field: "email", Code: CodeInvalidEmail, Detail: "not a valid email address"}

func invalidEmail() error { return apperr.Validation(invalidEmailField) }

func confusableEmail(detail string) error {
	return apperr.Validation(apperr.FieldError{Field: "email", Code: CodeConfusableEmail, Detail: detail})
}

// confusable says why part (a local part or a domain label, NFC and
// lower-cased) could pass for another string, or "" if it cannot. The rules
// are tried in a fixed order, so the detail names the first one broken.
func confusable(part string) string {
	if isASCII(part) {
		return ""
	}
	for _, r := range part {
		if unicode.In(r, unicode.Cf, unicode.Cc, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) {
			return "contains invisible characters (such as a zero-width joiner)"
		}
	}
	for _, r := range part {
		if r >= 0xFF00 && r <= 0xFFEF {
			return "contains full-width or half-width characters"
		}
	}
	if norm.NFKC.String(part) != part {
		return "contains compatibility characters (such as ligatures, superscripts or styled letters) that stand for others"
	}
	var scripts []string
	for _, r := range part {
		script := scriptOf(r)
		switch {
		case script == "":
			return "contains unassigned or private-use characters"
		case r >= utf8.RuneSelf && !unicode.In(r, unicode.L, unicode.M, unicode.N):
			return "contains non-ASCII punctuation, symbols or spaces"
		case script != "Common" && script != "Inherited" && !slices.Contains(scripts, script):
			scripts = append(scripts, script)
		}
	}
	if !highlyRestrictive(scripts) {
		return "mixes " + listScripts(scripts) + " letters"
	}
	return ""
}

// scriptSets are the scripts UTS #39's highly restrictive level lets one
// string mix: Latin with those written together in Chinese, Japanese and Korean.
var scriptSets = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

func highlyRestrictive(scripts []string) bool {
	if len(scripts) <= 1 {
		return true
	}
	for _, set := range scriptSets {
		all := true
		for _, s := range scripts {
			all = all && slices.Contains(set, s)
		}
		if all {
			return true
		}
	}
	return false
}

type namedScript struct {
	name  string
	table *unicode.RangeTable
}

// scriptTables lists unicode.Scripts in a fixed order, the scripts of most
// addresses first. Built on first use, not at init: most cold starts never
// see a non-ASCII address.
var scriptTables = sync.OnceValue(func() []namedScript {
	first := map[string]int{"Common": 1, "Inherited": 2, "Latin": 3, "Cyrillic": 4, "Greek": 5}
	out := make([]namedScript, 0, len(unicode.Scripts))
	for name, table := range unicode.Scripts {
		out = append(out, namedScript{name, table})
	}
	rank := func(s namedScript) int {
		if r, ok := first[s.name]; ok {
			return r
		}
		return len(first) + 1
	}
	slices.SortFunc(out, func(a, b namedScript) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a.name, b.name))
	})
	return out
})

// scriptOf is the Unicode script of r ("Latin", "Common", ...), or "" for a
// code point in none (unassigned or private use).
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return "Latin"
		}
		return "Common"
	}
	for _, s := range scriptTables() {
		if unicode.Is(s.table, r) {
			return s.name
		}
	}
	return ""
}

// listScripts names scripts for a detail, Latin first (the one most
// addresses are in), then the others in the order they appear.
func listScripts(scripts []string) string {
	if i := slices.Index(scripts, "Latin"); i > 0 {
		scripts = append([]string{"Latin"}, slices.Delete(slices.Clone(scripts), i, i+1)...)
	}
	if len(scripts) <= 2 {
		return strings.Join(scripts, " and ")
	}
	return strings.Join(scripts[:len(scripts)-1], ", ") + " and " + scripts[len(scripts)-1]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
