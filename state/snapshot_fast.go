package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
)

// errNotFast means the snapshot is not laid out exactly as writeSnapshot
// lays it out, or is damaged; readSnapshot then reads it with the general
// JSON decoder, which either accepts it or says precisely what is wrong.
var errNotFast = errors.New("not the layout of writeSnapshot")

const (
	batchSize    = 256 << 10 // bytes of records decoded by a worker at a time
	recordsOpen  = `,"records":[` + "\n"
	recordsClose = "]}\n"
)

// readSnapshotFast reads a snapshot written by writeSnapshot — a header
// line, one record per line, a closing line — decoding the records on every
// CPU: encoding/json takes about 20 µs per record, which for a state of
// 100,000 reports is seconds on one CPU.
func readSnapshotFast(f *os.File, path string, ld *loaded) error {
	br := bufio.NewReaderSize(f, 256<<10)
	head, err := readLine(br, nil)
	if err != nil {
		return readErr(err)
	}
	if !bytes.HasPrefix(head, []byte(`{"version":`)) || !bytes.HasSuffix(head, []byte(recordsOpen)) {
		return errNotFast
	}
	var h snapshotHeader
	dec := json.NewDecoder(bytes.NewReader(append(head[:len(head)-len(recordsOpen)], '}')))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return errNotFast
	}
	if h.Version > Version {
		return &VersionError{Path: path, Version: h.Version}
	}
	if h.Version < 1 || h.Lineage == "" {
		return errNotFast
	}

	type batch struct {
		buf   []byte
		lines [][]byte
		recs  []*Record
		bad   bool
	}
	workers := runtime.GOMAXPROCS(0)
	jobs, results := make(chan *batch, workers), make(chan *batch, workers)
	// Line buffers go round: read into, decoded from, handed back.
	free := make(chan []byte, 2*workers+2)
	newBatch := func() *batch {
		select {
		case buf := <-free:
			return &batch{buf: buf[:0]}
		default:
			return &batch{buf: make([]byte, 0, batchSize+batchSize/4)}
		}
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			in := make(map[string]string)
			for b := range jobs {
				b.recs = make([]*Record, 0, len(b.lines))
				for _, l := range b.lines {
					r := new(Record)
					if json.Unmarshal(l, r) != nil || r.Address == "" {
						b.bad = true
						break
					}
					intern(r, in)
					b.recs = append(b.recs, r)
				}
				select {
				case free <- b.buf:
				default:
				}
				b.buf, b.lines = nil, nil
				results <- b
			}
		})
	}
	collected := make(chan bool, 1)
	go func() {
		ok := true
		for b := range results { // to the end, so that no worker is left blocked
			if b.bad {
				ok = false
			}
			for _, r := range b.recs {
				if !ok || ld.records[r.Address] != nil {
					ok = false
					break
				}
				ld.records[r.Address] = r
			}
		}
		collected <- ok
	}()

	err = func() error {
		defer close(jobs)
		b, n, last := newBatch(), 0, false
		for {
			start := len(b.buf)
			var err error
			b.buf, err = readLine(br, b.buf)
			if err != nil {
				return readErr(err)
			}
			line := b.buf[start:]
			if string(line) == recordsClose {
				if n > 0 && !last {
					return errNotFast // a comma after the last record
				}
				jobs <- b
				break
			}
			if last || len(line) < 3 || line[0] != '{' {
				return errNotFast // a record after the last, or not a record
			}
			line = line[:len(line)-1]
			if line[len(line)-1] == ',' {
				line = line[:len(line)-1]
			} else {
				last = true
			}
			b.lines = append(b.lines, line)
			n++
			if len(b.buf) >= batchSize {
				jobs <- b
				b = newBatch()
			}
		}
		if _, err := br.ReadByte(); err != io.EOF {
			return errNotFast // something after the end
		}
		return nil
	}()
	wg.Wait()
	close(results)
	if ok := <-collected; !ok && err == nil {
		err = errNotFast
	}
	if err != nil {
		return err
	}
	ld.lineage, ld.serial, ld.snapSerial = h.Lineage, h.Serial, h.Serial
	return nil
}

// readLine appends the next line, with its newline, to dst. A last line
// without one is errNotFast; so is the end of the file.
func readLine(br *bufio.Reader, dst []byte) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		dst = append(dst, frag...)
		switch err {
		case nil:
			return dst, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return dst, errNotFast
		default:
			return dst, err
		}
	}
}

func readErr(err error) error {
	if errors.Is(err, errNotFast) {
		return err
	}
	return fmt.Errorf("read state: %w", err)
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
