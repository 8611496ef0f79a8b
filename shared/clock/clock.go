// Package clock injects time so expiry, billing periods and sessions are
// tested exactly. Nothing in the project calls time.Now directly.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface{ Now() time.Time }

// System is the real clock (UTC).
type System struct{}

func (System) Now() time.Time { return time.Now().UTC() }

// Manual is a clock a test moves by hand. It is safe for concurrent use.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual starts a manual clock at t.
func NewManual(t time.Time) *Manual { return &Manual{now: t.UTC()} }

func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
}

// Set moves the clock to t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.now = t.UTC()
	m.mu.Unlock()
}

// Sleep waits d in real time (a backoff, a settling pause: time that must
// really pass, whatever the injected clock says), or until ctx is done, in
// which case it returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Local is the clock of the local stack (`make dev`): real time moved on by
// hand (POST /_local/clock), so that a 7-day expiry or a billing period can
// be tried without waiting for it. It keeps ticking from where it was set.
// Every function the local HTTP API serves and every job it fires share one
// Local; deployed functions use System. It is safe for concurrent use.
type Local struct {
	base   Clock
	mu     sync.Mutex
	offset time.Duration
}

// NewLocal starts a local clock at base's time (base: System, or a Manual
// in tests).
func NewLocal(base Clock) *Local { return &Local{base: base} }

func (l *Local) Now() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.base.Now().Add(l.offset).UTC()
}

// Advance moves the clock forward by d.
func (l *Local) Advance(d time.Duration) {
	l.mu.Lock()
	l.offset += d
	l.mu.Unlock()
}

// Set moves the clock to t; it ticks on from there.
func (l *Local) Set(t time.Time) {
	l.mu.Lock()
	l.offset = t.Sub(l.base.Now())
	l.mu.Unlock()
}

// Offset is how far the clock is from base's time.
func (l *Local) Offset() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.offset
}
