package state

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/report"
)

// within runs f and fails the test if it has not returned after 10 s: a
// guard against a hang, not a measure of speed.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still blocked after 10 s", what)
	}
}

// snapshotSerial returns the serial in the header of dir's snapshot.
func snapshotSerial(t *testing.T, dir string) uint64 {
	t.Helper()
	sr := &snapReader{ld: &loaded{records: map[report.Address]*Record{}}}
	ld := sr.ld
	if err := readSnapshot(filepath.Join(dir, snapshotName), ld); err != nil {
		t.Fatal(err)
	}
	return ld.snapSerial
}

// TestStore_compactionOffLock pauses a compaction of many records while it
// writes the snapshot: Get, Records, Put and Delete go on meanwhile, the
// changes are on disk when they return, and the new journal keeps exactly
// the changes made during the write.
func TestStore_compactionOffLock(t *testing.T) {
	const n = 5000
	dir := t.TempDir()
	recs := make([]*Record, n)
	for i := range recs {
		r := record(i)
		recs[i] = &r
	}
	if err := writeSnapshot(filepath.Join(dir, snapshotName), "offlock", n, recs); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)

	entered, unpause := pauseSnapshot(t)
	compacted := make(chan error, 1)
	go func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		compacted <- s.compact()
	}()
	within(t, "compaction starting", func() { <-entered })

	// The snapshot writer is paused, holding its view at serial n.
	within(t, "Get", func() {
		if _, ok := s.Get(record(7).Address); !ok {
			t.Errorf("Get(%s): missing", record(7).Address)
		}
	})
	within(t, "Records", func() {
		if got := len(s.Records()); got != n {
			t.Errorf("Records: %d, want %d", got, n)
		}
	})
	changed := record(0)
	changed.Phase, changed.Attempts = Failed, 9
	within(t, "Put and Delete", func() {
		put(t, s, record(n))
		put(t, s, changed)
		if err := s.Delete(record(1).Address); err != nil {
			t.Error(err)
		}
	})
	news := withUpdated(t, s, []Record{changed, record(n)})
	want := append(append(news[:1:1], values(recs[2:])...), news[1])
	within(t, "OpenReadOnly", func() {
		ro, err := OpenReadOnly(dir)
		if err != nil {
			t.Fatal(err)
		}
		checkRecords(t, ro, want)
	})
	if got := journalLines(t, dir); got != 3 {
		t.Errorf("journal has %d lines during the compaction, want the 3 changes", got)
	}

	unpause()
	within(t, "compaction", func() {
		if err := <-compacted; err != nil {
			t.Errorf("compact: %v", err)
		}
	})
	testHookSnapshot = nil
	if got := snapshotSerial(t, dir); got != n {
		t.Errorf("snapshot at serial %d, want %d (the serial the compaction began at)", got, n)
	}
	if got := journalLines(t, dir); got != 3 {
		t.Errorf("journal has %d lines after the compaction, want the 3 changes made during it", got)
	}
	s.mu.Lock()
	if s.jlines != 3 || s.synced != n+3 {
		t.Errorf("jlines, synced = %d, %d; want 3, %d", s.jlines, s.synced, n+3)
	}
	s.mu.Unlock()

	// The store goes on appending to the new journal.
	put(t, s, record(n+1))
	if got := journalLines(t, dir); got != 4 {
		t.Errorf("journal has %d lines after one more Put, want 4", got)
	}
	want = append(want, withUpdated(t, s, []Record{record(n + 1)})...)
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, ro, want)
	crash(s)
	checkRecords(t, open(t, dir), want)
}

