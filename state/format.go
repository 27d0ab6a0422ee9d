package state

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ledgerform/ledgerform/report"
)

// Version is the format version this package writes and the newest it
// reads. Bump it for any change an older ledgerform would misread or, on
// rewriting the snapshot, silently drop; older versions are migrated on
// load (there are none yet).
const Version = 1

// The files of a state directory.
const (
	snapshotName = "state.json"
	journalName  = "journal"
	lockName     = "lock"
	tempPrefix   = snapshotName + ".tmp-"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// entry is one journal line's JSON.
type entry struct {
	V       int            `json:"v"`
	Lineage string         `json:"lineage"`
	Serial  uint64         `json:"serial"`
	Op      string         `json:"op"` // opPut or opDelete
	Address report.Address `json:"address"`
	Record  *Record        `json:"record,omitempty"` // for opPut
}

const (
	opPut    = "put"
	opDelete = "delete"
)

// appendLine appends one journal line: the CRC-32C of the JSON in 8 hex
// digits, a space, the JSON, a newline. address and record are already JSON
// (record is nil for a delete), so the caller can encode them outside its
// lock; lineage is the JSON-quoted lineage.
func appendLine(b []byte, lineage []byte, serial uint64, op string, address, record []byte) []byte {
	start := len(b)
	b = append(b, "00000000 "...)
	js := len(b)
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, Version, 10)
	b = append(b, `,"lineage":`...)
	b = append(b, lineage...)
	b = append(b, `,"serial":`...)
	b = strconv.AppendUint(b, serial, 10)
	b = append(b, `,"op":"`...)
	b = append(b, op...)
	b = append(b, `","address":`...)
	b = append(b, address...)
	if record != nil {
		b = append(b, `,"record":`...)
		b = append(b, record...)
	}
	b = append(b, '}')
	var sum [4]byte
	crc := crc32.Checksum(b[js:], castagnoli)
	sum[0], sum[1], sum[2], sum[3] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	hex.Encode(b[start:start+8], sum[:])
	return append(b, '\n')
}

// errTorn marks a line that may be a write cut short by a crash: incomplete,
// or its checksum does not match. Only the tail of the journal may be torn.
var errTorn = errors.New("torn")

// parseLine parses one journal line, with its newline if it has one. An
// error wrapping errTorn means the line is damaged; any other error means
// the line is intact (its checksum matches) but not what this package
// writes.
func parseLine(line []byte) (*entry, error) {
	if len(line) == 0 || line[len(line)-1] != '\n' {
		return nil, fmt.Errorf("%w: incomplete line (no newline at the end)", errTorn)
	}
	line = line[:len(line)-1]
	if len(line) < 10 || line[8] != ' ' {
		return nil, fmt.Errorf("%w: not a checksummed line", errTorn)
	}
	var sum [4]byte
	if _, err := hex.Decode(sum[:], line[:8]); err != nil {
		return nil, fmt.Errorf("%w: bad checksum %q", errTorn, line[:8])
	}
	js := line[9:]
	want := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	if got := crc32.Checksum(js, castagnoli); got != want {
		return nil, fmt.Errorf("%w: checksum mismatch (%08x, want %08x)", errTorn, got, want)
	}
	var e entry
	if err := json.Unmarshal(js, &e); err != nil {
		var v struct {
			V int `json:"v"`
		}
		if json.Unmarshal(js, &v) == nil && v.V > Version {
			return &entry{V: v.V}, nil // the caller reports the version
		}
		return nil, err
	}
	return &e, nil
}

