package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/report"
)

// record returns a record with every field set, distinct per i.
func record(i int) Record {
	period, cur, yes := 6, "GBP", true
	return Record{
		Address: report.Address(fmt.Sprintf("report.r%06d", i)),
		Spec: Spec{
			Statements: []string{fmt.Sprintf("statements/r%06d.json", i)},
			Operations: []string{"categorisation", "insights-income", "simple-score"},
			Country:    "uk",
			Params: &report.Params{Period: &period, Currency: &cur, DropSharedAccounts: &yes,
				IncomeDefinition: []int{1, 2}, ExpenseDefinition: []int{3}},
			Output: fmt.Sprintf("out/r%06d.json", i),
		},
		Digest: fmt.Sprintf("%064x", i),
		Files: []File{{Path: fmt.Sprintf("statements/r%06d.json", i), Size: int64(1000 + i), MTime: 1700000000000000000 + int64(i),
			Inode: uint64(i), SHA256: fmt.Sprintf("%064x", i+1)}},
		Phase:     Completed,
		UploadID:  fmt.Sprintf("9b2d4c1e-0000-4000-8000-%012d", i),
		ProcessID: fmt.Sprintf("5f7a3b2c-0000-4000-8000-%012d", i),
		Attempts:  1,
		LastError: &Failure{Code: "SERVICE_UNAVAILABLE", Message: "try again", Step: "poll"},
		Output:    &File{Path: fmt.Sprintf("out/r%06d.json", i), Size: 4242, MTime: 1700000001000000000, SHA256: fmt.Sprintf("%064x", i+2)},
	}
}

// open opens the state in dir for writing and closes it at the end of the
// test.
func open(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t testing.TB, s *Store, r Record) {
	t.Helper()
	if err := s.Put(r); err != nil {
		t.Fatalf("Put(%s): %v", r.Address, err)
	}
}

// crash abandons s as a killed process would: no compaction, the lock
// released (by the kernel, for a real process).
func crash(s *Store) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed, s.released = true, true
	s.journal.Close()
	releaseLock(s.lock)
}

// withUpdated returns want with the Updated times the store gave them.
func withUpdated(t *testing.T, s *Store, want []Record) []Record {
	t.Helper()
	out := make([]Record, len(want))
	for i, w := range want {
		got, ok := s.Get(w.Address)
		if !ok {
			t.Fatalf("Get(%s): missing", w.Address)
		}
		if got.Updated.IsZero() || time.Since(got.Updated) > time.Minute || got.Updated.Location() != time.UTC {
			t.Errorf("Get(%s).Updated = %v, want about now, in UTC", w.Address, got.Updated)
		}
		w.Updated = got.Updated
		out[i] = w
	}
	return out
}

