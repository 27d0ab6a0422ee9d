// Package backoff holds the one jitter rule every retry loop of ledgerform
// uses, so that workers that failed together do not retry together, and
// the one way they wait.
package backoff

import (
	"context"
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

// Sleep waits for d, or until ctx is done if that comes first. It returns
// nil once d has passed, and context.Cause(ctx) when ctx ended the wait. A
// d ≤ 0 returns nil at once without looking at ctx: a caller that must not
// go on with a done context checks it itself (a rate limiter's Wait does).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
