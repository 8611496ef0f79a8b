package identity

import (
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/apperr"
)

// Each case fails if the rule it names is taken out: a refusal is checked by
// its code and by the words of its detail, since a later rule would often
// refuse the same address for another reason.
func TestNormalizeEmailUnicode(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // the normalised address, when accepted
		code     string // the field code, when refused
		detail   string // words the detail must hold
	}{
		{name: "upper case is lower-cased", in: "Ada.Lovelace@Example.COM", want: "ada.lovelace@example.com"},
		{name: "plus-addressing kept", in: "Ada+Billing@example.com", want: "ada+billing@example.com"},
		{name: "NFC josé", in: "jos\u00e9@x.example", want: "jos\u00e9@x.example"},
		{name: "NFD josé composed", in: "jose\u0301@x.example", want: "jos\u00e9@x.example"},
		{name: "NFD upper JOSÉ composed", in: "JOSE\u0301@X.EXAMPLE", want: "jos\u00e9@x.example"},
		{name: "NFC again after lower-casing", in: "\u0130\u0301@x.example", want: "\u00ed@x.example"},
		{name: "one script: Cyrillic", in: "Иван@x.example", want: "иван@x.example"},
		{name: "one script: Greek with digits and dots", in: "αλέξης.2@x.example", want: "αλέξης.2@x.example"},
		{name: "Japanese scripts together", in: "山田たろう@x.example", want: "山田たろう@x.example"},
		{name: "IDN domain to punycode", in: "ada@bücher.example", want: "ada@xn--bcher-kva.example"},
		{name: "IDN domain upper case", in: "ada@BÜCHER.example", want: "ada@xn--bcher-kva.example"},
		{name: "punycode domain kept", in: "ada@xn--bcher-kva.example", want: "ada@xn--bcher-kva.example"},

		{name: "Cyrillic а in admin", in: "\u0430dmin@x.example", code: CodeConfusableEmail, detail: "the address mixes Latin and Cyrillic letters"},
		{name: "three scripts", in: "\u0430d\u03b1@x.example", code: CodeConfusableEmail, detail: "the address mixes Latin, Cyrillic and Greek letters"},
		{name: "Greek and Latin", in: "\u03b1da@x.example", code: CodeConfusableEmail, detail: "the address mixes Latin and Greek letters"},
		{name: "full-width admin", in: "ａｄｍｉｎ@x.example", code: CodeConfusableEmail, detail: "full-width"},
		{name: "half-width katakana", in: "ｱﾀﾞ@x.example", code: CodeConfusableEmail, detail: "half-width"},
		{name: "zero-width joiner", in: "ad\u200dmin@x.example", code: CodeConfusableEmail, detail: "invisible"},
		{name: "variation selector", in: "ada\ufe0f@x.example", code: CodeConfusableEmail, detail: "invisible"},
		{name: "C1 control", in: "ad\u0085a@x.example", code: CodeConfusableEmail, detail: "invisible"},
		{name: "ligature", in: "\ufb01le@x.example", code: CodeConfusableEmail, detail: "compatibility characters"},
		{name: "micro sign for mu", in: "\u00b5@x.example", code: CodeConfusableEmail, detail: "compatibility characters"},
		{name: "minus sign for hyphen", in: "ada\u2212b@x.example", code: CodeConfusableEmail, detail: "punctuation, symbols"},
		{name: "unassigned code point", in: "\u03b1\u0378@x.example", code: CodeConfusableEmail, detail: "unassigned"},
		{name: "private use", in: "ada\ue000@x.example", code: CodeConfusableEmail, detail: "private-use"},
		{name: "domain label mixes scripts", in: "ada@p\u0430ypal.example", code: CodeConfusableEmail, detail: "the domain mixes Latin and Cyrillic letters"},
		{name: "punycode label spelling a mix", in: "ada@xn--pypal-4ve.example", code: CodeConfusableEmail, detail: "the domain mixes Latin and Cyrillic letters"},
		{name: "full-width domain", in: "ada@ｘ.example", code: CodeConfusableEmail, detail: "the domain contains full-width"},

		{name: "invalid punycode", in: "ada@xn--zz.example", code: CodeInvalidEmail, detail: "not a valid email address"},
		{name: "invalid IDN label", in: "ada@-bücher.example", code: CodeInvalidEmail, detail: "not a valid email address"},
		{name: "empty punycode label", in: "ada@xn--.example", code: CodeInvalidEmail, detail: "not a valid email address"},
		{name: "plain invalid", in: "ada@", code: CodeInvalidEmail, detail: "not a valid email address"},
	}
	for _, c := range cases {
		got, err := NormalizeEmail(c.in)
		if c.code == "" {
			if err != nil || got != c.want {
				t.Errorf("%s: NormalizeEmail(%q) = %q, %v; want %q", c.name, c.in, got, err, c.want)
			}
			continue
		}
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindUnprocessable || len(e.Fields) != 1 || e.Fields[0].Field != "email" ||
			e.Fields[0].Code != c.code || !strings.Contains(e.Fields[0].Detail, c.detail) {
			t.Errorf("%s: NormalizeEmail(%q) = %q, %v; want %s containing %q", c.name, c.in, got, err, c.code, c.detail)
			continue
		}
		if fe := EmailFieldError(err); fe != e.Fields[0] {
			t.Errorf("%s: EmailFieldError = %+v, want %+v", c.name, fe, e.Fields[0])
		}
	}

	plain, _ := NormalizeEmail("ada@example.com")
	if tagged, _ := NormalizeEmail("ada+billing@example.com"); tagged == plain {
		t.Errorf("plus-addressing folded: %q", tagged)
	}
	if fe := EmailFieldError(apperr.ErrNotFound); fe.Code != CodeInvalidEmail {
		t.Errorf("EmailFieldError(other) = %+v", fe)
	}
}
