package twofactor

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"time"
)

// TOTP as RFC 6238 defines it, with the parameters every authenticator app
// understands: HMAC-SHA-1, 30-second steps from the Unix epoch, 6 digits.
const (
	TOTPStep   = 30 * time.Second
	TOTPDigits = 6
	// TOTPSkew is how many steps either side of now a code is accepted in:
	// one, for a phone clock a little off and a code typed as it changes.
	TOTPSkew = 1
)

// hotp is RFC 4226's HOTP value of counter under key, as digits digits.
func hotp(key []byte, counter uint64, digits int) string {
	mac := hmac.New(sha1.New, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// Step is the TOTP time step of at.
func Step(at time.Time) int64 { return at.Unix() / int64(TOTPStep/time.Second) }

// TOTPCode is the code of key at step.
func TOTPCode(key []byte, step int64) string { return hotp(key, uint64(step), TOTPDigits) }

// MatchTOTP finds the step within TOTPSkew of now whose code is code, the
// latest first; ok is false when none matches. The caller refuses a step
// at or before the last one accepted (a code is used once).
func MatchTOTP(key []byte, code string, now time.Time) (step int64, ok bool) {
	cur := Step(now)
	for d := int64(TOTPSkew); d >= -TOTPSkew; d-- {
		if hmac.Equal([]byte(TOTPCode(key, cur+d)), []byte(code)) {
			return cur + d, true
		}
	}
	return 0, false
}

// b32 is the base32 authenticator apps read: no padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncodeSecret is the secret as the user types it into an app.
func EncodeSecret(key []byte) string { return b32.EncodeToString(key) }

// OTPAuthURI is the key-uri an authenticator app reads from a QR code.
func OTPAuthURI(issuer, account string, key []byte) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	q := url.Values{}
	q.Set("secret", EncodeSecret(key))
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(TOTPDigits))
	q.Set("period", fmt.Sprint(int(TOTPStep/time.Second)))
	return "otpauth://totp/" + label + "?" + q.Encode()
}
