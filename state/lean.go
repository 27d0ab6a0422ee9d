package state

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ledgerform/ledgerform/report"
)

// The records of a version 3 snapshot are lean: what many records share
// (their operations, country and params, as one drop folder's reports
// do) is written once, in the header's table of specs, and each record
// names its entry; a file's path is left out when it is the statement's
// (or, for the output, the spec's output) it fingerprints. A record line
// is the JSON of leanRecord, as encoding/json writes it, which
// decodeLean reads without reflection; any line it does not expect
// (an escaped string, a field out of order) is decoded by encoding/json
// instead, strictly, so the fast path changes nothing but the speed.

// leanSpec is one entry of the header's table of specs. The endpoint is
// the records' (Record.Endpoint): most records of a state share it too.
type leanSpec struct {
	Operations []string       `json:"operations"`
	Country    string         `json:"country"`
	Params     *report.Params `json:"params,omitempty"`
	Endpoint   string         `json:"endpoint,omitempty"` // version 4
}

// leanRecord is the JSON of one record line of a version 3 snapshot.
type leanRecord struct {
	Address    report.Address `json:"address"`
	Spec       int            `json:"spec"` // index in the header's specs
	Statements []string       `json:"statements"`
	Output     string         `json:"output"`
	Digest     string         `json:"digest"`
	Files      []leanFile     `json:"files"`
	Phase      Phase          `json:"phase"`
	UploadID   string         `json:"upload_id,omitempty"`
	ProcessID  string         `json:"process_id,omitempty"`
	Attempts   int            `json:"attempts,omitempty"`
	LastError  *Failure       `json:"last_error,omitempty"`
	Written    *leanFile      `json:"written,omitempty"`     // Record.Output
	ReusedFrom report.Address `json:"reused_from,omitempty"` // version 4
	Updated    time.Time      `json:"updated"`
	Revision   string         `json:"revision,omitempty"`
}

// leanFile is a File whose Path is nil when it is the path implied by its
// place: the statement of the same index, or the spec's output.
type leanFile struct {
	Path   *string `json:"path,omitempty"`
	Size   int64   `json:"size"`
	MTime  int64   `json:"mtime_ns"`
	Inode  uint64  `json:"inode,omitempty"`
	SHA256 string  `json:"sha256"`
}

// specTable numbers the distinct specs of the records written.
type specTable struct {
	index map[string]int
	specs []leanSpec
	key   []byte
}

func (t *specTable) of(r *Record) int {
	s := &r.Spec
	// The key tells nil from empty lists, as the JSON does.
	k := t.key[:0]
	if s.Operations == nil {
		k = append(k, 0)
	}
	for _, o := range s.Operations {
		k = append(k, o...)
		k = append(k, 1)
	}
	k = append(k, 2)
	k = append(k, s.Country...)
	k = append(k, 2)
	if s.Params != nil {
		p, _ := json.Marshal(s.Params)
		k = append(k, p...)
	}
	k = append(k, 3)
	k = append(k, r.Endpoint...)
	t.key = k
	if i, ok := t.index[string(k)]; ok {
		return i
	}
	t.index[string(k)] = len(t.specs)
	t.specs = append(t.specs, leanSpec{Operations: s.Operations, Country: s.Country, Params: s.Params, Endpoint: r.Endpoint})
	return len(t.specs) - 1
}

func leanFileOf(f *File, implied string, known bool) leanFile {
	lf := leanFile{Size: f.Size, MTime: f.MTime, Inode: f.Inode, SHA256: f.SHA256}
	if !known || f.Path != implied {
		p := f.Path
		lf.Path = &p
	}
	return lf
}

// leanOf returns the lean form of r, whose spec is entry spec of the table.
func leanOf(r *Record, spec int) leanRecord {
	l := leanRecord{Address: r.Address, Spec: spec, Statements: r.Spec.Statements, Output: r.Spec.Output,
		Digest: r.Digest, Phase: r.Phase, UploadID: r.UploadID, ProcessID: r.ProcessID,
		Attempts: r.Attempts, LastError: r.LastError, ReusedFrom: r.ReusedFrom, Updated: r.Updated, Revision: r.Revision}
	if r.Files != nil {
		l.Files = make([]leanFile, len(r.Files))
		for i := range r.Files {
			implied := ""
			if i < len(r.Spec.Statements) {
				implied = r.Spec.Statements[i]
			}
			l.Files[i] = leanFileOf(&r.Files[i], implied, i < len(r.Spec.Statements))
		}
	}
	if r.Output != nil {
		w := leanFileOf(r.Output, r.Spec.Output, true)
		l.Written = &w
	}
	return l
}

// An arena hands out records, files and lists of strings from chunks, so
// that loading 100,000 records is a few thousand allocations, not
// several per record. A chunk lives as long as any record cut from it;
// the records are never changed in place, so sharing one is safe.
type arena struct {
	recs  []Record
	files []File
	strs  []string
}

