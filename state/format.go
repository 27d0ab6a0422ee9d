package state

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"strconv"

	"github.com/ledgerform/ledgerform/report"
)

// Version is the format version of the state this package writes, and the
// newest it reads: the version of the snapshot's layout. Bump it for any
// change an older ledgerform would misread or, on rewriting the snapshot,
// silently drop. Older versions are migrated: version 1 (a JSON object,
// one record a line, no checksums) and version 2 (checksummed lines, each
// record in full) are read, and the next compaction writes the current
// version; a writable Store's Close compacts a state whose snapshot is
// older, so the first apply, watch or state command after an upgrade
// migrates it. Version 4 added a record's endpoint (in the table of specs),
// the report its result was reused from and the revision of the manifests
// it was applied from; version 3 is read as it is.
const Version = 4

// journalVersion is the newest format version of journal lines, which
// have their own. Each line is written at the oldest version that has its
// operation: put and delete at version 1, whose layout has not changed
// since the first ledgerform, so that an older ledgerform still reads a
// journal this one wrote (and what it writes on top of it is a version 1
// snapshot, which this one migrates); move, added in version 2, at 2, so
// that an older ledgerform refuses it as newer (a *VersionError) rather
// than as an unknown operation. A compaction leaves no move in the
// snapshot, whose format it does not change. A put or move of a record
// that has an Endpoint, ReusedFrom or Revision (fields an older
// ledgerform would silently drop) is written at version 3.
const journalVersion = 3

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// A checksummed line, in the journal and in the snapshot, is the CRC-32C of
// its JSON in 8 lowercase hex digits, a space, the JSON and a newline.
const sumLen = len("00000000 ")

// beginLine starts a checksummed line at the end of b; endLine finishes
// the line begun at start once its JSON follows.
func beginLine(b []byte) []byte { return append(b, "00000000 "...) }

func endLine(b []byte, start int) []byte {
	crc := crc32.Checksum(b[start+sumLen:], castagnoli)
	sum := [4]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)}
	hex.Encode(b[start:start+8], sum[:])
	return append(b, '\n')
}

// appendSummed appends js as a checksummed line.
func appendSummed(b, js []byte) []byte {
	start := len(b)
	b = append(beginLine(b), js...)
	return endLine(b, start)
}

// errTorn marks a line that may be a write cut short by a crash: incomplete,
// or its checksum does not match. Only the tail of the journal may be torn.
var errTorn = errors.New("torn")

// errIncomplete is a line without its newline: a write cut short, or, to a
// reader that does not hold the lock, an append still under way.
var errIncomplete = errors.New("incomplete line (no newline at the end)")

// checkLine verifies a checksummed line, with its newline if it has one,
// and returns its JSON.
func checkLine(line []byte) ([]byte, error) {
	if len(line) == 0 || line[len(line)-1] != '\n' {
		return nil, errIncomplete
	}
	line = line[:len(line)-1]
	if len(line) < sumLen+1 || line[sumLen-1] != ' ' {
		return nil, errors.New("not a checksummed line")
	}
	var sum [4]byte
	if _, err := hex.Decode(sum[:], line[:8]); err != nil {
		return nil, fmt.Errorf("bad checksum %q", line[:8])
	}
	js := line[sumLen:]
	want := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	if got := crc32.Checksum(js, castagnoli); got != want {
		return nil, fmt.Errorf("checksum mismatch (%08x, want %08x)", got, want)
	}
	return js, nil
}

// entry is one journal line's JSON.
type entry struct {
	V       int            `json:"v"`
	Lineage string         `json:"lineage"`
	Serial  uint64         `json:"serial"`
	Op      string         `json:"op"` // opPut, opDelete or opMove
	Address report.Address `json:"address"`
	From    report.Address `json:"from,omitempty"`   // for opMove: the address the record leaves
	Record  *Record        `json:"record,omitempty"` // for opPut and opMove
}

const (
	opPut    = "put"
	opDelete = "delete"
	opMove   = "move" // the record of from, now under address: a put and a delete in one change
)

// lineVersion is the journal format version a line of op, carrying r
// (nil for a delete), is written at.
func lineVersion(op string, r *Record) int {
	switch {
	case r != nil && (r.Endpoint != "" || r.ReusedFrom != "" || r.Revision != ""):
		return 3
	case op == opMove:
		return 2
	}
	return 1
}

// appendLine appends one journal line. address, from and record are
// already JSON (from is nil but for a move, record nil for a delete), so
// the caller can encode them outside its lock; lineage is the JSON-quoted
// lineage.
func appendLine(b []byte, lineage []byte, serial uint64, v int, op string, address, from, record []byte) []byte {
	start := len(b)
	b = beginLine(b)
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(v), 10)
	b = append(b, `,"lineage":`...)
	b = append(b, lineage...)
	b = append(b, `,"serial":`...)
	b = strconv.AppendUint(b, serial, 10)
	b = append(b, `,"op":"`...)
	b = append(b, op...)
	b = append(b, `","address":`...)
	b = append(b, address...)
	if from != nil {
		b = append(b, `,"from":`...)
		b = append(b, from...)
	}
	if record != nil {
		b = append(b, `,"record":`...)
		b = append(b, record...)
	}
	b = append(b, '}')
	return endLine(b, start)
}