// TestStore_compactionsUnderLoad has several goroutines put while the
// journal is compacted again and again, so that compactions copy lines
// appended during their write, and readers open the state all along: each
// reader sees every change acknowledged before it opened, and after a
// crash every acknowledged change is there.
func TestStore_compactionsUnderLoad(t *testing.T) {
	defer func(m int) { compactMin = m }(compactMin)
	compactMin = 10
	dir := t.TempDir()
	s := open(t, dir)
	const writers, addrs, puts = 4, 3, 150
	var acked [writers * addrs]atomic.Int64 // the last acknowledged Attempts of each address
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 1; i <= puts; i++ {
				k := w*addrs + i%addrs
				r := record(k)
				r.Attempts = i
				if err := s.Put(r); err != nil {
					t.Error(err)
					return
				}
				acked[k].Store(int64(i))
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	check := func(s *Store, floor []int64) {
		t.Helper()
		for k := range floor {
			r, ok := s.Get(record(k).Address)
			if floor[k] > 0 && (!ok || int64(r.Attempts) < floor[k]) {
				t.Fatalf("record %d: attempts %d (found %v), want at least %d, acknowledged", k, r.Attempts, ok, floor[k])
			}
		}
	}
	reads := 0
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		default:
		}
		floor := make([]int64, len(acked))
		for k := range acked {
			floor[k] = acked[k].Load()
		}
		ro, err := OpenReadOnly(dir)
		if err != nil {
			t.Fatalf("OpenReadOnly: %v", err)
		}
		check(ro, floor)
		reads++
	}
	s.mu.Lock()
	t.Logf("%d reads, %d changes, journal of %d lines", reads, s.serial, s.jlines)
	s.mu.Unlock()
	final := make([]int64, len(acked))
	for k := range acked {
		final[k] = acked[k].Load()
	}
	crash(s)
	check(open(t, dir), final)
}

// TestStore_recordsNotChangedInPlace: a compaction writes the records
// without holding the lock, which is only safe if no record in the map is
// ever changed once there. Get and Records return copies, and Put stores
// one: check that the record written for a Put is the copy, not r.
func TestStore_recordsNotChangedInPlace(t *testing.T) {
	s := open(t, t.TempDir())
	r := record(1)
	put(t, s, r)
	s.mu.Lock()
	p := s.records[r.Address]
	s.mu.Unlock()
	before, _ := json.Marshal(p)
	got, _ := s.Get(r.Address)
	got.Spec.Operations[0], got.Files[0].Path, got.LastError.Message = "x", "x", "x"
	r.Spec.Operations[0], r.Files[0].Path = "y", "y"
	put(t, s, record(2))
	if after, _ := json.Marshal(p); string(after) != string(before) {
		t.Errorf("the record in the map changed:\n%s\nwas\n%s", after, before)
	}
	s.mu.Lock()
	q := s.records[r.Address]
	s.mu.Unlock()
	put(t, s, r)
	if after, _ := json.Marshal(q); string(after) != string(before) {
		t.Errorf("a Put changed the record it replaced: %s", fmt.Sprint(string(after)))
	}
}

// TestStore_Close_concurrent: a second Close while the first compacts
// (without the mutex) returns only once the first has released the lock.
func TestStore_Close_concurrent(t *testing.T) {
	dir, _ := crashed(t, 3)
	s := open(t, dir)
	put(t, s, record(4)) // something to compact
	entered, unpause := pauseSnapshot(t)
	first := make(chan error, 1)
	go func() { first <- s.Close() }()
	within(t, "first Close compacting", func() { <-entered })
	second := make(chan error, 1)
	go func() {
		err := s.Close()
		if err == nil {
			// Were the first Close still under way, the lock would be held.
			var s2 *Store
			if s2, err = Open(dir); err == nil {
				err = s2.Close()
			}
		}
		second <- err
	}()
	for range 100 {
		runtime.Gosched() // let the second Close reach its wait, as a rule
	}
	unpause()
	within(t, "both Closes", func() {
		if err := <-first; err != nil {
			t.Errorf("first Close: %v", err)
		}
		if err := <-second; err != nil {
			t.Errorf("second Close, then Open: %v", err)
		}
	})
}

// pauseSnapshot makes the next compaction stop once its snapshot write
// has begun: entered is closed when it has, and unpause lets it go on
// (also at the end of the test, before the Store's Close, which waits for
// the compaction).
func pauseSnapshot(t *testing.T) (entered <-chan struct{}, unpause func()) {
	in, release := make(chan struct{}), make(chan struct{})
	testHookSnapshot = func() {
		close(in)
		<-release
	}
	var once sync.Once
	unpause = func() { once.Do(func() { close(release) }) }
	t.Cleanup(func() {
		unpause()
		testHookSnapshot = nil
	})
	return in, unpause
}