const arenaChunk = 256

func (a *arena) record() *Record {
	if a == nil {
		return new(Record)
	}
	if len(a.recs) == 0 {
		a.recs = make([]Record, arenaChunk)
	}
	r := &a.recs[0]
	a.recs = a.recs[1:]
	return r
}

func (a *arena) fileList(n int) []File {
	if a == nil || n == 0 || n > arenaChunk { // make: an empty list is not nil
		return make([]File, n)
	}
	if len(a.files) < n {
		a.files = make([]File, arenaChunk)
	}
	f := a.files[:n:n]
	a.files = a.files[n:]
	return f
}

func (a *arena) strList(n int) []string {
	if a == nil || n == 0 || n > arenaChunk { // make: an empty list is not nil
		return make([]string, n)
	}
	if len(a.strs) < n {
		a.strs = make([]string, arenaChunk)
	}
	s := a.strs[:n:n]
	a.strs = a.strs[n:]
	return s
}

// record returns the Record of l, whose specs are those of the header,
// allocated from a (nil: from the heap).
func (l *leanRecord) record(specs []leanSpec, a *arena) (*Record, error) {
	if l.Address == "" {
		return nil, errors.New("record without an address")
	}
	if l.Spec < 0 || l.Spec >= len(specs) {
		return nil, errors.New("record names spec " + strconv.Itoa(l.Spec) + " of " + strconv.Itoa(len(specs)))
	}
	s := &specs[l.Spec]
	r := a.record()
	*r = Record{Address: l.Address, Spec: Spec{Statements: l.Statements, Operations: s.Operations, Country: s.Country,
		Params: s.Params, Output: l.Output}, Digest: l.Digest, Phase: l.Phase, UploadID: l.UploadID,
		ProcessID: l.ProcessID, Attempts: l.Attempts, LastError: l.LastError, Endpoint: s.Endpoint,
		ReusedFrom: l.ReusedFrom, Updated: l.Updated, Revision: l.Revision}
	if l.Statements != nil {
		r.Spec.Statements = a.strList(len(l.Statements))
		copy(r.Spec.Statements, l.Statements)
	}
	file := func(f *leanFile, implied string) File {
		p := implied
		if f.Path != nil {
			p = *f.Path
		}
		return File{Path: p, Size: f.Size, MTime: f.MTime, Inode: f.Inode, SHA256: f.SHA256}
	}
	var out []File
	if l.Written != nil {
		out = a.fileList(len(l.Files) + 1)
	} else if l.Files != nil {
		out = a.fileList(len(l.Files))
	}
	if l.Files != nil {
		r.Files = out[:len(l.Files):len(l.Files)]
		for i := range l.Files {
			if l.Files[i].Path == nil && i >= len(l.Statements) {
				return nil, errors.New("file " + strconv.Itoa(i) + " without a path")
			}
			implied := ""
			if i < len(l.Statements) {
				implied = l.Statements[i]
			}
			r.Files[i] = file(&l.Files[i], implied)
		}
	}
	if l.Written != nil {
		o := &out[len(out)-1]
		*o = file(l.Written, l.Output)
		r.Output = o
	}
	return r, nil
}

// decodeLean decodes js, the JSON of a record line of a version 3
// snapshot, with c, a reader of the worker's; the record's strings are
// cut from js, which the caller copied out of the file's buffer.
func decodeLean(js string, specs []leanSpec, c *leanCursor, a *arena) (*Record, error) {
	c.s, c.i = js, 0
	var l leanRecord
	if c.record(&l) && c.i == len(c.s) {
		return l.record(specs, a)
	}
	l = leanRecord{}
	if err := decodeStrict([]byte(js), &l); err != nil {
		return nil, err
	}
	return l.record(specs, a)
}

// leanCursor reads the JSON of a leanRecord as encoding/json writes it,
// and gives up (false) at anything else.
type leanCursor struct {
	s     string
	i     int
	list  []string   // scratch for statements, copied out by record
	files []leanFile // scratch for files, likewise
}

func (c *leanCursor) lit(l string) bool {
	if strings.HasPrefix(c.s[c.i:], l) {
		c.i += len(l)
		return true
	}
	return false
}

// str reads a string without escapes, of valid UTF-8 (encoding/json would
// change invalid bytes, so those go to it).
func (c *leanCursor) str(p *string) bool {
	if c.i >= len(c.s) || c.s[c.i] != '"' {
		return false
	}
	end := strings.IndexByte(c.s[c.i+1:], '"')
	if end < 0 {
		return false
	}
	v := c.s[c.i+1 : c.i+1+end]
	if strings.IndexByte(v, '\\') >= 0 || !utf8.ValidString(v) {
		return false
	}
	for j := 0; j < len(v); j++ {
		if v[j] < 0x20 {
			return false
		}
	}
	*p = v
	c.i += end + 2
	return true
}

