package watch

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkDropLatency measures the watcher's part of the drop-to-upload
// latency: from the rename of a complete file into a drop dir to its Batch
// arriving, minus Quiet (which is the price of not taking a file that is
// still being written). Each iteration lasts about Quiet, so run it with a
// fixed count for meaningful percentiles, e.g. -benchtime=200x.
func BenchmarkDropLatency(b *testing.B) {
	const quiet = 200 * time.Millisecond
	root := b.TempDir()
	drop := mkdir(b, filepath.Join(root, "drop"))
	stage := mkdir(b, filepath.Join(root, "stage"))
	w := start(b, Config{Quiet: quiet, Logger: slog.New(slog.DiscardHandler)}, Dir{Path: drop, Drop: true})

	beyond := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("s%06d.json", i)
		from := write(b, filepath.Join(stage, name), `{"transactions":[]}`)
		to := filepath.Join(drop, name)
		t0 := time.Now()
		rename(b, from, to)
		got := next(b, w)
		beyond = append(beyond, time.Since(t0)-quiet)
		if !slices.Equal(got.Paths, []string{to}) || got.Resync {
			b.Fatalf("batch %+v, want %s", got, to)
		}
	}
	b.StopTimer()

	slices.Sort(beyond)
	pct := func(p float64) float64 {
		i := min(int(p*float64(len(beyond))), len(beyond)-1)
		return float64(beyond[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms-beyond-quiet")
	b.ReportMetric(pct(0.99), "p99-ms-beyond-quiet")
	b.ReportMetric(pct(1), "max-ms-beyond-quiet")
}
