// Package jobs runs the items of a scheduled job, or of a bulk request, a
// few at a time, and tallies what became of them; and keeps each scheduled
// job to one run at a time (Lease).
package jobs

import (
	"errors"
	"sync"
)

// Parallel calls fn(i) for every i in [0, n), at most workers at a time,
// and returns when all have returned.
func Parallel(n, workers int, fn func(i int)) {
	sem := make(chan struct{}, max(1, workers))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// Tally counts the outcomes of a job's items: done, skipped (an item that
// changed meanwhile, which the job reports with its own sentinel error, so
// another run or a user got there first) and failed, keeping the first
// failure for the run's error. A failure does not stop the other items.
type Tally struct {
	Done, Skipped, Failed int

	mu    sync.Mutex
	first error
}

// Each runs fn for the n items, workers at a time, and counts each outcome:
// nil is done, an error that is skip is skipped, any other failed.
func (t *Tally) Each(n, workers int, skip error, fn func(i int) error) {
	Parallel(n, workers, func(i int) {
		err := fn(i)
		t.mu.Lock()
		defer t.mu.Unlock()
		switch {
		case err == nil:
			t.Done++
		case errors.Is(err, skip):
			t.Skipped++
		default:
			t.Failed++
			if t.first == nil {
				t.first = err
			}
		}
	})
}

// Err is the first failure, nil when no item failed.
func (t *Tally) Err() error { return t.first }