// num reads a JSON integer: an optional minus, then 0 or digits not
// starting with 0, as encoding/json would accept.
func (c *leanCursor) num() (string, bool) {
	j := c.i
	if j < len(c.s) && c.s[j] == '-' {
		j++
	}
	d := j
	for j < len(c.s) && c.s[j] >= '0' && c.s[j] <= '9' {
		j++
	}
	if j == d || (c.s[d] == '0' && j > d+1) {
		return "", false
	}
	n := c.s[c.i:j]
	c.i = j
	return n, true
}

func (c *leanCursor) int64(p *int64) bool {
	n, ok := c.num()
	if !ok {
		return false
	}
	v, err := strconv.ParseInt(n, 10, 64)
	*p = v
	return err == nil
}

func (c *leanCursor) uint64(p *uint64) bool {
	n, ok := c.num()
	if !ok {
		return false
	}
	v, err := strconv.ParseUint(n, 10, 64)
	*p = v
	return err == nil
}

func (c *leanCursor) int(p *int) bool {
	var v int64
	ok := c.int64(&v)
	*p = int(v)
	return ok && int64(int(v)) == v
}

// strs reads a list of strings, or null, into c's scratch.
func (c *leanCursor) strs(p *[]string) bool {
	if c.lit("null") {
		return true
	}
	if !c.lit("[") {
		return false
	}
	c.list = c.list[:0]
	for first := true; !c.lit("]"); first = false {
		var v string
		if !first && !c.lit(",") || !c.str(&v) {
			return false
		}
		c.list = append(c.list, v)
	}
	*p = c.list[:len(c.list):len(c.list)]
	if len(c.list) == 0 {
		*p = []string{} // "[]" is not null, whatever the scratch holds
	}
	return true
}

func (c *leanCursor) file(f *leanFile) bool {
	if !c.lit("{") {
		return false
	}
	if c.lit(`"path":`) {
		var p string
		if !c.str(&p) || !c.lit(",") {
			return false
		}
		f.Path = &p
	}
	if !c.lit(`"size":`) || !c.int64(&f.Size) || !c.lit(`,"mtime_ns":`) || !c.int64(&f.MTime) {
		return false
	}
	if c.lit(`,"inode":`) && !c.uint64(&f.Inode) {
		return false
	}
	return c.lit(`,"sha256":`) && c.str(&f.SHA256) && c.lit("}")
}

func (c *leanCursor) record(l *leanRecord) bool {
	var addr, phase string
	if !c.lit(`{"address":`) || !c.str(&addr) || !c.lit(`,"spec":`) || !c.int(&l.Spec) ||
		!c.lit(`,"statements":`) || !c.strs(&l.Statements) || !c.lit(`,"output":`) || !c.str(&l.Output) ||
		!c.lit(`,"digest":`) || !c.str(&l.Digest) || !c.lit(`,"files":`) {
		return false
	}
	l.Address = report.Address(addr)
	if !c.lit("null") {
		if !c.lit("[") {
			return false
		}
		c.files = c.files[:0]
		for first := true; !c.lit("]"); first = false {
			var f leanFile
			if !first && !c.lit(",") || !c.file(&f) {
				return false
			}
			c.files = append(c.files, f)
		}
		l.Files = c.files[:len(c.files):len(c.files)]
		if len(c.files) == 0 {
			l.Files = []leanFile{} // "[]" is not null
		}
	}
	if !c.lit(`,"phase":`) || !c.str(&phase) {
		return false
	}
	l.Phase = Phase(phase)
	if c.lit(`,"upload_id":`) && !c.str(&l.UploadID) {
		return false
	}
	if c.lit(`,"process_id":`) && !c.str(&l.ProcessID) {
		return false
	}
	if c.lit(`,"attempts":`) && !c.int(&l.Attempts) {
		return false
	}
	if c.lit(`,"last_error":`) {
		e := new(Failure)
		if !c.lit("{") || c.lit(`"code":`) && (!c.str(&e.Code) || !c.lit(",")) ||
			!c.lit(`"message":`) || !c.str(&e.Message) || !c.lit(`,"permanent":`) {
			return false
		}
		switch {
		case c.lit("true"):
			e.Permanent = true
		case c.lit("false"):
		default:
			return false
		}
		if c.lit(`,"step":`) && !c.str(&e.Step) || !c.lit("}") {
			return false
		}
		l.LastError = e
	}
	if c.lit(`,"written":`) {
		var w leanFile
		if !c.file(&w) {
			return false
		}
		l.Written = &w
	}
	if c.lit(`,"reused_from":`) {
		var from string
		if !c.str(&from) {
			return false
		}
		l.ReusedFrom = report.Address(from)
	}
	var updated string
	if !c.lit(`,"updated":`) || !c.str(&updated) {
		return false
	}
	if c.lit(`,"revision":`) && !c.str(&l.Revision) || !c.lit("}") {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, updated)
	if err != nil {
		return false
	}
	l.Updated = t
	return true
}
