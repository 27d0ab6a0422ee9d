// Package backoff holds the one jitter rule every retry loop of ledgerform
// uses, so that workers that failed together do not retry together.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Jitter returns a uniformly random duration in [d/2, d] for d > 0, and d
// otherwise: never longer than the delay asked for, and at least half of it.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d - rand.N(d/2+1)
}

// Exponential returns base·2ⁿ capped at max, for n ≥ 0, without overflow.
func Exponential(base, max time.Duration, n int) time.Duration {
	d := base
	for range n {
		if d >= max/2 {
			return max
		}
		d *= 2
	}
	return min(d, max)
}
