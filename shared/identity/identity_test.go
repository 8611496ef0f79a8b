package identity

import (
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/apperr"
)

func TestPasswordHashing(t *testing.T) {
	h, err := HashPassword("Correct-Horse-7-Battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash does not carry OWASP minimum parameters: %s", h)
	}
	if ok, err := VerifyPassword("Correct-Horse-7-Battery", h); !ok || err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if ok, _ := VerifyPassword("Correct-Horse-7-Batter", h); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("Correct-Horse-7-Battery")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if _, err := VerifyPassword("x", "$2a$10$bcrypt"); err == nil {
		t.Fatal("a non-argon2id hash was accepted")
	}
	// Long passwords are never truncated: a 200-character password differs
	// from its first 72 characters (bcrypt's limit).
	long := strings.Repeat("aB3$", 50)
	hl, _ := HashPassword(long)
	if ok, _ := VerifyPassword(long[:72], hl); ok {
		t.Fatal("password truncated")
	}
}

func TestPasswordPolicy(t *testing.T) {
	relaxed := PasswordPolicy{MinLength: 12}
	cases := []struct {
		policy   PasswordPolicy
		password string
		codes    []string // every failing rule, in the rules' order
	}{
		{DefaultPasswordPolicy, "Correct-Horse-7", nil},
		{DefaultPasswordPolicy, "Sh0rt!", []string{CodePasswordTooShort}},
		{DefaultPasswordPolicy, "alllowercase1!", []string{CodePasswordNeedsUppercase}},
		{DefaultPasswordPolicy, "NoDigitsHere!!", []string{CodePasswordNeedsDigit}},
		{DefaultPasswordPolicy, "NoSpecial123abc", []string{CodePasswordNeedsSpecial}},
		{DefaultPasswordPolicy, "Password123!", []string{CodePasswordCommon}},
		{DefaultPasswordPolicy, "Qwertyuiop1!", []string{CodePasswordCommon}},
		{DefaultPasswordPolicy, "Jane.Doe-2026!", []string{CodePasswordContainsEmail}},
		// Several rules at once, every one reported.
		{DefaultPasswordPolicy, "password", []string{CodePasswordTooShort, CodePasswordNeedsUppercase, CodePasswordNeedsDigit,
			CodePasswordNeedsSpecial, CodePasswordCommon}},
		{DefaultPasswordPolicy, "passwordpassword", []string{CodePasswordNeedsUppercase, CodePasswordNeedsDigit,
			CodePasswordNeedsSpecial, CodePasswordCommon}},
		{DefaultPasswordPolicy, "jane.doe", []string{CodePasswordTooShort, CodePasswordNeedsUppercase, CodePasswordNeedsDigit,
			CodePasswordContainsEmail}},
		{DefaultPasswordPolicy, "JANE.DOE.2026", []string{CodePasswordNeedsLowercase, CodePasswordContainsEmail}},
		{DefaultPasswordPolicy, "welcome1", []string{CodePasswordTooShort, CodePasswordNeedsUppercase, CodePasswordNeedsSpecial,
			CodePasswordCommon}},
		{DefaultPasswordPolicy, strings.Repeat("Ab1!", 16), nil}, // 64 characters allowed
		{DefaultPasswordPolicy, strings.Repeat("Ab1!", 64), nil}, // 256 allowed
		{DefaultPasswordPolicy, strings.Repeat("Ab1!", 65), []string{"password_too_long"}},
		{DefaultPasswordPolicy, "bad\xffutf8-Ab1", []string{"password_invalid"}},
		{relaxed, "correct horse battery staple", nil}, // length + blocklist only
		{relaxed, "passwordpassword", []string{CodePasswordCommon}},
		{relaxed, "short one", []string{CodePasswordTooShort}},
		{relaxed, "jane.doe", []string{CodePasswordTooShort, CodePasswordContainsEmail}},
		{DefaultPasswordPolicy, "Ünïcödé-Pässwört-1", nil},
	}
	// Every combination of the length and the four character classes: each
	// class's code is present exactly when its class is absent, too_short
	// exactly when the password is short.
	pools := []struct {
		chars, code string
	}{{"mzrwkt", CodePasswordNeedsLowercase}, {"QXJVKT", CodePasswordNeedsUppercase}, {"385947", CodePasswordNeedsDigit},
		{"-#~ %+", CodePasswordNeedsSpecial}}
	for mask := range 1 << 4 {
		for _, long := range []bool{false, true} {
			var present []string
			var want []string
			if !long {
				want = append(want, CodePasswordTooShort)
			}
			for i, p := range pools {
				if mask&(1<<i) != 0 {
					present = append(present, p.chars)
				} else {
					want = append(want, p.code)
				}
			}
			if len(present) == 0 {
				if long {
					continue // a long password has some class
				}
				cases = append(cases, struct {
					policy   PasswordPolicy
					password string
					codes    []string
				}{DefaultPasswordPolicy, "", want})
				continue
			}
			var b strings.Builder
			for n := 0; b.Len() < map[bool]int{false: 6, true: 12}[long]; n++ {
				pool := present[n%len(present)]
				b.WriteByte(pool[(n/len(present))%len(pool)])
			}
			cases = append(cases, struct {
				policy   PasswordPolicy
				password string
				codes    []string
			}{DefaultPasswordPolicy, b.String(), want})
		}
	}
	for _, c := range cases {
		err := c.policy.Check("password", c.password, "jane.doe@example.com")
		if len(c.codes) == 0 {
			if err != nil {
				t.Errorf("%q refused: %v", c.password, err)
			}
			continue
		}
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindUnprocessable {
			t.Errorf("%q: got %v, want 422 %v", c.password, err, c.codes)
			continue
		}
		var got []string
		for _, f := range e.Fields {
			if f.Field != "password" || f.Detail == "" {
				t.Errorf("%q: field error %+v", c.password, f)
			}
			got = append(got, f.Code)
		}
		if strings.Join(got, " ") != strings.Join(c.codes, " ") {
			t.Errorf("%q: codes %v, want %v", c.password, got, c.codes)
		}
	}
}