// parseLine parses one journal line, with its newline if it has one. An
// error wrapping errTorn means the line is damaged; any other error means
// the line is intact (its checksum matches) but not what this package
// writes.
func parseLine(line []byte) (*entry, error) {
	js, err := checkLine(line)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTorn, err)
	}
	var e entry
	if err := json.Unmarshal(js, &e); err != nil {
		var v struct {
			V int `json:"v"`
		}
		if json.Unmarshal(js, &v) == nil && v.V > journalVersion {
			return &entry{V: v.V}, nil // the caller reports the version
		}
		return nil, err
	}
	return &e, nil
}

// loaded is a state read from disk.
type loaded struct {
	records     map[report.Address]*Record
	lineage     string
	serial      uint64        // of the last change applied
	snapSerial  uint64        // of the snapshot
	snapVersion int           // of the snapshot; 0 if there is none
	jlines      int           // intact journal lines
	jgood       int64         // bytes of the journal up to the end of its last intact line
	jsize       int64         // bytes of the journal read
	torn        *CorruptError // the damaged last line dropped after jgood, if there was one
}

// load reads the snapshot and replays the journal of dir. Missing files are
// an empty state.
func load(dir string) (*loaded, error) {
	ld := &loaded{records: make(map[report.Address]*Record)}
	if err := readSnapshot(filepath.Join(dir, snapshotName), ld); err != nil {
		return nil, err
	}
	if err := readJournal(filepath.Join(dir, journalName), ld); err != nil {
		return nil, err
	}
	return ld, nil
}

// readJournal replays the journal onto ld. Lines up to the snapshot's
// serial are already in the snapshot (a crash came before a compaction
// replaced the journal) and are skipped. A damaged last line (cut short,
// or its checksum wrong) is what a crash during an append leaves: it is
// dropped, as its change was never acknowledged, and ld.torn says which
// line it was, for the caller's warning. A damaged line followed by any
// other line is not a crash's doing, and is an error naming it; so is a
// serial 0 (serials start at 1).
func readJournal(path string, ld *loaded) error {
	f, err := openExisting(path)
	if f == nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var (
		off  int64
		n    int
		torn *CorruptError
		last uint64 // serial of the previous intact line
	)
	for {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return fmt.Errorf("read state: %w", rerr)
		}
		if len(line) == 0 {
			break
		}
		n++
		corrupt := func(format string, args ...any) error {
			return &CorruptError{Path: path, Line: n, Err: fmt.Errorf(format, args...)}
		}
		if torn != nil {
			torn.Err = fmt.Errorf("%w, and lines follow it", torn.Err)
			return torn
		}
		e, err := parseLine(line)
		switch {
		case errors.Is(err, errTorn):
			torn = &CorruptError{Path: path, Line: n, Err: err}
			ld.jgood = off
		case err != nil:
			return corrupt("%v", err)
		default:
			if e.V > journalVersion {
				return &VersionError{Path: path, Version: e.V, Newest: journalVersion}
			}
			if e.V < 1 {
				return corrupt("format version %d", e.V)
			}
			if ld.lineage == "" {
				ld.lineage = e.Lineage
			}
			if e.Lineage != ld.lineage {
				return corrupt("lineage %q, but the state's is %q: the files belong to different states", e.Lineage, ld.lineage)
			}
			if e.Serial == 0 {
				return corrupt("serial 0 (serials start at 1)")
			}
			if last != 0 && e.Serial != last+1 {
				return corrupt("serial %d follows serial %d", e.Serial, last)
			}
			last = e.Serial
			if err := ld.apply(e); err != nil {
				return corrupt("%v", err)
			}
			ld.jlines++
		}
		off += int64(len(line))
		if rerr == io.EOF {
			break
		}
	}
	ld.jsize = off
	if torn == nil {
		ld.jgood = off
	} else {
		ld.torn = torn
	}
	return nil
}

// apply applies a journal entry.
func (ld *loaded) apply(e *entry) error {
	if e.Serial <= ld.snapSerial {
		return nil
	}
	if e.Serial != ld.serial+1 {
		return fmt.Errorf("serial %d, but the state is at serial %d: changes are missing", e.Serial, ld.serial)
	}
	switch e.Op {
	case opPut:
		if e.Record == nil || e.Record.Address != e.Address || e.Address == "" {
			return fmt.Errorf("put of %q without its record", e.Address)
		}
		ld.records[e.Address] = e.Record
	case opDelete:
		delete(ld.records, e.Address)
	case opMove:
		if e.Record == nil || e.Record.Address != e.Address || e.Address == "" {
			return fmt.Errorf("move to %q without its record", e.Address)
		}
		if _, ok := ld.records[e.From]; !ok {
			return fmt.Errorf("move of %q, which is not in the state", e.From)
		}
		if _, ok := ld.records[e.Address]; ok {
			return fmt.Errorf("move of %q onto %q, which is in the state", e.From, e.Address)
		}
		delete(ld.records, e.From)
		ld.records[e.Address] = e.Record
	default:
		return fmt.Errorf("unknown operation %q", e.Op)
	}
	ld.serial = e.Serial
	return nil
}

// quote returns s as a JSON string.
func quote(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
