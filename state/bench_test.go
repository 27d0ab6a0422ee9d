package state

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
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

// writeSnapshotV2 writes recs as ledgerform wrote a snapshot before
// version 3: each record in full.
func writeSnapshotV2(path, lineage string, serial uint64, recs []*Record) error {
	h, _ := json.Marshal(map[string]any{"lineage": lineage, "serial": serial, "records": len(recs)})
	b := appendSummed([]byte(versionLine2), h)
	for _, r := range recs {
		js, err := json.Marshal(r)
		if err != nil {
			return err
		}
		b = appendSummed(b, js)
	}
	t, _ := json.Marshal(snapTrailer{End: true, Records: len(recs)})
	return os.WriteFile(path, appendSummed(b, t), 0o600)
}

// BenchmarkOpen_versions loads the same 100k records from a version 2
// and a version 3 snapshot, alternately, in one run: records as a drop
// folder's completed reports are (one spec for all, no failure).
func BenchmarkOpen_versions(b *testing.B) {
	records := make([]*Record, 100_000)
	for i := range records {
		r := record(i)
		r.LastError = nil
		r.Updated = time.Now().UTC()
		records[i] = &r
	}
	dirs := map[string]string{}
	for _, v := range []string{"v2", "v3"} {
		dir := b.TempDir()
		write := writeSnapshot
		if v == "v2" {
			write = writeSnapshotV2
		}
		if err := write(filepath.Join(dir, snapshotName), "bench", 100_000, records); err != nil {
			b.Fatal(err)
		}
		dirs[v] = dir
	}
	for _, v := range []string{"v2", "v3"} {
		b.Run(v, func(b *testing.B) {
			fi, _ := os.Stat(filepath.Join(dirs[v], snapshotName))
			live := heapAlloc()
			s, err := OpenReadOnly(dirs[v])
			if err != nil {
				b.Fatal(err)
			}
			liveMB := float64(heapAlloc()-live) / 1e6
			if s.Len() != 100_000 {
				b.Fatalf("%d records", s.Len())
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := OpenReadOnly(dirs[v]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(liveMB, "MB-live")
			b.ReportMetric(float64(fi.Size())/1e6, "MB-file")
			runtime.KeepAlive(s)
		})
	}
}
