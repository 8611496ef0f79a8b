// Package ids makes identifiers and secrets.
//
// Identifiers are time-ordered (48-bit milliseconds + 80 random bits, Crockford
// base32, 26 characters, like a ULID) so that sort keys built from them list
// newest or oldest first without another attribute. Secrets are 256 random
// bits; only their SHA-256 is ever stored.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"time"

	"github.com/acme/accountadmin/shared/clock"
)

// Generator makes new identifiers.
type Generator interface{ NewID() string }

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// TimeOrdered makes ULID-like identifiers from an injected clock.
type TimeOrdered struct{ Clock clock.Clock }

// NewID returns a 26-character identifier that sorts by creation time.
func (g TimeOrdered) NewID() string { return encode(g.Clock.Now()) }

// last is the previous identifier's bytes: within one millisecond (or under
// a clock that does not move, as in tests) the next identifier is the last
// one plus one, so identifiers made by one process always sort in the order
// they were made, as ULID's monotonic mode does.
var last struct {
	sync.Mutex
	ms  uint64
	b   [16]byte
	set bool
}

func encode(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	last.Lock()
	if last.set && ms <= last.ms {
		b = last.b
		for i := 15; i >= 6; i-- { // increment the 80-bit random part
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else {
		for i, m := 5, ms; i >= 0; i-- {
			b[i] = byte(m)
			m >>= 8
		}
		if _, err := rand.Read(b[6:]); err != nil {
			last.Unlock()
			panic("ids: crypto/rand failed: " + err.Error()) // never returns an error on supported platforms
		}
		// Leave headroom so increments never carry into the timestamp.
		b[6] &= 0x7f
		last.ms = ms
	}
	last.b, last.set = b, true
	last.Unlock()
	// 128 bits -> 26 base32 characters (the first carries 3 bits).
	out := make([]byte, 26)
	var acc uint64
	bits := 0
	j := 25
	for i := 15; i >= 0; i-- {
		acc |= uint64(b[i]) << bits
		bits += 8
		for bits >= 5 && j >= 0 {
			out[j] = crockford[acc&31]
			acc >>= 5
			bits -= 5
			j--
		}
	}
	out[0] = crockford[acc&31]
	return string(out)
}

// MaxLength is the longest identifier Valid accepts.
const MaxLength = 64

// Valid reports whether s can be an identifier: 1 to MaxLength ASCII
// letters, digits, '-' or '_'. Every id this service makes passes (26
// Crockford base32 characters), and so do the ones a seed or a tenant
// chooses; nothing that could bend a key ('#', the key separator; '.', the
// token separator; '/', spaces, unicode) does.
func Valid(s string) bool {
	if s == "" || len(s) > MaxLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NewSecret returns 256 bits from crypto/rand, base64url without padding.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ids: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Hash is what we store for a secret: its SHA-256, hex encoded.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
