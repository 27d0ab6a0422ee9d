package engine

import (
	"sync"
	"time"
)

// A Clock tells the engine the time. Every decision a client can observe
// reads it: when a token is issued and when it expires, when an upload or a
// result expires (410 GONE) and when its id is forgotten (404 NOT_FOUND),
// and when a report's processing time (Faults.ProcessingTime) is over.
//
// Some things stay on the wall clock whatever Config.Clock is, because they
// are about real time on the wire or in the process rather than about the
// records: the injected latency (Faults.Latency) really sleeps, the rate
// limit (Faults.RateLimit) counts requests per real second, the sweeper
// that frees expired records wakes on a real ticker (it reads the Clock to
// decide what has expired, and lookups expire records themselves, so its
// period changes no answer), and logged durations are measured.
//
// Now must be safe for concurrent use and should not go backwards.
type Clock interface {
	Now() time.Time
}

// wallClock is the real clock, the Clock of a Config that sets none.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that moves only when Advance moves it, so that a
// test can step past a token's lifetime, a retention time or a processing
// time at once instead of sleeping through it. It is safe for concurrent
// use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock that reads t until advanced.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d forward. A negative d panics: the engine's
// clock never goes backwards.
func (c *ManualClock) Advance(d time.Duration) {
	if d < 0 {
		panic("engine: ManualClock.Advance with a negative duration")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
