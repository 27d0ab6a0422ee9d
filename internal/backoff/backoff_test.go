package backoff

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestExponential(t *testing.T) {
	const ms = time.Millisecond
	for _, tt := range []struct {
		base, limit time.Duration
		n           int
		want        time.Duration
	}{
		{10 * ms, 100 * ms, 0, 10 * ms},
		{10 * ms, 100 * ms, 1, 20 * ms},
		{10 * ms, 100 * ms, 2, 40 * ms},
		{10 * ms, 100 * ms, 3, 80 * ms},
		{10 * ms, 100 * ms, 4, 100 * ms},
		{10 * ms, 100 * ms, 5, 100 * ms},
		{time.Second, 5 * time.Minute, 8, 256 * time.Second},
		{time.Second, 5 * time.Minute, 9, 5 * time.Minute},
		{time.Second, 5 * time.Minute, math.MaxInt, 5 * time.Minute},
		{time.Hour, time.Minute, 0, time.Minute}, // base above the cap
		{math.MaxInt64 / 3, math.MaxInt64, 3, math.MaxInt64},
	} {
		if got := Exponential(tt.base, tt.limit, tt.n); got != tt.want {
			t.Errorf("Exponential(%v, %v, %d) = %v, want %v", tt.base, tt.limit, tt.n, got, tt.want)
		}
	}
}

func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{1, 2, 3, time.Second, 5 * time.Minute, math.MaxInt64} {
		lo, hi := d, time.Duration(0)
		for range 2000 {
			j := Jitter(d)
			if j < d-d/2 || j > d {
				t.Fatalf("Jitter(%v) = %v, outside [%v, %v]", d, j, d-d/2, d)
			}
			lo, hi = min(lo, j), max(hi, j)
		}
		// Spread over the range, not stuck at one end (a chance of failure
		// below 2⁻³⁰⁰ for a uniform draw).
		if d >= time.Second && (lo > d/10*6 || hi < d/10*9) {
			t.Errorf("Jitter(%v) drew only from [%v, %v]", d, lo, hi)
		}
	}
	for _, d := range []time.Duration{0, -time.Second} {
		if got := Jitter(d); got != d {
			t.Errorf("Jitter(%v) = %v, want it unchanged", d, got)
		}
	}
}

func TestSleep(t *testing.T) {
	t.Run("waits for d", func(t *testing.T) {
		const d = 20 * time.Millisecond
		start := time.Now()
		if err := Sleep(context.Background(), d); err != nil {
			t.Fatalf("Sleep = %v, want nil", err)
		}
		if got := time.Since(start); got < d {
			t.Errorf("Sleep returned after %v, want at least %v", got, d)
		}
	})
	t.Run("ends with the context, giving its cause", func(t *testing.T) {
		cause := errors.New("stopped by the test")
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(10*time.Millisecond, func() { cancel(cause) })
		if err := Sleep(ctx, time.Hour); err != cause {
			t.Fatalf("Sleep = %v, want %v", err, cause)
		}
	})
	t.Run("a done context without a cause gives its error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Fatalf("Sleep = %v, want context.Canceled", err)
		}
	})
	t.Run("no wait is nil, even for a done context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, d := range []time.Duration{0, -time.Second} {
			if err := Sleep(ctx, d); err != nil {
				t.Errorf("Sleep(%v) = %v, want nil", d, err)
			}
		}
	})
}
