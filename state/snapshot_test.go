package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// summedLine returns js as a checksummed line.
func summedLine(js string) []byte { return appendSummed(nil, []byte(js)) }

// snapshotOf2 returns a state dir whose snapshot (version 2, no journal)
// holds record(0) and record(1), and those records: lines 1 to 5 are the
// version, the header, record(0), record(1) and the trailer.
func snapshotOf2(t *testing.T) (dir string, want []Record) {
	t.Helper()
	dir, want = crashed(t, 2)
	if err := open(t, dir).Close(); err != nil {
		t.Fatal(err)
	}
	return dir, want
}

// fixedRecords returns record(i) for i < n with fixed Updated times, as
// testdata/v1/state.json holds them.
func fixedRecords(n int) []*Record {
	recs := make([]*Record, n)
	for i := range recs {
		r := record(i)
		r.Updated = time.Date(2026, 1, 2, 3, 4, 5, 6000+i, time.UTC)
		recs[i] = &r
	}
	return recs
}

func values(recs []*Record) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = *r
	}
	return out
}

// goldenRecords are the records of testdata/v4/state.json: the second
// has an endpoint, was reused from the first, and records a revision.
func goldenRecords() []*Record {
	recs := fixedRecords(2)
	recs[1].Endpoint, recs[1].ReusedFrom = "http://127.0.0.1:8080", recs[0].Address
	recs[1].Revision = "0123456789abcdef0123456789abcdef01234567"
	return recs
}

// TestWriteSnapshot_golden pins the layout of a version 4 snapshot, as the
// package doc shows it. go test -run TestWriteSnapshot_golden -update
// rewrites it after a deliberate change (which needs a new Version).
func TestWriteSnapshot_golden(t *testing.T) {
	path := filepath.Join(t.TempDir(), snapshotName)
	if err := writeSnapshot(path, "golden-lineage", 9, goldenRecords()); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	golden := filepath.Join("testdata", "v4", snapshotName)
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, golden, got)
	}
	if want := readFile(t, golden); !bytes.Equal(got, want) {
		t.Errorf("writeSnapshot wrote\n%s\nwant (%s)\n%s", got, golden, want)
	}
	lines := bytes.SplitAfter(got, []byte("\n"))
	if len(lines) != 6 || len(lines[5]) != 0 || string(lines[0]) != versionLine {
		t.Fatalf("want the version line, a header, 2 records and a trailer; got %q", lines)
	}
	for i, l := range lines[1:5] {
		if _, err := checkLine(l); err != nil {
			t.Errorf("line %d: %v", i+2, err)
		}
	}
}

