package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/reconcile"
)

// uploadClock records when each upload starts, by file name.
type uploadClock struct {
	reconcile.API
	mu    sync.Mutex
	start map[string]time.Time
	seen  chan string
}

func (u *uploadClock) Upload(ctx context.Context, files ...api.File) (*api.Upload, error) {
	u.mu.Lock()
	u.start[files[0].Name] = time.Now()
	u.mu.Unlock()
	u.seen <- files[0].Name
	return u.API.Upload(ctx, files...)
}

// BenchmarkDropToUpload measures, for files renamed into a drop folder
// one at a time, the time from the rename to the start of the file's
// upload, less the quiet period a dropped file must stay unchanged. It
// reports the median and the 99th percentile (target: p99 under 300 ms).
// Run it with a fixed count: go test -run '^$' -bench DropToUpload -benchtime 100x ./daemon/
func BenchmarkDropToUpload(b *testing.B) {
	const quiet = 200 * time.Millisecond
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "inbox"), 0o700)
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("drops:\n  - {name: inbox, dir: inbox, operations: [categorisation], country: uk}\n"), 0o600)
	clock := &uploadClock{start: map[string]time.Time{}, seen: make(chan string, 16)}
	h := start(b, dir, Config{Quiet: quiet, Debounce: 50 * time.Millisecond}, engine.Config{},
		func(api reconcile.API) reconcile.API { clock.API = api; return clock })
	h.eventually("ready", h.settled)
	staging := b.TempDir()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("f%05d.json", i)
		tmp := filepath.Join(staging, name)
		os.WriteFile(tmp, []byte(statement(i)), 0o600)
		t0 := time.Now()
		if err := os.Rename(tmp, filepath.Join(dir, "inbox", name)); err != nil {
			b.Fatal(err)
		}
		select {
		case got := <-clock.seen:
			if got != name {
				b.Fatalf("upload of %s, want %s", got, name)
			}
		case <-time.After(30 * time.Second):
			b.Fatalf("%s was never uploaded", name)
		}
		clock.mu.Lock()
		lat = append(lat, clock.start[name].Sub(t0)-quiet)
		clock.mu.Unlock()
	}
	b.StopTimer()
	if os.Getenv("LEDGERFORM_BENCH_VERBOSE") != "" {
		b.Logf("latencies beyond quiet, in order: %v", lat)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms-beyond-quiet")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms-beyond-quiet")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms-beyond-quiet")
}
