package state

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/report"
)

// The snapshot, version 4 (see the package doc):
//
//	{"version":4}
//	1b2c3d4e {"lineage":"…","serial":42,"records":2,"specs":[{"operations":[…],"country":"uk"}]}
//	5f6a7b8c {"address":"report.a","spec":0,…}
//	9d0e1f2a {"address":"report.b","spec":0,…}
//	3b4c5d6e {"end":true,"records":2}
//
// Version 2 had the same lines, but each record in full (a Record's JSON)
// and no specs in the header.
//
// The first line is plain JSON so that every ledgerform, version 1's
// included, reads the version before anything else and refuses a newer
// file as newer, not as damaged. It is compared whole, so it needs no
// checksum.
const versionLine = `{"version":4}` + "\n"

// versionLine3 is the first line of a version 3 snapshot: version 4's
// layout without endpoints in the specs or reused_from in the records,
// read by the same reader.
const versionLine3 = `{"version":3}` + "\n"

// versionLine2 is the first line of a version 2 snapshot.
const versionLine2 = `{"version":2}` + "\n"

// snapHeader is the JSON of the second line of a version 2 or 3 snapshot.
type snapHeader struct {
	Lineage string     `json:"lineage"`
	Serial  uint64     `json:"serial"`
	Records int        `json:"records"`
	Specs   []leanSpec `json:"specs,omitempty"` // version 3
}

// snapTrailer is the JSON of its last line.
type snapTrailer struct {
	End     bool `json:"end"`
	Records int  `json:"records"`
}

// recordPrefix is how the JSON of every record starts (Address is
// Record's first field).
const recordPrefix = `{"address":`

// The layout of a version 1 snapshot, as version 1 wrote it: a header line,
// one record a line with a comma after each but the last, a closing line.
const (
	v1Open  = `,"records":[` + "\n"
	v1Close = "]}\n"
)

// v1Header is the header of a version 1 snapshot.
type v1Header struct {
	Version int    `json:"version"`
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
}

// testHookSnapshot, if set, is called by writeSnapshot once the temp file
// is created and before a record is written: the tests pause the writer
// there to see what goes on meanwhile.
var testHookSnapshot func()