// loaded is a state read from disk.
type loaded struct {
	records    map[report.Address]*Record
	lineage    string
	serial     uint64 // of the last change applied
	snapSerial uint64 // of the snapshot
	jlines     int    // intact journal lines
	jgood      int64  // bytes of the journal up to the end of its last intact line
	jsize      int64  // bytes of the journal read
	torn       error  // why the tail after jgood was dropped, if it was
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

// snapshotHeader is the snapshot's fields before its records.
type snapshotHeader struct {
	Version int    `json:"version"`
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
}

// readSnapshot streams the snapshot into ld, one record at a time, so that
// loading needs memory for the records and not also for the file.
func readSnapshot(path string, ld *loaded) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	defer f.Close()
	switch err := readSnapshotFast(f, path, ld); {
	case err == nil:
		return nil
	case !errors.Is(err, errNotFast):
		return err
	}
	// Read it again with the general decoder, for its error if nothing else.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	clear(ld.records)
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	corrupt := func(format string, args ...any) error {
		return &CorruptError{Path: path, Offset: dec.InputOffset(), Err: fmt.Errorf(format, args...)}
	}
	wrap := func(err error) error {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("read state: %w", err)
		}
		return corrupt("%v", err)
	}
	delim := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return wrap(err)
		}
		if tok != want {
			return corrupt("found %v, want %q", tok, want)
		}
		return nil
	}
	if err := delim('{'); err != nil {
		return err
	}
	var h snapshotHeader
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return wrap(err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return corrupt("field %q appears twice", key)
		}
		seen[key] = true
		switch key {
		case "version":
			if err := dec.Decode(&h.Version); err != nil {
				return wrap(err)
			}
			if h.Version > Version {
				return &VersionError{Path: path, Version: h.Version}
			}
			if h.Version < 1 {
				return corrupt("format version %d", h.Version)
			}
		case "lineage":
			err = dec.Decode(&h.Lineage)
		case "serial":
			err = dec.Decode(&h.Serial)
		case "records":
			// The version comes first in every snapshot we write; seeing it
			// first means a newer format is refused before its records are
			// misread.
			if h.Version == 0 {
				return corrupt("records before the format version")
			}
			if err := delim('['); err != nil {
				return err
			}
			for dec.More() {
				r := new(Record)
				if err := dec.Decode(r); err != nil {
					return wrap(err)
				}
				if r.Address == "" {
					return corrupt("record without an address")
				}
				if ld.records[r.Address] != nil {
					return corrupt("record %s appears twice", r.Address)
				}
				ld.records[r.Address] = r
			}
			if err := delim(']'); err != nil {
				return err
			}
		default:
			return corrupt("unknown field %q", key)
		}
		if err != nil {
			return wrap(err)
		}
	}
	if err := delim('}'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return corrupt("data after the end of the snapshot")
	}
	switch {
	case h.Version == 0:
		return corrupt("no format version")
	case h.Lineage == "":
		return corrupt("no lineage")
	case !seen["records"]:
		return corrupt("no records")
	}
	ld.lineage, ld.serial, ld.snapSerial = h.Lineage, h.Serial, h.Serial
	return nil
}

// readJournal replays the journal onto ld. Lines up to the snapshot's
// serial are already in the snapshot (a crash came between a compaction's
// rename and its truncation) and are skipped. A damaged tail — lines after
// the last intact one, none of them intact — is what a crash during an
// append leaves: it is dropped, as its changes were never acknowledged. A
// damaged line followed by an intact one is not a crash's doing, and is an
// error.
func readJournal(path string, ld *loaded) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read state: %w", err)
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
		e, err := parseLine(line)
		switch {
		case errors.Is(err, errTorn):
			if torn == nil {
				torn = &CorruptError{Path: path, Line: n, Err: err}
				ld.jgood = off
			}
		case err != nil:
			return corrupt("%v", err)
		case torn != nil:
			torn.Err = fmt.Errorf("%w, and intact lines follow it", torn.Err)
			return torn
		default:
			if e.V > Version {
				return &VersionError{Path: path, Version: e.V}
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
	default:
		return fmt.Errorf("unknown operation %q", e.Op)
	}
	ld.serial = e.Serial
	return nil
}

// writeSnapshot atomically replaces the snapshot of dir with records at
// serial: a temp file in dir, written, fsynced, closed, renamed over the
// snapshot, then dir fsynced so that the rename survives a power cut. On
// error the old snapshot is in place and the temp file is gone.
func writeSnapshot(dir, lineage string, serial uint64, records map[report.Address]*Record) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	tmp, renamed := f.Name(), false
	defer func() {
		if err != nil {
			f.Close()
			if !renamed {
				os.Remove(tmp)
			}
			err = fmt.Errorf("write snapshot %s: %w", filepath.Join(dir, snapshotName), err)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	h, err := json.Marshal(snapshotHeader{Version: Version, Lineage: lineage, Serial: serial})
	if err != nil {
		return err
	}
	bw.Write(h[:len(h)-1])
	bw.WriteString(",\"records\":[\n")
	addrs := make([]report.Address, 0, len(records))
	for a := range records {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // reuses buf, unlike json.Marshal
	for i, a := range addrs {
		buf.Reset()
		if err := enc.Encode(records[a]); err != nil {
			return err
		}
		line := buf.Bytes()[:buf.Len()-1] // Encode ends it with a newline
		if i < len(addrs)-1 {
			line = append(line, ',')
		}
		bw.Write(append(line, '\n'))
	}
	bw.WriteString("]}\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, snapshotName)); err != nil {
		return err
	}
	// The temp name is no longer ours to remove, whatever happens. If the
	// rename is not known durable, the caller must keep the journal.
	renamed = true
	return syncDir(dir)
}

// syncDir fsyncs a directory, making the creation, rename or removal of
// its entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeTemps removes the temp files of snapshots that a crash kept from
// being renamed into place. Only the lock holder may call it: the temp file
// of a compaction in progress looks just the same.
func removeTemps(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// quote returns s as a JSON string.
func quote(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
