package state

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/report"
)

// TestOpen_snapshotV2 reads a version 2 snapshot (testdata/v2/state.json,
// as ledgerform wrote it before version 3) and migrates it: Close writes
// it again as version 3, with the same records.
func TestOpen_snapshotV2(t *testing.T) {
	dir := t.TempDir()
	spath := filepath.Join(dir, snapshotName)
	writeFile(t, spath, readFile(t, filepath.Join("testdata", "v2", snapshotName)))
	want := values(fixedRecords(2))
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, ro, want)
	if got := readFile(t, spath); !bytes.HasPrefix(got, []byte(versionLine2)) {
		t.Fatalf("OpenReadOnly changed the snapshot")
	}
	s := open(t, dir)
	checkRecords(t, s, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, spath); !bytes.HasPrefix(got, []byte(versionLine)) {
		t.Fatalf("after Close the snapshot starts %.40q, want the version %d line", got, Version)
	}
	s = open(t, dir)
	checkRecords(t, s, want)
	if s.Lineage() != "golden-lineage" || s.Serial() != 9 {
		t.Errorf("migrated: Lineage, Serial = %q, %d; want golden-lineage, 9", s.Lineage(), s.Serial())
	}
}

// TestOpen_snapshotV3 reads a version 3 snapshot (testdata/v3/state.json,
// as ledgerform wrote it before version 4: no endpoints, nothing reused)
// and migrates it: Close writes it again as version 4, with the same
// records; the golden version 4 file reads back as its records.
func TestOpen_snapshotV3(t *testing.T) {
	dir := t.TempDir()
	spath := filepath.Join(dir, snapshotName)
	writeFile(t, spath, readFile(t, filepath.Join("testdata", "v3", snapshotName)))
	want := values(fixedRecords(2))
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, ro, want)
	s := open(t, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, spath); !bytes.HasPrefix(got, []byte(versionLine)) {
		t.Fatalf("after Close the snapshot starts %.40q, want the version %d line", got, Version)
	}
	ro, err = OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, ro, want)

	writeFile(t, spath, readFile(t, filepath.Join("testdata", "v4", snapshotName)))
	if ro, err = OpenReadOnly(dir); err != nil {
		t.Fatal(err)
	}
	checkRecords(t, ro, values(goldenRecords()))
}