func checkRecords(t *testing.T, s *Store, want []Record) {
	t.Helper()
	got := s.Records()
	if len(got) != len(want) {
		t.Fatalf("Records() has %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("Records()[%d] =\n%+v\nwant\n%+v", i, got[i], want[i])
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func journalLines(t *testing.T, dir string) int {
	t.Helper()
	return bytes.Count(readFile(t, filepath.Join(dir, journalName)), []byte("\n"))
}

func TestStore_roundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".ledgerform")
	s := open(t, dir)
	if got := s.Records(); len(got) != 0 {
		t.Fatalf("new state has %d records", len(got))
	}
	for i := 3; i >= 0; i-- {
		put(t, s, record(i))
	}
	r := record(2)
	r.Phase, r.LastError = Failed, &Failure{Message: "no", Permanent: true}
	put(t, s, r)
	if err := s.Delete("report.r000001"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("report.missing"); err != nil {
		t.Fatalf("Delete of a missing address: %v", err)
	}
	if _, ok := s.Get("report.r000001"); ok {
		t.Errorf("Get after Delete found the record")
	}
	want := withUpdated(t, s, []Record{record(0), r, record(3)})
	checkRecords(t, s, want)
	lineage, serial := s.Lineage(), s.Serial()
	if lineage == "" || serial != 6 {
		t.Errorf("Lineage, Serial = %q, %d; want an id, 6", lineage, serial)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := journalLines(t, dir); n != 0 {
		t.Errorf("journal has %d lines after Close, want 0 (compacted)", n)
	}

	for _, o := range []struct {
		name string
		open func(string) (*Store, error)
	}{{"Open", Open}, {"OpenReadOnly", OpenReadOnly}} {
		s, err := o.open(dir)
		if err != nil {
			t.Fatalf("%s: %v", o.name, err)
		}
		checkRecords(t, s, want)
		if s.Lineage() != lineage || s.Serial() != serial {
			t.Errorf("%s: Lineage, Serial = %q, %d; want %q, %d", o.name, s.Lineage(), s.Serial(), lineage, serial)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStore_deepCopies(t *testing.T) {
	s := open(t, t.TempDir())
	r := record(1)
	put(t, s, r)
	want, _ := s.Get(r.Address)

	// Changing what was put, or what Get or Records returned, changes
	// nothing in the store.
	r.Spec.Operations[0] = "changed"
	*r.Spec.Params.Period = 99
	r.Files[0].Path = "changed"
	got, _ := s.Get(r.Address)
	got.Spec.Statements[0] = "changed"
	got.Spec.Params.IncomeDefinition[0] = 99
	got.LastError.Message = "changed"
	got.Output.Path = "changed"
	all := s.Records()
	all[0].Files[0].SHA256 = "changed"
	*all[0].Spec.Params.Currency = "EUR"

	if got, _ := s.Get(r.Address); !reflect.DeepEqual(got, want) {
		t.Errorf("after changing copies, Get =\n%+v\nwant\n%+v", got, want)
	}
}

// TestClone_deep fails when a field added to Record holds a reference
// that clone does not copy.
func TestClone_deep(t *testing.T) {
	var r Record
	fill(reflect.ValueOf(&r).Elem())
	c := clone(&r)
	if !reflect.DeepEqual(c, r) {
		t.Fatalf("clone differs:\n%+v\n%+v", c, r)
	}
	checkUnshared(t, "Record", reflect.ValueOf(r), reflect.ValueOf(c))
}

// fill sets every field reachable from v to a non-zero value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i))
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(7)
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

func checkUnshared(t *testing.T, path string, a, b reflect.Value) {
	switch a.Kind() {
	case reflect.Pointer:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			t.Errorf("%s: the clone shares the pointer", path)
			return
		}
		if !a.IsNil() {
			checkUnshared(t, "*"+path, a.Elem(), b.Elem())
		}
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s: the clone shares the slice", path)
			return
		}
		for i := 0; i < a.Len(); i++ {
			checkUnshared(t, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	case reflect.Map:
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: the clone shares the map", path)
		}
	case reflect.Struct:
		if a.Type() == reflect.TypeFor[time.Time]() {
			return // immutable
		}
		for i := 0; i < a.NumField(); i++ {
			checkUnshared(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	}
}

func TestStore_Put_durableBeforeClose(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	put(t, s, record(1))
	put(t, s, record(2))
	if err := s.Delete(record(1).Address); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := withUpdated(t, s, []Record{record(2)})
	checkRecords(t, ro, want)
	if ro.Lineage() != s.Lineage() || ro.Serial() != 3 {
		t.Errorf("read-only Lineage, Serial = %q, %d; want %q, 3", ro.Lineage(), ro.Serial(), s.Lineage())
	}

	// And after a crash.
	crash(s)
	s2 := open(t, dir)
	checkRecords(t, s2, want)
}

func TestOpenReadOnly_missing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".ledgerform")
	s, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Records()) != 0 || s.Serial() != 0 || s.Lineage() != "" {
		t.Errorf("missing state: %d records, serial %d, lineage %q; want empty", len(s.Records()), s.Serial(), s.Lineage())
	}
	if err := s.Put(record(1)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Put on a read-only store: %v, want ErrReadOnly", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenReadOnly created %s (stat: %v)", dir, err)
	}
}

func TestStore_closed(t *testing.T) {
	s := open(t, t.TempDir())
	put(t, s, record(1))
	s.Close()
	if err := s.Put(record(2)); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v, want ErrClosed", err)
	}
	if err := s.Delete(record(1).Address); !errors.Is(err, ErrClosed) {
		t.Errorf("Delete after Close: %v, want ErrClosed", err)
	}
	if err := s.Put(Record{}); err == nil {
		t.Errorf("Put without an address: no error")
	}
}

// crashed returns a state dir left by a crash after n Puts, with the
// records it holds.
func crashed(t *testing.T, n int) (dir string, want []Record) {
	dir = t.TempDir()
	s := open(t, dir)
	for i := range n {
		put(t, s, record(i))
		want = append(want, record(i))
	}
	want = withUpdated(t, s, want)
	crash(s)
	return dir, want
}

// A damaged last line is dropped, with one warning naming the file and
// the line; OpenReadOnly does not warn of a line without its newline (an
// append may be under way), Open truncates it away.
func TestOpen_tornTail(t *testing.T) {
	for _, tc := range []struct {
		tail       string
		incomplete bool
	}{
		{`0badcafe {"v":1,"lineage":"x","seri`, true}, // cut short, no newline
		{"0badcafe {\"v\":1}\n", false},               // checksum wrong
		{strings.Repeat("\x00", 4096), true},          // unwritten blocks
		{"\n", false},
		{"zz", true},
	} {
		tail := tc.tail
		t.Run(fmt.Sprintf("%.12q", tail), func(t *testing.T) {
			dir, want := crashed(t, 3)
			jpath := filepath.Join(dir, journalName)
			good := readFile(t, jpath)
			writeFile(t, jpath, append(bytes.Clone(good), tail...))
			warned := func(who string, ws []string, want bool) {
				t.Helper()
				if !want {
					if len(ws) != 0 {
						t.Errorf("%s warned %q, want nothing", who, ws)
					}
					return
				}
				if len(ws) != 1 || !strings.Contains(ws[0], jpath) || !strings.Contains(ws[0], "line 4") || strings.Contains(ws[0], "(torn: ") {
					t.Errorf("%s warnings = %q, want one naming %s and line 4", who, ws, jpath)
				}
			}

			ro, err := OpenReadOnly(dir)
			if err != nil {
				t.Fatalf("OpenReadOnly: %v", err)
			}
			checkRecords(t, ro, want)
			warned("OpenReadOnly", ro.Warnings(), !tc.incomplete)
			if got := readFile(t, jpath); len(got) != len(good)+len(tail) {
				t.Errorf("OpenReadOnly changed the journal")
			}

			s := open(t, dir)
			checkRecords(t, s, want)
			warned("Open", s.Warnings(), true)
			if got := readFile(t, jpath); !bytes.Equal(got, good) {
				t.Errorf("Open left the journal %q, want the damaged tail cut off", got)
			}
			put(t, s, record(3))
			want = append(want, record(3))
			want = withUpdated(t, s, want)
			crash(s)
			checkRecords(t, open(t, dir), want)
		})
	}
}

// A damaged line that is not the last is an error naming the file and
// the line, whatever follows it: an intact line, or another damaged one;
// so is a serial 0. Nothing is changed.
func TestOpen_damagedLineInTheMiddle(t *testing.T) {
	for _, tc := range []struct {
		name, tail string
		line       int
		flip       bool // flip a bit in line 2 instead
	}{
		{"a bit flip in the middle", "", 2, true},
		{"two damaged lines", strings.Repeat("\x00", 100) + "\n" + strings.Repeat("\x00", 100) + "\n", 4, false},
		{"a damaged line, then a fragment", "0badcafe {\"v\":1}\nzz", 4, false},
		{"serial 0", string(appendLine(nil, []byte(`"x"`), 0, 1, opDelete, []byte(`"report.z"`), nil, nil)), 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := crashed(t, 3)
			jpath := filepath.Join(dir, journalName)
			b := append(readFile(t, jpath), tc.tail...)
			if tc.flip {
				b[bytes.IndexByte(b, '\n')+1+20] ^= 1
			}
			writeFile(t, jpath, b)
			for _, o := range []struct {
				name string
				open func(string) (*Store, error)
			}{{"Open", Open}, {"OpenReadOnly", OpenReadOnly}} {
				_, err := o.open(dir)
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.Line != tc.line || ce.Path != jpath {
					t.Errorf("%s: %v, want a *CorruptError for line %d of %s", o.name, err, tc.line, jpath)
				} else if msg := err.Error(); !strings.Contains(msg, jpath) || !strings.Contains(msg, fmt.Sprintf("line %d", tc.line)) {
					t.Errorf("%s: error %q does not name the file and line", o.name, msg)
				}
			}
			if got := readFile(t, jpath); !bytes.Equal(got, b) {
				t.Errorf("a refused Open changed the journal")
			}
		})
	}
}

// TestOpen_crashBeforeJournalReplaced builds what a crash between a compaction's
// rename of the snapshot and its replacement of the journal leaves: a
// snapshot at serial n, and a journal whose lines up to n are in the
// snapshot.
func TestOpen_crashBeforeJournalReplaced(t *testing.T) {
	dir, want := crashed(t, 7)
	jpath := filepath.Join(dir, journalName)
	journal := readFile(t, jpath)
	lines := bytes.SplitAfter(journal, []byte("\n"))

	// The snapshot at serial 5 (Close compacts lines 1 to 5 into it).
	writeFile(t, jpath, bytes.Join(lines[:5], nil))
	s := open(t, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := journalLines(t, dir); n != 0 {
		t.Fatalf("journal has %d lines after Close", n)
	}

	t.Run("every line in the snapshot", func(t *testing.T) {
		writeFile(t, jpath, bytes.Join(lines[:5], nil))
		ro, err := OpenReadOnly(dir)
		if err != nil {
			t.Fatal(err)
		}
		checkRecords(t, ro, want[:5])
		s := open(t, dir)
		checkRecords(t, s, want[:5])
		if s.Serial() != 5 {
			t.Errorf("Serial = %d, want 5", s.Serial())
		}
		if n := journalLines(t, dir); n != 0 {
			t.Errorf("Open left %d lines already in the snapshot", n)
		}
		s.Close()
	})
	t.Run("lines after the snapshot", func(t *testing.T) {
		writeFile(t, jpath, journal)
		s := open(t, dir)
		checkRecords(t, s, want)
		if s.Serial() != 7 {
			t.Errorf("Serial = %d, want 7", s.Serial())
		}
		s.Close()
	})
}

func TestOpen_journalDoesNotContinueSnapshot(t *testing.T) {
	dir, _ := crashed(t, 7)
	jpath := filepath.Join(dir, journalName)
	journal := readFile(t, jpath)
	lines := bytes.SplitAfter(journal, []byte("\n"))

	other, _ := crashed(t, 1)
	otherLine := readFile(t, filepath.Join(other, journalName))

	for name, c := range map[string]struct {
		snapshot, journal [][]byte
	}{
		"gap after the snapshot":     {lines[:3], lines[4:7]},
		"gap inside the journal":     {nil, append(lines[:2:2], lines[3:7]...)},
		"no snapshot, no first line": {nil, lines[1:7]},
		"another lineage":            {lines[:3], [][]byte{otherLine}},
		"another lineage, no snap":   {nil, [][]byte{lines[0], otherLine}},
	} {
		t.Run(name, func(t *testing.T) {
			os.Remove(filepath.Join(dir, snapshotName))
			if c.snapshot != nil {
				writeFile(t, jpath, bytes.Join(c.snapshot, nil))
				if err := open(t, dir).Close(); err != nil {
					t.Fatal(err)
				}
			}
			writeFile(t, jpath, bytes.Join(c.journal, nil))
			_, err := Open(dir)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Path != jpath {
				t.Fatalf("Open: %v, want a *CorruptError for %s", err, jpath)
			}
			t.Log(err)
		})
	}
}

func TestOpen_removesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	stale := []string{
		filepath.Join(dir, legacyTempPrefix+"123"), // as older versions named them
		filepath.Join(dir, fsutil.TempPrefix(snapshotName)+"abc"),
		filepath.Join(dir, fsutil.TempPrefix(journalName)+"456"),
	}
	for _, p := range stale {
		writeFile(t, p, []byte("half a snapshot"))
	}
	other := filepath.Join(dir, "notes.txt")
	writeFile(t, other, nil)

	if _, err := OpenReadOnly(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("OpenReadOnly removed %s", p)
		}
	}
	open(t, dir)
	for _, p := range stale {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Open left %s", p)
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Open removed %s", other)
	}
}

