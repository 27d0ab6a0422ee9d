package state

import (
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkPut measures one durable Put (an append and an fsync) per op.
func BenchmarkPut(b *testing.B) {
	s := open(b, b.TempDir())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		put(b, s, record(i%1000))
		i++
	}
}

// BenchmarkPut_parallel measures Puts from many goroutines, which share
// fsyncs.
func BenchmarkPut_parallel(b *testing.B) {
	s := open(b, b.TempDir())
	b.ReportAllocs()
	b.SetParallelism(8)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Put(record(int(n.Add(1) % 1000))); err != nil {
				b.Error(err)
			}
		}
	})
	s.mu.Lock()
	b.ReportMetric(float64(s.serial)/float64(max(s.nsyncs, 1)), "puts/fsync")
	s.mu.Unlock()
}

// BenchmarkOpen_100k measures loading a state of 100,000 records, and the
// heap they take once loaded.
func BenchmarkOpen_100k(b *testing.B) {
	dir := b.TempDir()
	records := make([]*Record, 100_000)
	for i := range records {
		r := record(i)
		records[i] = &r
	}
	if err := writeSnapshot(filepath.Join(dir, snapshotName), "bench", 100_000, records); err != nil {
		b.Fatal(err)
	}
	records = nil

	live := heapAlloc()
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	liveMB := float64(heapAlloc()-live) / 1e6
	if n := len(s.Records()); n != 100_000 {
		b.Fatalf("%d records", n)
	}
	s.Close()

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(liveMB, "MB-live")
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