// TestOpen_damagedSnapshot damages a version 2 snapshot in every way a
// disk or a hand might, and expects each to be refused, naming the line,
// never read as a different state.
func TestOpen_damagedSnapshot(t *testing.T) {
	dir, _ := snapshotOf2(t)
	spath := filepath.Join(dir, snapshotName)
	good := readFile(t, spath)
	lines := bytes.SplitAfter(good, []byte("\n"))[:5]
	join := func(ls ...[]byte) []byte { return bytes.Join(ls, nil) }
	replaceIn := func(n int, old, new string) []byte {
		t.Helper()
		l := lines[n-1]
		if !bytes.Contains(l, []byte(old)) {
			t.Fatalf("line %d has no %q", n, old)
		}
		ls := append([][]byte(nil), lines...)
		ls[n-1] = bytes.Replace(l, []byte(old), []byte(new), 1)
		return join(ls...)
	}
	var header snapHeader
	js, _ := checkLine(lines[1])
	json.Unmarshal(js, &header)
	// hdr is a header of the lineage x with the specs of the good one.
	hdr := func(serial, records int) []byte {
		t.Helper()
		b, err := json.Marshal(snapHeader{Lineage: "x", Serial: uint64(serial), Records: records, Specs: header.Specs})
		if err != nil {
			t.Fatal(err)
		}
		return summedLine(string(b))
	}

	for _, c := range []struct {
		name string
		b    []byte
		line int
		msg  string // in the error
	}{
		// One byte changed inside a value, which without the checksums
		// reads as a different phase, address, id or serial.
		{"phase", replaceIn(3, `"phase":"completed"`, `"phase":"complfted"`), 3, "checksum mismatch"},
		{"address", replaceIn(4, `"address":"report.r000001"`, `"address":"report.r000003"`), 4, "checksum mismatch"},
		{"digit of an id", replaceIn(4, `-000000000001"`, `-000000000007"`), 4, "checksum mismatch"},
		{"serial", replaceIn(2, fmt.Sprintf(`"serial":%d`, header.Serial), fmt.Sprintf(`"serial":%d`, header.Serial+1)), 2, "checksum mismatch"},
		{"checksum", replaceIn(5, string(lines[4][:1]), "x"), 5, "bad checksum"},
		{"newline lost", join(lines[0], lines[1], bytes.TrimSuffix(lines[2], []byte("\n")), lines[3], lines[4]), 3, "checksum mismatch"},

		// Lines missing, added, repeated or moved.
		{"record missing", join(lines[0], lines[1], lines[2], lines[4]), 4, "ends after 1 records, but its header says 2"},
		{"record repeated", join(lines[0], lines[1], lines[2], lines[2], lines[3], lines[4]), 4, "out of order or repeated"},
		{"records swapped", join(lines[0], lines[1], lines[3], lines[2], lines[4]), 4, "out of order or repeated"},
		{"line added", join(good, lines[3]), 6, "data after the end"},
		{"no trailer", join(lines[:4]...), 5, "the file ends before its last line"},
		{"cut in a line", good[:len(good)-len(lines[4])-10], 4, "incomplete line"},
		{"no header", join(lines[0], lines[2], lines[3], lines[4]), 2, "unknown field \"address\""},
		{"no version line", join(lines[1:]...), 1, "not the first line of a snapshot"},
		{"empty", nil, 1, "empty file"},
		{"garbage", []byte("not json\n"), 1, "not the first line of a snapshot"},
		{"zeros", make([]byte, 4096), 1, "not the first line of a snapshot"},
		{"version line cut", []byte(versionLine[:12]), 1, "incomplete line"},

		// Lines intact on their own that do not fit together.
		{"header counts more", join(lines[0], hdr(2, 3), lines[2], lines[3], lines[4]), 5, "ends after 2 records, but its header says 3"},
		{"header counts fewer", join(lines[0], hdr(2, 1), lines[2], lines[3], lines[4]), 4, "a record after the 1 the header counts"},
		{"trailer counts otherwise", join(lines[0], lines[1], lines[2], lines[3], summedLine(`{"end":true,"records":3}`)), 5, "the last line counts 3 records"},
		{"record without an address", join(lines[0], hdr(2, 1), summedLine(`{"address":""}`), summedLine(`{"end":true,"records":1}`)), 3, "record without an address"},
		{"header without a lineage", join(lines[0], summedLine(`{"serial":2,"records":0}`), summedLine(`{"end":true,"records":0}`)), 2, "without a lineage"},
	} {
		t.Run(c.name, func(t *testing.T) {
			writeFile(t, spath, c.b)
			for _, o := range []struct {
				name string
				open func(string) (*Store, error)
			}{{"Open", Open}, {"OpenReadOnly", OpenReadOnly}} {
				s, err := o.open(dir)
				if err == nil {
					s.Close()
				}
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.Path != spath || ce.Line != c.line {
					t.Fatalf("%s: %v, want a *CorruptError for line %d of %s", o.name, err, c.line, spath)
				}
				if msg := err.Error(); !strings.Contains(msg, spath) || !strings.Contains(msg, fmt.Sprintf("line %d:", c.line)) || !strings.Contains(msg, c.msg) {
					t.Errorf("%s: error %q, want it to name %s, line %d, and say %q", o.name, msg, spath, c.line, c.msg)
				}
			}
			if got := readFile(t, spath); !bytes.Equal(got, c.b) {
				t.Errorf("a refused Open changed the snapshot")
			}
		})
	}
}

