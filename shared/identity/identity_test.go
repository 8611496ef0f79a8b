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
		code     string
	}{
		{DefaultPasswordPolicy, "Correct-Horse-7", ""},
		{DefaultPasswordPolicy, "Sh0rt!", "password_too_short"},
		{DefaultPasswordPolicy, "alllowercase1!", "password_too_simple"},
		{DefaultPasswordPolicy, "NoDigitsHere!!", "password_too_simple"},
		{DefaultPasswordPolicy, "NoSpecial123abc", "password_too_simple"},
		{DefaultPasswordPolicy, "Password123!", "password_common"},
		{DefaultPasswordPolicy, "Qwertyuiop1!", "password_common"},
		{DefaultPasswordPolicy, "Jane.Doe-2026!", "password_contains_email"},
		{DefaultPasswordPolicy, strings.Repeat("Ab1!", 16), ""}, // 64 characters allowed
		{DefaultPasswordPolicy, strings.Repeat("Ab1!", 64), ""}, // 256 allowed
		{DefaultPasswordPolicy, strings.Repeat("Ab1!", 65), "password_too_long"},
		{relaxed, "correct horse battery staple", ""}, // length + blocklist only
		{relaxed, "passwordpassword", "password_common"},
		{relaxed, "short one", "password_too_short"},
		{DefaultPasswordPolicy, "Ünïcödé-Pässwört-1", ""},
	}
	for _, c := range cases {
		err := c.policy.Check("password", c.password, "jane.doe@example.com")
		if c.code == "" {
			if err != nil {
				t.Errorf("%q refused: %v", c.password, err)
			}
			continue
		}
		e, ok := apperr.As(err)
		if !ok || len(e.Fields) != 1 || e.Fields[0].Code != c.code || e.Fields[0].Field != "password" {
			t.Errorf("%q: got %v, want %s", c.password, err, c.code)
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