func TestOpen_lockedInProcess(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	_, err := Open(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Open: %v, want a *LockedError", err)
	}
	host, _ := os.Hostname()
	if le.PID != os.Getpid() || le.Host != host || le.Path != dir || time.Since(le.Since) > time.Minute {
		t.Errorf("LockedError = %+v, want pid %d, host %s, path %s, since about now", le, os.Getpid(), host, dir)
	}
	if msg, want := err.Error(), fmt.Sprintf("state %s is locked by pid %d on host %s since ", dir, os.Getpid(), host); !strings.HasPrefix(msg, want) {
		t.Errorf("error %q, want it to start %q", msg, want)
	}
	// A reader is not blocked.
	if _, err := OpenReadOnly(dir); err != nil {
		t.Errorf("OpenReadOnly while locked: %v", err)
	}
	s.Close()
	open(t, dir)
}

func TestStore_compaction(t *testing.T) {
	defer func(m int) { compactMin = m }(compactMin)
	compactMin = 100
	dir := t.TempDir()
	s := open(t, dir)
	const addrs, puts = 20, 360 // puts a multiple of addrs
	for i := range puts {
		r := record(i % addrs)
		r.Attempts = i
		put(t, s, r)
	}
	if n := journalLines(t, dir); n > compactMin {
		t.Errorf("journal has %d lines after %d Puts, want at most %d", n, puts, compactMin)
	}
	if _, err := os.Stat(filepath.Join(dir, snapshotName)); err != nil {
		t.Errorf("no snapshot after compaction: %v", err)
	}
	var want []Record
	for i := range addrs {
		r := record(i)
		r.Attempts = puts - addrs + i
		want = append(want, r)
	}
	want = withUpdated(t, s, want)
	checkRecords(t, s, want)
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, ro, want)
	if ro.Serial() != puts {
		t.Errorf("Serial = %d, want %d", ro.Serial(), puts)
	}
	crash(s)
	checkRecords(t, open(t, dir), want)
}