// TestJournal_lineVersion: a record with an endpoint or a reused result
// is put at journal version 3, which an older ledgerform refuses as newer
// instead of dropping the fields; others stay at version 1.
func TestJournal_lineVersion(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	plain, with := record(0), record(1)
	with.Endpoint, with.ReusedFrom = "embedded", plain.Address
	for _, r := range []Record{plain, with} {
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	lines := bytes.SplitAfter(readFile(t, filepath.Join(dir, journalName)), []byte("\n"))
	for i, want := range []int{1, 3} {
		e, err := parseLine(lines[i])
		if err != nil {
			t.Fatal(err)
		}
		if e.V != want {
			t.Errorf("line %d: version %d, want %d", i+1, e.V, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	got, _ := s.Get(with.Address)
	if got.Endpoint != "embedded" || got.ReusedFrom != plain.Address {
		t.Errorf("after reopening: endpoint %q, reused from %q", got.Endpoint, got.ReusedFrom)
	}
}

// TestLean_roundTrip writes records of every odd shape as a version 3
// snapshot and reads them back unchanged: paths that are and are not the
// statements', nil and empty lists, strings the fast reader leaves to
// encoding/json (escapes, invalid UTF-8 as encoding/json has it), a
// failure, no output, a zero time.
func TestLean_roundTrip(t *testing.T) {
	period := 3
	base := record(0)
	base.LastError = nil
	recs := []Record{base}
	add := func(f func(r *Record)) {
		r := record(len(recs))
		r.LastError = nil
		f(&r)
		recs = append(recs, r)
	}
	add(func(r *Record) { r.LastError = &Failure{Code: "X", Message: "m", Permanent: true, Step: "upload"} })
	add(func(r *Record) { r.Files[0].Path = "elsewhere.json" })
	add(func(r *Record) { r.Files[0].Path = "" })
	add(func(r *Record) { r.Files = append(r.Files, File{Path: "extra.json", Size: 1}) })
	add(func(r *Record) { r.Spec.Statements = nil; r.Files = nil })
	add(func(r *Record) { r.Spec.Statements = []string{}; r.Files = []File{} })
	add(func(r *Record) { r.Spec.Operations = nil; r.Spec.Params = nil })
	add(func(r *Record) { r.Spec.Operations = []string{}; r.Spec.Params = &report.Params{Period: &period} })
	add(func(r *Record) { r.Output = nil; r.UploadID, r.ProcessID, r.Attempts = "", "", 0; r.Phase = Pending })
	add(func(r *Record) { r.Output.Path = "out/moved.json" })
	add(func(r *Record) {
		r.Spec.Output = "a\tb\n\"c\\<d>.json"
		r.Spec.Statements[0] = "ü é.json"
		r.Files[0].Path = r.Spec.Statements[0]
	})
	add(func(r *Record) { r.Address = `drop.in["x\u2028y"]`; r.Spec.Country = "" })
	add(func(r *Record) { r.Updated = time.Time{} })
	add(func(r *Record) { r.LastError = &Failure{Message: "no code, no step"} })
	add(func(r *Record) { r.Updated = time.Date(2026, 5, 6, 7, 8, 9, 123, time.UTC) })
	add(func(r *Record) { r.Endpoint, r.ReusedFrom = "embedded", "report.r000000" })
	add(func(r *Record) { r.Endpoint, r.ReusedFrom = "http://127.0.0.1:1", `drop.in["é\"x"]` })
	// What encoding/json reads back is what a version 2 snapshot gives
	// too: the reference.
	want := make([]Record, len(recs))
	for i := range recs {
		b, err := json.Marshal(&recs[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &want[i]); err != nil {
			t.Fatal(err)
		}
	}
	ptrs := make([]*Record, len(recs))
	for i := range recs {
		ptrs[i] = &recs[i]
	}
	dir := t.TempDir()
	if err := writeSnapshot(filepath.Join(dir, snapshotName), "lean", 1, ptrs); err != nil {
		t.Fatal(err)
	}
	s, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		got, ok := s.Get(w.Address)
		if !ok {
			t.Errorf("%s: not read back", w.Address)
			continue
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s: read back\n%+v\nwant\n%+v", w.Address, got, w)
		}
	}
}

// TestLean_fastPath: a record as apply leaves it is read without
// encoding/json (which is what makes a version 3 snapshot load fast).
func TestLean_fastPath(t *testing.T) {
	r := record(7)
	r.ReusedFrom = "report.r000001"
	r.Updated = time.Now().UTC()
	b, err := json.Marshal(leanOf(&r, 0))
	if err != nil {
		t.Fatal(err)
	}
	c := leanCursor{s: string(b)}
	var l leanRecord
	if !c.record(&l) || c.i != len(c.s) {
		t.Fatalf("the fast reader gave up at byte %d of %s", c.i, b)
	}
	got, err := l.record([]leanSpec{{Operations: r.Spec.Operations, Country: r.Spec.Country, Params: r.Spec.Params}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := r
	want.Updated = r.Updated.Round(0)
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("read\n%+v\nwant\n%+v", *got, want)
	}
}

// TestLean_emptyListsFirst: "[]" reads back as an empty list, not nil,
// even as the first record the reader meets (whose scratch is nil).
func TestLean_emptyListsFirst(t *testing.T) {
	r := record(0)
	r.Spec.Statements, r.Files = []string{}, []File{}
	dir := t.TempDir()
	if err := writeSnapshot(filepath.Join(dir, snapshotName), "lean", 1, []*Record{&r}); err != nil {
		t.Fatal(err)
	}
	s, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(r.Address)
	if got.Spec.Statements == nil || got.Files == nil {
		t.Errorf("statements %#v, files %#v: want empty lists, not nil", got.Spec.Statements, got.Files)
	}
}

// TestLean_numbers: the fast reader takes the integers encoding/json
// takes, and no others.
func TestLean_numbers(t *testing.T) {
	for in, ok := range map[string]bool{"0": true, "7": true, "-12": true, "100": true, "00": false, "007": false, "-": false, "-0": true, "": false} {
		c := leanCursor{s: in + ","}
		if _, got := c.num(); got != ok {
			t.Errorf("num(%q) = %v, want %v", in, got, ok)
		}
	}
}
