package ids

import (
	"sort"
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
