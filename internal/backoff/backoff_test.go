package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

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
