package twofactor

import (
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1: the 8-digit values, of which an app shows
// the last 6 (the value modulo 10^6 is the same truncation).
func TestTOTPVectorsOfRFC6238(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		step := Step(time.Unix(v.unix, 0))
		if got := hotp(key, uint64(step), 8); got != v.want {
			t.Errorf("T=%d: %s, want %s", v.unix, got, v.want)
		}
		if got := TOTPCode(key, step); got != v.want[2:] {
			t.Errorf("T=%d 6 digits: %s, want %s", v.unix, got, v.want[2:])
		}
	}
}

func TestTOTPSkewOfOneStep(t *testing.T) {
	key := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	for d, want := range map[int64]bool{-2: false, -1: true, 0: true, 1: true, 2: false} {
		code := TOTPCode(key, Step(now)+d)
		step, ok := MatchTOTP(key, code, now)
		if ok != want || (ok && step != Step(now)+d) {
			t.Errorf("skew %d steps: ok=%v step=%d, want %v", d, ok, step, want)
		}
	}
}

func TestOTPAuthURI(t *testing.T) {
	got := OTPAuthURI("Acme Admin", "ada@acme.example", []byte("12345678901234567890"))
	want := "otpauth://totp/Acme%20Admin:ada@acme.example?algorithm=SHA1&digits=6&issuer=Acme+Admin&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if got != want {
		t.Fatalf("uri\n got %s\nwant %s", got, want)
	}
}
