// Package testclock is the one fake clock of the tests: a time that moves only
// when a test moves it. Components take a `Now func() time.Time`; tests pass
// (*Clock).Now. Where a test needs timers and sleeps to follow the fake time
// as well, use testing/synctest instead (genesys/transport_test.go does).
package testclock

import (
	"sync"
	"time"
)

// Clock is a fake clock, safe for concurrent use. The zero value is not
// useful; use New.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Epoch is the default start of a Clock: a fixed instant, so test output is
// reproducible.
func Epoch() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }

// New returns a clock at t (Epoch when t is zero).
func New(t time.Time) *Clock {
	if t.IsZero() {
		t = Epoch()
	}
	return &Clock{t: t}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (backward when d < 0).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
