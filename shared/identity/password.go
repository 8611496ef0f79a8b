package identity

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/acme/accountadmin/shared/apperr"
)

// Argon2id parameters: OWASP's minimum (19 MiB, two passes, one lane). They
// are stored inside every hash, so raising them later re-hashes on sign-in.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// MaxPasswordLength bounds the work one request can cause; it is far above
// the 64 characters every policy must allow, and nothing is ever truncated.
const MaxPasswordLength = 256

// HashPassword returns an argon2id PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$key.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

var errBadHash = errors.New("identity: not an argon2id hash")

// VerifyPassword checks password against a PHC string in constant time.
func VerifyPassword(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 {
		return false, errBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// DummyHash is verified against when an email is unknown. It is made on
// first use, not at init, so cold starts stay light.
func DummyHash() string { return dummyHash() }

var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("dummy password that never matches anything")
	if err != nil {
		panic(err)
	}
	return h
})

// PasswordPolicy is a tenant setting. The default is the product's rule (10+
// characters, four character classes); tenants may switch to length plus
// blocklist only, as NIST SP 800-63B prefers. Every policy allows at least 64
// characters, never truncates and always checks the blocklist.
type PasswordPolicy struct {
	MinLength      int  `dynamodbav:"minLength" json:"minLength"`
	RequireClasses bool `dynamodbav:"requireClasses" json:"requireClasses"`
}

// DefaultPasswordPolicy is the product's rule.
var DefaultPasswordPolicy = PasswordPolicy{MinLength: 10, RequireClasses: true}

//go:embed blocklist.txt
var blocklistText string

// blocklist is built on first use, not at init: most functions (the
// session check, sign-in, every read) never check a new password.
var blocklist = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(blocklistText, "\n") {
		if w := strings.TrimSpace(line); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
})

// The codes of the password rules, one per rule, so that a form can point
// at each one; Check reports every rule that fails at once.
const (
	CodePasswordTooShort       = "password_too_short"
	CodePasswordNeedsLowercase = "password_needs_lowercase"
	CodePasswordNeedsUppercase = "password_needs_uppercase"
	CodePasswordNeedsDigit     = "password_needs_digit"
	CodePasswordNeedsSpecial   = "password_needs_special"
	CodePasswordCommon         = "password_common"
	CodePasswordContainsEmail  = "password_contains_email"
)

// Check validates a new password against the policy; email is the user's,
// which the password may not contain. It returns a 422 with one field error
// (on field) per failing rule, each with its own code and plain words, and
// a detail that lists only what is missing ("the password needs at least
// 10 characters and a digit").
func (p PasswordPolicy) Check(field, password, email string) error {
	var f apperr.Fields
	needs, isNot := p.check(&f, field, password, email)
	err := f.Err()
	if e, ok := apperr.As(err); ok && len(needs)+len(isNot) > 0 {
		return e.Withf("%s", passwordDetail(needs, isNot))
	}
	return err
}

// passwordDetail is the human sentence for the failing rules of one
// password: what it needs, then what it may not be, each said once.
func passwordDetail(needs, isNot []string) string {
	var clauses []string
	if len(needs) > 0 {
		clauses = append(clauses, "needs "+joinAnd(needs))
	}
	clauses = append(clauses, isNot...)
	if len(clauses) == 0 {
		return ""
	}
	return "the password " + strings.Join(clauses, "; it ")
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

// check adds a field error per failing rule and returns the phrases of the
// human detail: what is missing ("a digit") and what the password may not
// be ("is too common"), in the rules' order. A password that is not text,
// or longer than MaxPasswordLength, is refused for that alone.
func (p PasswordPolicy) check(f *apperr.Fields, field, password, email string) (needs, isNot []string) {
	minLen := p.MinLength
	if minLen < 8 {
		minLen = 8
	}
	switch {
	case !utf8.ValidString(password):
		f.Add(field, "password_invalid", "the password must be valid UTF-8 text")
		return nil, nil
	case len(password) > MaxPasswordLength:
		f.Add(field, "password_too_long", fmt.Sprintf("the password may have at most %d bytes", MaxPasswordLength))
		return nil, nil
	}
	need := func(code, detail, phrase string) {
		f.Add(field, code, detail)
		needs = append(needs, phrase)
	}
	if n := utf8.RuneCountInString(password); n < minLen {
		need(CodePasswordTooShort, fmt.Sprintf("use at least %d characters (this one has %d)", minLen, n),
			fmt.Sprintf("at least %d characters", minLen))
	}
	if p.RequireClasses {
		var lower, upper, digit, special bool
		for _, r := range password {
			switch {
			case unicode.IsLower(r):
				lower = true
			case unicode.IsUpper(r):
				upper = true
			case unicode.IsDigit(r):
				digit = true
			default:
				special = true
			}
		}
		if !lower {
			need(CodePasswordNeedsLowercase, "add a lower-case letter (a-z)", "a lower-case letter")
		}
		if !upper {
			need(CodePasswordNeedsUppercase, "add an upper-case letter (A-Z)", "an upper-case letter")
		}
		if !digit {
			need(CodePasswordNeedsDigit, "add a digit (0-9)", "a digit")
		}
		if !special {
			need(CodePasswordNeedsSpecial, "add a special character, such as - ! # or a space", "a special character")
		}
	}
	lowered := strings.ToLower(password)
	if common := blocklist(); common[lowered] || common[strings.TrimRight(lowered, "0123456789!@#$%^&*.?")] {
		f.Add(field, CodePasswordCommon, "this password is too common; choose another")
		isNot = append(isNot, "is too common")
	}
	if local, _, ok := strings.Cut(strings.ToLower(email), "@"); ok && len(local) >= 4 && strings.Contains(lowered, local) {
		f.Add(field, CodePasswordContainsEmail, "the password may not contain your email address")
		isNot = append(isNot, "may not contain your email address")
	}
	return needs, isNot
}