func TestStore_concurrentPuts(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	const writers, each = 32, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := record(w*each + i)
				if err := s.Put(r); err != nil {
					t.Error(err)
				}
				if i%5 == 4 {
					if err := s.Delete(r.Address); err != nil {
						t.Error(err)
					}
				}
				s.Get(r.Address)
			}
		})
	}
	wg.Wait()
	want := map[report.Address]bool{}
	for i := range writers * each {
		if i%each%5 != 4 {
			want[record(i).Address] = true
		}
	}
	check := func(s *Store) {
		t.Helper()
		got := s.Records()
		if len(got) != len(want) {
			t.Errorf("%d records, want %d", len(got), len(want))
		}
		for _, r := range got {
			if !want[r.Address] {
				t.Errorf("unexpected %s", r.Address)
			}
		}
	}
	check(s)
	s.mu.Lock()
	changes, syncs := int(s.serial), s.nsyncs
	s.mu.Unlock()
	t.Logf("%d changes, %d fsyncs", changes, syncs)
	if changes != writers*each*6/5 {
		t.Errorf("serial %d, want %d", changes, writers*each*6/5)
	}
	if syncs >= changes {
		t.Errorf("%d fsyncs for %d changes: no group commit", syncs, changes)
	}
	crash(s)
	check(open(t, dir))
}

