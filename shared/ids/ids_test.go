package ids

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/clock"
)

func TestIdentifiersSortInTheOrderTheyWereMade(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	g := TimeOrdered{Clock: clk}
	var made []string
	for i := range 2000 {
		if i%500 == 0 {
			clk.Advance(time.Millisecond)
		}
		made = append(made, g.NewID())
	}
	sorted := append([]string(nil), made...)
	sort.Strings(sorted)
	seen := map[string]bool{}
	for i := range made {
		if made[i] != sorted[i] {
			t.Fatalf("id %d out of order: %s", i, made[i])
		}
		if seen[made[i]] || len(made[i]) != 26 {
			t.Fatalf("bad or duplicate id %q", made[i])
		}
		seen[made[i]] = true
	}
	// A later instant always sorts after, even after many ids in one millisecond.
	clk.Advance(time.Second)
	if next := g.NewID(); next <= made[len(made)-1] {
		t.Fatalf("%s does not sort after %s", next, made[len(made)-1])
	}
}

func TestSecretsAreLongAndHashed(t *testing.T) {
	s := NewSecret()
	if len(s) != 43 || s == NewSecret() {
		t.Fatalf("secret %q", s)
	}
	if h := Hash(s); len(h) != 64 || h == s {
		t.Fatalf("hash %q", h)
	}
}

func TestValid(t *testing.T) {
	cases := []struct {
		id   string
		want bool
	}{
		{"", false},
		{"a", true},
		{"Z", true},
		{"7", true},
		{"-", true},
		{"_", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"01JD4Y1Q5E7Z3W9X2V8T6R4P0M", true},
		{"acme-eu_2", true},
		{"acc/1", false},
		{"acc#1", false},
		{"ACCOUNT#x", false},
		{"t.1", false},
		{"a b", false},
		{" a", false},
		{"a\n", false},
		{"a\x00", false},
		{"é", false},
		{"ａ", false}, // a full-width letter
		{"a" + string(rune(0x0301)), false},
		{strings.Repeat("é", 32), false}, // 64 bytes, not ASCII
		{"\xff", false},
	}
	for _, c := range cases {
		if got := Valid(c.id); got != c.want {
			t.Errorf("Valid(%q) = %v, want %v", c.id, got, c.want)
		}
	}
}

func TestEveryMadeIdentifierIsValid(t *testing.T) {
	g := TimeOrdered{Clock: clock.NewManual(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))}
	for range 1000 {
		if id := g.NewID(); !Valid(id) {
			t.Fatalf("made id %q is not Valid", id)
		}
	}
}