// writeSnapshot atomically replaces the snapshot at path with recs (which it
// sorts by address) at serial, in the current format. On error the old
// snapshot is in place, unless the error wraps fsutil.ErrRenameNotDurable:
// then the new one is, but may not survive a crash.
func writeSnapshot(path, lineage string, serial uint64, recs []*Record) error {
	slices.SortFunc(recs, func(a, b *Record) int { return cmp.Compare(a.Address, b.Address) })
	// The table of specs first: it is in the header.
	t := &specTable{index: make(map[string]int)}
	refs := make([]int, len(recs))
	for i, r := range recs {
		refs[i] = t.of(r)
	}
	err := fsutil.WriteAtomic(path, func(w io.Writer) error {
		if hook := testHookSnapshot; hook != nil {
			hook()
		}
		h, err := json.Marshal(snapHeader{Lineage: lineage, Serial: serial, Records: len(recs), Specs: t.specs})
		if err != nil {
			return err
		}
		b := appendSummed([]byte(versionLine), h)
		if _, err := w.Write(b); err != nil {
			return err
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf) // reuses buf, unlike json.Marshal
		for i, r := range recs {
			buf.Reset()
			l := leanOf(r, refs[i])
			if err := enc.Encode(&l); err != nil {
				return err
			}
			b = appendSummed(b[:0], buf.Bytes()[:buf.Len()-1]) // Encode ends it with a newline
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		t, err := json.Marshal(snapTrailer{End: true, Records: len(recs)})
		if err != nil {
			return err
		}
		_, err = w.Write(appendSummed(b[:0], t))
		return err
	})
	if err != nil {
		return fmt.Errorf("write snapshot %s: %w", path, err)
	}
	return nil
}

// readSnapshot reads the snapshot at path into ld, if there is one.
func readSnapshot(path string, ld *loaded) error {
	f, err := openExisting(path)
	if f == nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	sr := &snapReader{path: path, size: fi.Size(), br: bufio.NewReaderSize(f, 256<<10), ld: ld}
	return sr.read()
}

// snapReader reads one snapshot, of either version, line by line, while
// decoding its records on every CPU: encoding/json takes about 20 µs a
// record, which for a state of 100,000 reports is seconds on one CPU. The
// reading goroutine checks the layout (which line is which, how many
// there are), and hands the record lines in batches to the workers, which
// verify their checksums, decode them and check their order.
type snapReader struct {
	path string
	size int64
	br   *bufio.Reader
	ld   *loaded
	n    int // lines read
}

// corrupt returns a *CorruptError for the line n.
func (sr *snapReader) corrupt(n int, format string, args ...any) *CorruptError {
	return &CorruptError{Path: sr.path, Line: n, Err: fmt.Errorf(format, args...)}
}

// line reads the next line, with its newline, appending it to dst.
func (sr *snapReader) line(dst []byte) ([]byte, error) {
	sr.n++
	start := len(dst)
	for {
		frag, err := sr.br.ReadSlice('\n')
		dst = append(dst, frag...)
		switch err {
		case nil:
			return dst, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(dst) == start {
				return dst, sr.corrupt(sr.n, "the file ends before its last line")
			}
			return dst, sr.corrupt(sr.n, "incomplete line (no newline at the end)")
		default:
			return dst, fmt.Errorf("read state: %w", err)
		}
	}
}

// atEOF returns an error unless the file ends after the line read last.
func (sr *snapReader) atEOF() error {
	switch _, err := sr.br.ReadByte(); err {
	case io.EOF:
		return nil
	case nil:
		return sr.corrupt(sr.n+1, "data after the end of the snapshot")
	default:
		return fmt.Errorf("read state: %w", err)
	}
}

func (sr *snapReader) read() error {
	first, err := sr.line(nil)
	if v, ok := leadingVersion(first); ok && v > Version {
		return &VersionError{Path: sr.path, Version: v, Newest: Version}
	}
	var ce *CorruptError
	switch {
	case err != nil && !errors.As(err, &ce):
		return err
	case len(first) == 0:
		return sr.corrupt(1, "empty file")
	case err == nil && string(first) == versionLine:
		return sr.readV2(4)
	case err == nil && string(first) == versionLine3:
		return sr.readV2(3)
	case err == nil && string(first) == versionLine2:
		return sr.readV2(2)
	case err == nil && bytes.HasPrefix(first, []byte(`{"version":1,`)):
		return sr.readV1(first)
	case err != nil && bytes.HasPrefix(first, []byte(`{"version":`)):
		return err
	}
	return sr.corrupt(1, "not the first line of a snapshot: %.40q", first)
}

// leadingVersion returns the version of a line that starts as a snapshot
// of any version does, with `{"version":N`.
func leadingVersion(line []byte) (int, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var toks [3]json.Token
	for i := range toks {
		t, err := dec.Token()
		if err != nil {
			return 0, false
		}
		toks[i] = t
	}
	n, _ := toks[2].(json.Number)
	v, err := strconv.Atoi(string(n))
	return v, toks[0] == json.Delim('{') && toks[1] == "version" && err == nil
}

// decodeStrict decodes js into v, refusing fields v does not have.
func decodeStrict(js []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}

// summed verifies the checksummed line n and decodes it strictly into v.
func (sr *snapReader) summed(line []byte, v any) error {
	js, err := checkLine(line)
	if err == nil {
		err = decodeStrict(js, v)
	}
	if err != nil {
		return sr.corrupt(sr.n, "%v", err)
	}
	return nil
}

// readV2 reads the rest of a snapshot of version v, 2, 3 or 4, which differ
// only in their records' JSON (and the specs of version 3 and 4 headers).
func (sr *snapReader) readV2(v int) error {
	line, err := sr.line(nil)
	if err != nil {
		return err
	}
	var h snapHeader
	if err := sr.summed(line, &h); err != nil {
		return err
	}
	if h.Lineage == "" || h.Records < 0 {
		return sr.corrupt(sr.n, "header without a lineage or a count of records")
	}
	if v == 2 && h.Specs != nil {
		return sr.corrupt(sr.n, "unknown field \"specs\" in a version 2 header")
	}
	// Records take more than 64 bytes each: a count that says otherwise is
	// not allowed to allocate a huge map.
	sr.ld.records = make(map[report.Address]*Record, min(int64(h.Records), sr.size/64))
	d := newDecoder(sr, true)
	if v >= 3 {
		d.lean, d.specs = true, h.Specs
	}
	err = func() error {
		for k := 0; ; k++ {
			b := d.batch()
			start := len(b.buf)
			b.buf, err = sr.line(b.buf)
			if err != nil {
				return err
			}
			line := b.buf[start:]
			isRecord := len(line) > sumLen+len(recordPrefix) && string(line[sumLen:sumLen+len(recordPrefix)]) == recordPrefix
			if k == h.Records || !isRecord {
				b.buf = b.buf[:start]
				return sr.trailer(line, isRecord, k, h.Records)
			}
			d.add(line, sr.n)
		}
	}()
	if err := d.wait(err); err != nil {
		return err
	}
	sr.ld.snapVersion, sr.ld.lineage, sr.ld.serial, sr.ld.snapSerial = v, h.Lineage, h.Serial, h.Serial
	return nil
}

// trailer checks the last line of a version 2 snapshot, after k records
// where the header announced want; isRecord says the line looks like a
// record.
func (sr *snapReader) trailer(line []byte, isRecord bool, k, want int) error {
	var t snapTrailer
	if err := sr.summed(line, &t); err != nil {
		switch {
		case isRecord:
			if _, err := checkLine(line); err == nil {
				return sr.corrupt(sr.n, "a record after the %d the header counts", want)
			}
		case k < want:
			return sr.corrupt(sr.n, "neither a record nor the last line: %v", errors.Unwrap(err))
		}
		return err
	}
	switch {
	case !t.End:
		return sr.corrupt(sr.n, "not the last line of a snapshot")
	case k != want:
		return sr.corrupt(sr.n, "the snapshot ends after %d records, but its header says %d", k, want)
	case t.Records != want:
		return sr.corrupt(sr.n, "the last line counts %d records, but the header %d", t.Records, want)
	}
	return sr.atEOF()
}

// readV1 reads the rest of a version 1 snapshot, whose header line is
// head. It has no checksums: a damaged value in it reads as a different
// value, which is why version 2 has them.
func (sr *snapReader) readV1(head []byte) error {
	layout := func(format string, args ...any) error {
		return sr.corrupt(sr.n, "%s (a version 1 snapshot is read only in the layout version 1 wrote it: "+
			"the header, one record a line, and a closing line)", fmt.Sprintf(format, args...))
	}
	if !bytes.HasSuffix(head, []byte(v1Open)) {
		return layout("the header line does not end %q", v1Open[:len(v1Open)-1])
	}
	var h v1Header
	if err := decodeStrict(append(head[:len(head)-len(v1Open):len(head)-len(v1Open)], '}'), &h); err != nil {
		return layout("header: %v", err)
	}
	if h.Version != 1 || h.Lineage == "" {
		return layout("header without a lineage")
	}
	d := newDecoder(sr, false)
	err := func() error {
		last := false // the record without a comma, the last one, has been read
		for k := 0; ; k++ {
			b := d.batch()
			start := len(b.buf)
			var err error
			b.buf, err = sr.line(b.buf)
			if err != nil {
				return err
			}
			line := b.buf[start:]
			if string(line) == v1Close {
				if k > 0 && !last {
					return layout("a comma after the last record")
				}
				b.buf = b.buf[:start]
				return sr.atEOF()
			}
			if last || !bytes.HasPrefix(line, []byte(recordPrefix)) {
				return layout("not a record")
			}
			line = line[:len(line)-1]
			if line[len(line)-1] == ',' {
				line = line[:len(line)-1]
			} else {
				last = true
			}
			d.add(line, sr.n)
		}
	}()
	if err := d.wait(err); err != nil {
		return err
	}
	sr.ld.snapVersion, sr.ld.lineage, sr.ld.serial, sr.ld.snapSerial = 1, h.Lineage, h.Serial, h.Serial
	return nil
}

const batchSize = 256 << 10 // bytes of record lines a worker decodes at a time

// A batch is record lines in the order of the file, decoded by one worker.
type batch struct {
	seq   int      // the batch's place among the batches
	first int      // the file line of lines[0]
	buf   []byte   // holds the lines
	lines [][]byte // version 2: whole lines; version 1: their JSON
	recs  []*Record
	err   *CorruptError // the first bad line of the batch, if one is
}

// decoder decodes batches of record lines on every CPU into ld.records.
type decoder struct {
	sr      *snapReader
	summed  bool       // the lines are checksummed
	lean    bool       // the records are leanRecords (version 3)
	specs   []leanSpec // the header's, for lean records
	jobs    chan *batch
	free    chan []byte // line buffers go round: read into, decoded from, handed back
	cur     *batch
	seq     int
	wg      sync.WaitGroup
	results chan *batch
	done    chan error
}

func newDecoder(sr *snapReader, summed bool) *decoder {
	workers := runtime.GOMAXPROCS(0)
	d := &decoder{sr: sr, summed: summed,
		jobs: make(chan *batch, workers), results: make(chan *batch, workers),
		free: make(chan []byte, 2*workers+2), done: make(chan error, 1)}
	for range workers {
		d.wg.Go(d.work)
	}
	go d.collect()
	return d
}

// batch returns the batch being filled.
func (d *decoder) batch() *batch {
	if d.cur == nil {
		d.cur = &batch{seq: d.seq}
		d.seq++
		select {
		case buf := <-d.free:
			d.cur.buf = buf[:0]
		default:
			d.cur.buf = make([]byte, 0, batchSize+batchSize/4)
		}
	}
	return d.cur
}

// add adds the record line n, which is in the current batch's buffer.
func (d *decoder) add(line []byte, n int) {
	b := d.cur
	if len(b.lines) == 0 {
		b.first = n
	}
	b.lines = append(b.lines, line)
	if len(b.buf) >= batchSize {
		d.jobs <- b
		d.cur = nil
	}
}

// wait hands over the last batch, waits for every record to be decoded,
// and returns the error of the lowest line: err, from the reading
// goroutine, is of a line after every line it handed over.
func (d *decoder) wait(err error) error {
	if d.cur != nil && len(d.cur.lines) > 0 {
		d.jobs <- d.cur
	}
	close(d.jobs)
	d.wg.Wait()
	close(d.results)
	if derr := <-d.done; derr != nil {
		return derr
	}
	return err
}

func (d *decoder) work() {
	in := make(map[string]string)
	var (
		c leanCursor
		a arena
	)
	for b := range d.jobs {
		b.recs = make([]*Record, 0, len(b.lines))
		var text string // version 3: the batch's lines in one string, which the records' strings are cut from
		if d.lean {
			n := 0
			for _, l := range b.lines {
				n += len(l)
			}
			var sb strings.Builder
			sb.Grow(n)
			for _, l := range b.lines {
				sb.Write(l)
			}
			text = sb.String()
		}
		off := 0
		for i, l := range b.lines {
			var r *Record
			var err error
			if d.lean {
				r, err = d.decodeLean(l, text[off:off+len(l)], &c, &a)
				off += len(l)
			} else {
				r, err = d.decode(l)
			}
			if err == nil && i > 0 && r.Address <= b.recs[i-1].Address {
				err = fmt.Errorf("record %s after record %s: the records are out of order or repeated", r.Address, b.recs[i-1].Address)
			}
			if err != nil {
				b.err = d.sr.corrupt(b.first+i, "%v", err)
				break
			}
			if !d.lean { // lean records share their spec's strings already
				intern(r, in)
			}
			b.recs = append(b.recs, r)
		}
		select {
		case d.free <- b.buf:
		default:
		}
		b.buf, b.lines = nil, nil
		d.results <- b
	}
}

func (d *decoder) decode(line []byte) (*Record, error) {
	js := line
	if d.summed {
		var err error
		if js, err = checkLine(line); err != nil {
			return nil, err
		}
	}
	r := new(Record)
	if err := json.Unmarshal(js, r); err != nil {
		return nil, err
	}
	if r.Address == "" {
		return nil, errors.New("record without an address")
	}
	return r, nil
}

// decodeLean decodes the checksummed record line of a version 3 snapshot,
// which is also text.
func (d *decoder) decodeLean(line []byte, text string, c *leanCursor, a *arena) (*Record, error) {
	if _, err := checkLine(line); err != nil {
		return nil, err
	}
	return decodeLean(text[sumLen:len(text)-1], d.specs, c, a)
}

// collect puts the decoded records into the map, checks the order across
// batches, and sends the error of the lowest line, if any.
func (d *decoder) collect() {
	records := d.sr.ld.records
	var (
		errs   []*CorruptError
		bounds []*batch // the batches, recs cut down to their first and last
	)
	for b := range d.results { // to the end, so that no worker is left blocked
		if b.err != nil {
			errs = append(errs, b.err)
		}
		if len(b.recs) == 0 {
			continue
		}
		for _, r := range b.recs {
			records[r.Address] = r
		}
		b.recs = []*Record{b.recs[0], b.recs[len(b.recs)-1]}
		bounds = append(bounds, b)
	}
	// A batch cut short by an error may make the next one look out of
	// order; that error is of a later line than the batch's own.
	slices.SortFunc(bounds, func(a, b *batch) int { return a.seq - b.seq })
	for i := 1; i < len(bounds); i++ {
		prev, b := bounds[i-1].recs[1], bounds[i]
		if b.recs[0].Address <= prev.Address {
			errs = append(errs, d.sr.corrupt(b.first, "record %s after record %s: the records are out of order or repeated", b.recs[0].Address, prev.Address))
		}
	}
	if len(errs) == 0 {
		d.done <- nil
		return
	}
	d.done <- slices.MinFunc(errs, func(a, b *CorruptError) int { return a.Line - b.Line })
}

// intern makes the record's fields that take few distinct values share
// their strings with the records before it (in): at 100,000 records that
// saves about a tenth of their memory.
func intern(r *Record, in map[string]string) {
	s := func(p *string) {
		if v, ok := in[*p]; ok {
			*p = v
		} else if len(in) < 10000 {
			in[*p] = *p
		}
	}
	phase := string(r.Phase)
	s(&phase)
	r.Phase = Phase(phase)
	s(&r.Spec.Country)
	for i := range r.Spec.Operations {
		s(&r.Spec.Operations[i])
	}
	if p := r.Spec.Params; p != nil && p.Currency != nil {
		s(p.Currency)
	}
	if e := r.LastError; e != nil {
		s(&e.Code)
		s(&e.Message)
		s(&e.Step)
	}
}