// TestOpenReadOnly_duringCompactions reads the state while a writer keeps
// compacting it: every read must succeed and see a state the writer had.
func TestOpenReadOnly_duringCompactions(t *testing.T) {
	defer func(m int) { compactMin = m }(compactMin)
	compactMin = 10
	dir := t.TempDir()
	s := open(t, dir)
	const puts = 400
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range puts {
			r := record(i % 5)
			r.Attempts = i + 1
			if err := s.Put(r); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	reads := 0
	for {
		select {
		case <-done:
			if reads < 10 {
				t.Logf("only %d reads", reads)
			}
			return
		default:
		}
		ro, err := OpenReadOnly(dir)
		if err != nil {
			t.Fatalf("OpenReadOnly: %v", err)
		}
		reads++
		// Record i%5 was last put as change i+1: the state at serial n
		// holds, for each address, the last such change at or before n.
		n := int(ro.Serial())
		for _, r := range ro.Records() {
			var k int
			fmt.Sscanf(string(r.Address), "report.r%d", &k)
			if last := n - ((n - 1 - k) % 5); r.Attempts != last {
				t.Fatalf("at serial %d, %s has attempts %d, want %d", n, r.Address, r.Attempts, last)
			}
		}
	}
}

// TestStore_Move: a move is one journal line, at journal version 2 (so an
// older ledgerform refuses it as newer), while puts and deletes stay at
// version 1; it is replayed after a crash, and a crash that cuts its line
// short leaves the record where it was.
func TestStore_Move(t *testing.T) {
	dir, want := crashed(t, 2)
	jpath := filepath.Join(dir, journalName)
	before := readFile(t, jpath)
	s := open(t, dir)
	to := report.ReportAddress("renamed")
	if err := s.Move(want[0].Address, to); err != nil {
		t.Fatalf("Move: %v", err)
	}
	moved, _ := s.Get(to)
	crash(s)

	line := bytes.TrimPrefix(readFile(t, jpath), before)
	if n := bytes.Count(line, []byte("\n")); n != 1 {
		t.Fatalf("Move appended %d journal lines, want 1: %q", n, line)
	}
	e, err := parseLine(line)
	if err != nil || e.V != 2 || e.Op != opMove || e.From != want[0].Address || e.Address != to || e.Record == nil {
		t.Errorf("the move's journal line = %q (%v), want a version 2 move from %s to %s with its record", line, err, want[0].Address, to)
	}
	for i, l := range bytes.SplitAfter(before, []byte("\n")) {
		if e, err := parseLine(l); err == nil && e.V != 1 {
			t.Errorf("journal line %d (a %s) has version %d, want 1", i+1, e.Op, e.V)
		}
	}

	// Replayed after a crash.
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatalf("OpenReadOnly after the move: %v", err)
	}
	checkRecords(t, ro, []Record{want[1], moved})

	// Cut short by a crash: not acknowledged, and nothing moved.
	writeFile(t, jpath, append(bytes.Clone(before), line[:len(line)/2]...))
	checkRecords(t, open(t, dir), want)
}