// The detail of a refused password lists only what it lacks, in plain words.
func TestPasswordDetailListsOnlyWhatIsMissing(t *testing.T) {
	cases := map[string]string{
		"NoDigitsHere!!": "the password needs a digit",
		"sh0rt":          "the password needs at least 10 characters, an upper-case letter and a special character",
		"password":       "the password needs at least 10 characters, an upper-case letter, a digit and a special character; it is too common",
		"Password123!":   "the password is too common",
		"JANE.DOE.2026":  "the password needs a lower-case letter; it may not contain your email address",
	}
	for pw, want := range cases {
		e, _ := apperr.As(DefaultPasswordPolicy.Check("newPassword", pw, "jane.doe@example.com"))
		if e == nil || e.Detail != want {
			t.Errorf("%q: detail %v, want %q", pw, e, want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{
		"  Jane.Doe@Example.COM ": "jane.doe@example.com",
		"a+tag@sub.example.org":   "a+tag@sub.example.org",
		"o'brien@example.ie":      "o'brien@example.ie",
		"UPPER@EXAMPLE.COM":       "upper@example.com",
	}
	for in, want := range good {
		got, err := NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "plain", "@example.com", "a@", "a@b", "a@.com", "a@b..com", "Jane <jane@example.com>",
		"a b@example.com", "a@example.com.", strings.Repeat("a", 250) + "@example.com", "a@exa mple.com", "a\n@example.com"} {
		if _, err := NormalizeEmail(bad); apperr.KindOf(err) != apperr.KindUnprocessable {
			t.Errorf("NormalizeEmail(%q) accepted", bad)
		}
	}
}

func TestTokens(t *testing.T) {
	if _, _, err := ParseToken("no-dot"); err == nil {
		t.Fatal("token without tenant accepted")
	}
	if _, _, err := ParseToken("acme.short"); err == nil {
		t.Fatal("short secret accepted")
	}
	for _, h := range []string{"Bearer abc", "bearer abc", "  Bearer   abc "} {
		if tok, ok := BearerToken(h); !ok || tok != "abc" {
			t.Errorf("BearerToken(%q) = %q %v", h, tok, ok)
		}
	}
	for _, h := range []string{"", "Basic abc", "Bearer", "Bearer  "} {
		if _, ok := BearerToken(h); ok {
			t.Errorf("BearerToken(%q) accepted", h)
		}
	}
}
