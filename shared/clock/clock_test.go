package clock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/clock"
)

// A local clock ticks with its base, moved on by Advance and to an instant
// by Set, from wherever it was.
func TestLocalClockTicksFromWhereItWasMoved(t *testing.T) {
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	base := clock.NewManual(start)
	l := clock.NewLocal(base)
	if !l.Now().Equal(start) {
		t.Fatalf("starts at %s", l.Now())
	}
	l.Advance(192 * time.Hour)
	base.Advance(time.Minute) // real time passes
	if want := start.Add(192*time.Hour + time.Minute); !l.Now().Equal(want) {
		t.Fatalf("after advancing 8 days and a minute passing: %s, want %s", l.Now(), want)
	}
	at := time.Date(2026, 12, 20, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	l.Set(at)
	if !l.Now().Equal(at) || l.Now().Location() != time.UTC {
		t.Fatalf("set: %s", l.Now())
	}
	base.Advance(time.Hour)
	if !l.Now().Equal(at.Add(time.Hour)) {
		t.Fatalf("does not tick on from the instant set: %s", l.Now())
	}
	if l.Offset() != at.Sub(start.Add(time.Minute)) {
		t.Fatalf("offset %s", l.Offset())
	}
}

func TestLocalClockIsSafeForConcurrentUse(t *testing.T) {
	l := clock.NewLocal(clock.NewManual(time.Unix(0, 0)))
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); l.Advance(time.Second); _ = l.Now() }()
	}
	wg.Wait()
	if l.Offset() != 50*time.Second {
		t.Fatalf("offset %s", l.Offset())
	}
}