// TestOpen_damagedSnapshotInParallel damages a snapshot of many records,
// decoded in several batches, in several places: the error is always of
// the first, and records out of order are found across batches too.
func TestOpen_damagedSnapshotInParallel(t *testing.T) {
	dir := t.TempDir()
	spath := filepath.Join(dir, snapshotName)
	recs := make([]*Record, 3000)
	for i := range recs {
		r := record(i)
		recs[i] = &r
	}
	if err := writeSnapshot(spath, "x", 1, recs); err != nil {
		t.Fatal(err)
	}
	good := bytes.SplitAfter(readFile(t, spath), []byte("\n"))
	// The line that ends the first batch.
	end, size := 2, 0
	for ; size < batchSize; end++ {
		size += len(good[end])
	}
	if end > 2000 {
		t.Fatalf("the first batch ends at line %d: too few batches", end)
	}
	flip := func(lines [][]byte, n int) {
		lines[n-1] = bytes.Replace(lines[n-1], []byte("completed"), []byte("complfted"), 1)
	}
	for _, c := range []struct {
		name   string
		damage func(lines [][]byte)
		line   int
	}{
		{"two flipped bytes", func(ls [][]byte) { flip(ls, 2901); flip(ls, 1501) }, 1501},
		{"swapped in a batch", func(ls [][]byte) { ls[99], ls[100] = ls[100], ls[99]; flip(ls, 2000) }, 101},
		{"swapped across batches", func(ls [][]byte) { ls[end-1], ls[end] = ls[end], ls[end-1]; flip(ls, 2000) }, end + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := make([][]byte, len(good))
			for i := range good {
				lines[i] = bytes.Clone(good[i])
			}
			c.damage(lines)
			writeFile(t, spath, bytes.Join(lines, nil))
			for range 5 {
				_, err := OpenReadOnly(dir)
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.Line != c.line {
					t.Fatalf("OpenReadOnly: %v, want a *CorruptError for line %d", err, c.line)
				}
			}
		})
	}
}

