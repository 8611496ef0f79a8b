package jobs_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/acme/accountadmin/shared/jobs"
)

func TestParallelRunsEveryItemWithinTheBound(t *testing.T) {
	t.Parallel()
	var running, most, calls atomic.Int64
	seen := make([]atomic.Bool, 50)
	jobs.Parallel(len(seen), 4, func(i int) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		seen[i].Store(true)
		calls.Add(1)
		running.Add(-1)
	})
	if calls.Load() != 50 || most.Load() > 4 {
		t.Fatalf("%d calls, at most %d at once", calls.Load(), most.Load())
	}
	for i := range seen {
		if !seen[i].Load() {
			t.Fatalf("item %d never ran", i)
		}
	}
	jobs.Parallel(0, 4, func(int) { t.Fatal("no items, no call") })
}

func TestTallyCountsEachOutcome(t *testing.T) {
	t.Parallel()
	skip, boom := errors.New("changed meanwhile"), errors.New("boom")
	var tally jobs.Tally
	tally.Each(10, 3, skip, func(i int) error {
		switch {
		case i < 5:
			return nil
		case i < 8:
			return skip
		default:
			return boom
		}
	})
	if tally.Done != 5 || tally.Skipped != 3 || tally.Failed != 2 || !errors.Is(tally.Err(), boom) {
		t.Fatalf("done %d skipped %d failed %d, first %v", tally.Done, tally.Skipped, tally.Failed, tally.Err())
	}
	var clean jobs.Tally
	clean.Each(3, 2, skip, func(int) error { return nil })
	if clean.Err() != nil || clean.Done != 3 {
		t.Fatalf("done %d, err %v", clean.Done, clean.Err())
	}
}