// TestStore_Move_refused: a move from a missing address, or onto a
// recorded one, changes nothing, not even the journal.
func TestStore_Move_refused(t *testing.T) {
	dir, want := crashed(t, 2)
	s := open(t, dir)
	n := journalLines(t, dir)
	for _, m := range [][2]report.Address{{"report.missing", "report.x"}, {want[0].Address, want[1].Address}, {want[0].Address, want[0].Address}, {want[0].Address, ""}} {
		if err := s.Move(m[0], m[1]); err == nil {
			t.Errorf("Move(%q, %q): no error", m[0], m[1])
		}
	}
	checkRecords(t, s, want)
	if got := journalLines(t, dir); got != n {
		t.Errorf("refused moves appended %d journal lines", got-n)
	}
}

// TestOpenWait: OpenWait takes the lock once its holder
// lets it go within the wait, and otherwise fails as it would at once,
// naming the holder and saying it waited.
func TestOpenWait(t *testing.T) {
	dir := t.TempDir()
	holder := open(t, dir)

	_, err := OpenWait(context.Background(), dir, 50*time.Millisecond)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.Waited <= 0 {
		t.Fatalf("OpenWait for a lock that stays held: %v, want a *LockedError naming pid %d with Waited set", err, os.Getpid())
	}
	if !strings.Contains(err.Error(), "after waiting") {
		t.Errorf("error %q does not say it waited", err)
	}

	// A wait that ctx ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := OpenWait(ctx, dir, time.Hour); !errors.As(err, &le) {
		t.Errorf("OpenWait with a context that ended: %v, want a *LockedError", err)
	}

	// The holder lets go while Open waits.
	go func() {
		time.Sleep(100 * time.Millisecond)
		holder.Close()
	}()
	s, err := OpenWait(context.Background(), dir, time.Minute)
	if err != nil {
		t.Fatalf("OpenWait for a lock its holder releases: %v", err)
	}
	s.Close()
}