// TestOpen_snapshotV1 reads a version 1 snapshot, as version 1 wrote it
// (testdata/v1/state.json was written by it), and migrates it: Close
// writes it again in the current version.
func TestOpen_snapshotV1(t *testing.T) {
	v1 := readFile(t, filepath.Join("testdata", "v1", snapshotName))
	want := values(fixedRecords(3))

	t.Run("as written", func(t *testing.T) {
		dir := t.TempDir()
		spath := filepath.Join(dir, snapshotName)
		writeFile(t, spath, v1)
		ro, err := OpenReadOnly(dir)
		if err != nil {
			t.Fatal(err)
		}
		checkRecords(t, ro, want)
		if ro.Lineage() != "v1-lineage" || ro.Serial() != 7 {
			t.Errorf("Lineage, Serial = %q, %d; want v1-lineage, 7", ro.Lineage(), ro.Serial())
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
		if s.Lineage() != "v1-lineage" || s.Serial() != 7 {
			t.Errorf("migrated: Lineage, Serial = %q, %d; want v1-lineage, 7", s.Lineage(), s.Serial())
		}
	})

	t.Run("with a journal", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, snapshotName), v1)
		r := record(3)
		r.Updated = time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)
		raw, _ := json.Marshal(&r)
		writeFile(t, filepath.Join(dir, journalName),
			appendLine(nil, quote("v1-lineage"), 8, 1, opPut, quote(string(r.Address)), nil, raw))
		s := open(t, dir)
		checkRecords(t, s, append(want, r))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		checkRecords(t, open(t, dir), append(want, r))
	})

	t.Run("no records", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, snapshotName), []byte(`{"version":1,"lineage":"x","serial":3,"records":[`+"\n]}\n"))
		s := open(t, dir)
		if s.Len() != 0 || s.Serial() != 3 || s.Lineage() != "x" {
			t.Errorf("Len, Serial, Lineage = %d, %d, %q; want 0, 3, x", s.Len(), s.Serial(), s.Lineage())
		}
	})

	// A version 1 snapshot in any other layout, or damaged, is refused:
	// only version 1's own writer made them, and it made them one way.
	var indented, compacted bytes.Buffer
	json.Indent(&indented, v1, "", "\t")
	json.Compact(&compacted, v1)
	lines := bytes.SplitAfter(v1, []byte("\n"))
	for _, c := range []struct {
		name string
		b    []byte
		line int
	}{
		{"indented", indented.Bytes(), 1},
		{"compacted", compacted.Bytes(), 1},
		{"reordered", []byte(`{"version":1,"records":[],"lineage":"x","serial":0}` + "\n"), 1},
		{"comma after the last", bytes.Join([][]byte{lines[0], lines[1], lines[2], lines[3][:len(lines[3])-1], []byte(",\n"), lines[4]}, nil), 5},
		{"record after the last", bytes.Join([][]byte{lines[0], lines[3], lines[1], lines[4]}, nil), 3},
		{"truncated", v1[:len(v1)-len(lines[4])], 5},
		{"trailing data", append(bytes.Clone(v1), "{}\n"...), 6},
		{"bad record", bytes.Replace(v1, []byte(`"attempts":1`), []byte(`"attempts":"1"`), 1), 2},
		{"records repeated", bytes.Join([][]byte{lines[0], lines[1], lines[1], lines[3], lines[4]}, nil), 3},
		{"unknown header field", bytes.Replace(v1, []byte(`"serial":7`), []byte(`"serial":7,"x":1`), 1), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			spath := filepath.Join(dir, snapshotName)
			writeFile(t, spath, c.b)
			s, err := Open(dir)
			if err == nil {
				s.Close()
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Path != spath || ce.Line != c.line {
				t.Fatalf("Open: %v, want a *CorruptError for line %d of %s", err, c.line, spath)
			}
			t.Log(err)
		})
	}
}

func TestOpen_newerVersion(t *testing.T) {
	for _, c := range []struct {
		name, file string
		b          []byte
		version    int
	}{
		// As the next version will write it, and as any JSON that says so.
		{"snapshot", snapshotName, fmt.Appendf(nil, "{\"version\":%d}\n%s", Version+1, summedLine(`{"new":"header"}`)), Version + 1},
		{"snapshot in one line", snapshotName, fmt.Appendf(nil, `{"version":%d,"lineage":"x","serial":1,"records":[{"address":"a","new":{"shape":1}}],"more":2}`, Version+1), Version + 1},
		{"journal", journalName, summedLine(fmt.Sprintf(`{"v":%d,"lineage":"x","serial":"1a","op":"rename"}`, journalVersion+1)), journalVersion + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, c.file)
			writeFile(t, path, c.b)
			for _, open := range []func(string) (*Store, error){Open, OpenReadOnly} {
				_, err := open(dir)
				var ve *VersionError
				if !errors.As(err, &ve) || ve.Version != c.version || ve.Path != path {
					t.Fatalf("open: %v, want a *VersionError for version %d of %s", err, c.version, path)
				}
				if msg := err.Error(); !strings.Contains(msg, "newer ledgerform") || !strings.Contains(msg, "upgrade") {
					t.Errorf("error %q does not say to upgrade", msg)
				}
			}
		})
	}
}

// TestOpen_snapshotV2ByVersion1 checks the first line of a version 2
// snapshot against what version 1's reader did with a snapshot's start:
// take `{"version":` and the number after it as the version, before any
// other field. So version 1 refuses a version 2 snapshot as too new, not
// as damaged (which would tell the user to move the state aside).
func TestOpen_snapshotV2ByVersion1(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(versionLine))
	for _, want := range []any{json.Delim('{'), "version", float64(Version)} {
		if tok, err := dec.Token(); err != nil || tok != want {
			t.Fatalf("token %v (%v), want %v", tok, err, want)
		}
	}
}
