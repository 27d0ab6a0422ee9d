package state

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/internal/backoff"
	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/report"
)

// compactMin is the journal length below which it is never compacted
// except at Close; a variable for the tests.
var compactMin = 1000

// Store is the state of one working directory: a Record per address. It is
// safe for concurrent use. A Store from Open holds the state's lock until
// Close; one from OpenReadOnly is a snapshot of the state at the time it was
// opened, never changes, and takes neither lock nor writes.
type Store struct {
	dir      string
	readOnly bool

	mu   sync.Mutex
	cond *sync.Cond // on mu; broadcast when syncing, compacting, synced or err change
	// records are never changed in place once they are in the map: a Put
	// puts a fresh copy, Get and Records return copies. So the pointers
	// taken under mu are a consistent view, which a compaction writes out
	// without holding mu.
	records map[report.Address]*Record
	lineage string
	qline   []byte // lineage as JSON, for journal lines
	serial  uint64 // of the last change applied to records (and appended to the journal)

	// Writable stores only.
	lock       *os.File
	journal    *os.File      // O_APPEND
	jlines     int           // lines in the journal
	jsize      int64         // bytes in the journal
	synced     uint64        // every change up to this serial is durable
	syncing    bool          // a Put is fsyncing the journal without holding mu
	compacting bool          // a compaction is under way
	swapping   bool          // a compaction waits to replace the journal: no fsync starts, the new journal will be synced
	compactAt  int           // after a failed compaction, the journal length at which to try again
	compactErr error         // why the last compaction failed, if it did
	migrate    bool          // the snapshot is of an older version: Close compacts even an empty journal
	err        error         // a failed write; the store takes no more changes
	closed     bool          // Close was called
	released   bool          // Close has finished: the journal closed, the lock released
	dropped    *CorruptError // the damaged last journal line the open dropped, if any (Warnings)
	nsyncs     int           // journal fsyncs, for the tests of group commit
	buf        []byte
}

// Open opens the state in dir (for example "<workdir>/.ledgerform"),
// creating dir (mode 0700) if needed. It takes the state's exclusive lock or
// fails at once with a *LockedError naming the holder (OpenWait waits
// for it); removes the temp files of snapshots a crash left; and loads the
// snapshot and the journal. A damaged last journal line (a write torn by a
// crash) is dropped and truncated away, and Warnings says so; any other
// damage is a *CorruptError naming file and line, and a newer format a
// *VersionError. The caller must Close the Store to release the lock.
func Open(dir string) (*Store, error) {
	return OpenWait(context.Background(), dir, 0)
}

// OpenWait is Open, but waits up to timeout for a lock that another
// process (or another Store) holds, trying again with a short jittered
// backoff (10 ms doubling to 500 ms), instead of failing at once: a cron
// apply then waits for the apply that is running. If the lock is still
// held after timeout, or ctx ends first, it fails with the *LockedError
// Open would have given at once, with Waited set. A timeout ≤ 0 does not
// wait. ctx is used only for the wait.
func OpenWait(ctx context.Context, dir string, timeout time.Duration) (*Store, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create state: %w", err)
		}
		// Whatever the umask: the state is personal financial data.
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create state: %w", err)
		}
		if err := fsutil.SyncDir(filepath.Dir(dir)); err != nil {
			return nil, fmt.Errorf("create state: %w", err)
		}
	}
	lock, err := waitLock(ctx, dir, timeout)
	if err != nil {
		return nil, err
	}
	s, err := openLocked(dir, lock)
	if err != nil {
		releaseLock(lock)
		return nil, err
	}
	return s, nil
}

// The backoff between two tries of a lock that OpenWait waits for: short,
// since the holder of a state gives it up within a few milliseconds of
// finishing, and capped so that the lock is seen free soon after.
const (
	lockRetryMin = 10 * time.Millisecond
	lockRetryMax = 500 * time.Millisecond
)

// waitLock takes the lock of dir, waiting up to timeout for it.
func waitLock(ctx context.Context, dir string, timeout time.Duration) (*os.File, error) {
	start := time.Now()
	for n := 0; ; n++ {
		lock, err := acquireLock(dir)
		var le *LockedError
		if err == nil || timeout <= 0 || !errors.As(err, &le) {
			return lock, err
		}
		left := timeout - time.Since(start)
		if left <= 0 || backoff.Sleep(ctx, min(backoff.Jitter(backoff.Exponential(lockRetryMin, lockRetryMax, n)), left)) != nil {
			le.Waited = time.Since(start).Round(time.Millisecond)
			return nil, le
		}
	}
}

func openLocked(dir string, lock *os.File) (*Store, error) {
	if err := sweepTemps(dir); err != nil {
		return nil, fmt.Errorf("remove stale temp files: %w", err)
	}
	ld, err := load(dir)
	if err != nil {
		return nil, err
	}
	j, err := openOrCreate(filepath.Join(dir, journalName), os.O_RDWR|os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	s := newStore(dir, ld)
	s.lock, s.journal, s.dropped = lock, j, ld.torn
	s.jlines, s.jsize = ld.jlines, ld.jgood
	s.synced = ld.serial
	s.migrate = ld.snapVersion != 0 && ld.snapVersion < Version
	// Drop a torn tail, and a journal whose every line is already in the
	// snapshot (a crash came between a compaction's rename and truncation).
	size := ld.jgood
	if ld.serial == ld.snapSerial {
		size, s.jlines, s.jsize = 0, 0, 0
	}
	if size != ld.jsize {
		err := j.Truncate(size)
		if err == nil {
			err = j.Sync()
		}
		if err != nil {
			j.Close()
			return nil, fmt.Errorf("truncate journal: %w", err)
		}
	}
	if s.lineage == "" {
		s.setLineage(rand.Text())
	}
	return s, nil
}

// OpenReadOnly loads the state in dir without taking its lock and without
// writing anything, for plan and state list/show while an apply or the
// daemon runs. It sees every change whose Put or Delete had returned before
// it was called. A missing dir is an empty state. Put and Delete on the
// Store return ErrReadOnly; Close does nothing.
func OpenReadOnly(dir string) (*Store, error) {
	// The writer may compact while we read: rename a new snapshot into
	// place, then replace the journal by one without the lines the new
	// snapshot holds. Reading the old snapshot and the new journal would
	// look like missing changes; but the snapshot is always replaced
	// before the journal, so if we read the new journal the snapshot
	// changed while we read, and we read again. Every other mix is
	// consistent: the new snapshot with the old journal (whose lines up to
	// the snapshot's serial are skipped), and an open file is read whole
	// whatever is renamed over its name meanwhile.
	snap := filepath.Join(dir, snapshotName)
	for attempt := 1; ; attempt++ {
		before, _ := os.Stat(snap)
		ld, err := load(dir)
		after, _ := os.Stat(snap)
		if !sameFile(before, after) {
			if attempt < 20 {
				continue
			}
			return nil, fmt.Errorf("read state %s: it was compacted under every one of %d reads; try again", dir, attempt)
		}
		if err != nil {
			return nil, err
		}
		s := newStore(dir, ld)
		s.readOnly = true
		// A last line without its newline may be an append under way, to a
		// reader without the lock: not worth a warning. A complete line
		// with a wrong checksum is damage either way.
		if ld.torn != nil && !errors.Is(ld.torn, errIncomplete) {
			s.dropped = ld.torn
		}
		return s, nil
	}
}

func sameFile(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

func newStore(dir string, ld *loaded) *Store {
	s := &Store{dir: dir, records: ld.records, serial: ld.serial}
	s.cond = sync.NewCond(&s.mu)
	s.setLineage(ld.lineage)
	return s
}

func (s *Store) setLineage(l string) {
	s.lineage, s.qline = l, quote(l)
}

// Get returns a deep copy of the record of address, and whether there is
// one.
func (s *Store) Get(address report.Address) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[address]
	if !ok {
		return Record{}, false
	}
	return clone(r), true
}

// View returns the record of address for reading, without a copy: it is
// the store's own, and must not be changed (nor anything reachable from
// it). It stays as it is: a later Put stores a new record rather than
// change this one. Planning a state of 100,000 records reads them all;
// View is what spares it 100,000 deep copies.
func (s *Store) View(address report.Address) (*Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[address]
	return r, ok
}

// Records returns deep copies of all the records, sorted by address.
func (s *Store) Records() []Record {
	s.mu.Lock()
	rs := make([]Record, 0, len(s.records))
	for _, r := range s.records {
		rs = append(rs, clone(r))
	}
	s.mu.Unlock()
	slices.SortFunc(rs, func(a, b Record) int { return cmp.Compare(a.Address, b.Address) })
	return rs
}

// Len returns the number of records.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// Addresses returns the recorded addresses, sorted: cheaper than Records
// when only the names are needed.
func (s *Store) Addresses() []report.Address {
	s.mu.Lock()
	as := make([]report.Address, 0, len(s.records))
	for a := range s.records {
		as = append(as, a)
	}
	s.mu.Unlock()
	slices.Sort(as)
	return as
}

// Lineage returns the state's identity: a random id chosen when the state
// was created, kept by every later change. It is empty for a read-only
// Store of a state that does not exist yet.
func (s *Store) Lineage() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lineage
}

// Serial returns the number of changes made to the state since it was
// created: each Put and Delete adds one.
func (s *Store) Serial() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serial
}

// Put records r (a copy of it: r is not retained) under r.Address, with
// Updated set to the current time in UTC. When it returns nil the record
// is durable: on disk, fsynced. Puts from several goroutines share fsyncs.
func (s *Store) Put(r Record) error {
	if r.Address == "" {
		return errors.New("put: record without an address")
	}
	c := clone(&r)
	c.Updated = time.Now().UTC()
	raw, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("put %s: %w", r.Address, err)
	}
	if err := s.commit(opPut, &c, quote(string(c.Address)), "", raw); err != nil {
		return fmt.Errorf("put %s: %w", r.Address, err)
	}
	return nil
}

// Delete forgets the record of address, if there is one. When it returns
// nil the deletion is durable.
func (s *Store) Delete(address report.Address) error {
	s.mu.Lock()
	_, ok := s.records[address]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if err := s.commit(opDelete, &Record{Address: address}, quote(string(address)), "", nil); err != nil {
		return fmt.Errorf("delete %s: %w", address, err)
	}
	return nil
}

// Move records the record of from under to, and forgets from, in one
// change (one journal line): a crash leaves the record under one address
// or the other, never under both or neither. The record is otherwise
// unchanged but for its Address and Updated (the current time, in UTC).
// It is an error, and changes nothing, if from has no record or to has
// one (to == from included). When it returns nil the move is durable.
func (s *Store) Move(from, to report.Address) error {
	if to == "" {
		return fmt.Errorf("move %s: no address to move it to", from)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The checks and the change are under one hold of mu, so that no Put
	// in between can make the move carry an old record or overwrite one.
	r, ok := s.records[from]
	if !ok {
		return fmt.Errorf("move %s: it is not in the state", from)
	}
	if _, ok := s.records[to]; ok {
		return fmt.Errorf("move %s to %s: %s is in the state already", from, to, to)
	}
	c := clone(r)
	c.Address, c.Updated = to, time.Now().UTC()
	raw, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("move %s: %w", from, err)
	}
	if err := s.commitLocked(opMove, &c, quote(string(to)), from, raw); err != nil {
		return fmt.Errorf("move %s to %s: %w", from, to, err)
	}
	return nil
}

// commit appends a change to the journal, applies it, and returns once it
// is durable: the change op of the record r. address is r.Address as
// JSON and raw is r as JSON (nil for a delete), encoded by the caller
// outside mu if it can; from is the address a move leaves ("" for a put
// or a delete). Appends are serialised by mu; the fsync is not: while one goroutine
// fsyncs, others append, then one fsync covers them all (group commit).
func (s *Store) commit(op string, r *Record, address []byte, from report.Address, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commitLocked(op, r, address, from, raw)
}

// commitLocked is commit with mu held.
func (s *Store) commitLocked(op string, r *Record, address []byte, from report.Address, raw []byte) error {
	switch {
	case s.readOnly:
		return fmt.Errorf("state %s: %w", s.dir, ErrReadOnly)
	case s.closed:
		return fmt.Errorf("state %s: %w", s.dir, ErrClosed)
	case s.err != nil:
		return s.err
	}
	serial := s.serial + 1
	var qfrom []byte
	if op == opMove {
		qfrom = quote(string(from))
	}
	var carried *Record // the record the line holds
	if raw != nil {
		carried = r
	}
	s.buf = appendLine(s.buf[:0], s.qline, serial, lineVersion(op, carried), op, address, qfrom, raw)
	if s.jsize+int64(len(s.buf)) > maxFileSize {
		// Compactions keep failing: a longer journal would be one that
		// Open refuses. Refuse the change instead, saying why.
		return fmt.Errorf("state %s: the journal would pass %d bytes, since compacting it keeps failing: %v", s.dir, maxFileSize, s.compactErr)
	}
	if _, err := s.journal.Write(s.buf); err != nil {
		// Cut off whatever part of the line was written, so that the next
		// Open does not find a damaged line; stop taking changes anyway.
		s.journal.Truncate(s.jsize)
		return s.fail(fmt.Errorf("append to journal: %w", err))
	}
	s.jlines++
	s.jsize += int64(len(s.buf))
	if cap(s.buf) > 1<<20 {
		s.buf = nil // do not keep a huge record's buffer for ever
	}
	s.serial = serial
	switch op {
	case opPut:
		s.records[r.Address] = r
	case opDelete:
		delete(s.records, r.Address)
	case opMove:
		delete(s.records, from)
		s.records[r.Address] = r
	}
	if err := s.waitDurable(serial); err != nil {
		return err
	}
	if s.jlines > max(compactMin, 2*len(s.records)) && s.jlines >= s.compactAt && !s.compacting && !s.closed {
		// The change is durable: a failed compaction is no reason to say
		// otherwise. Close reports it if it fails again.
		if err := s.compact(); err != nil && s.err == nil {
			s.compactAt = 2 * s.jlines
			s.compactErr = err
		}
	}
	return nil
}

// waitDurable returns once the change of serial is durable. The caller holds
// mu; it is released while waiting and fsyncing.
func (s *Store) waitDurable(serial uint64) error {
	for s.synced < serial {
		if s.err != nil {
			return s.err
		}
		if s.syncing || s.swapping {
			s.cond.Wait() // the fsync or the new journal under way may cover serial
			continue
		}
		s.syncing = true
		upto, j := s.serial, s.journal
		s.mu.Unlock()
		err := j.Sync()
		s.mu.Lock()
		s.syncing = false
		s.nsyncs++
		if err != nil {
			// After a failed fsync the kernel may have dropped the dirty
			// pages: retrying could report success for lost data.
			s.fail(fmt.Errorf("fsync journal: %w", err))
		} else {
			s.synced = max(s.synced, upto)
		}
		s.cond.Broadcast()
	}
	return nil
}

// fail records err as the reason the store takes no more changes, and
// returns it. Reopening the state recovers every change that was
// acknowledged.
func (s *Store) fail(err error) error {
	if s.err == nil {
		s.err = fmt.Errorf("state %s: %w (it takes no more changes: reopen it)", s.dir, err)
		s.cond.Broadcast()
	}
	return s.err
}

// compact writes the records as a new snapshot and replaces the journal by
// one holding only the changes the snapshot does not. The caller holds mu,
// and no compaction is under way. mu is released while the snapshot is
// written, so that Get, Records, Put and Delete go on meanwhile: the
// snapshot is of the records at the serial compact started at, and the
// lines appended since are copied to the new journal.
//
// A crash at any instant leaves a state that loads as it was: the new
// snapshot is in place (renamed, directory fsynced) before the journal is
// replaced, and load skips the journal lines it holds; the new journal is
// in place (written, fsynced, renamed, directory fsynced) before a Put
// whose line is in it but whose fsync had not come is told it is durable.
func (s *Store) compact() error {
	s.compacting = true
	defer func() {
		s.compacting = false
		s.cond.Broadcast()
	}()
	if s.err != nil {
		return s.err
	}
	serial, lineage := s.serial, s.lineage
	jlines, jsize := s.jlines, s.jsize // the journal up to serial
	recs := make([]*Record, 0, len(s.records))
	for _, r := range s.records {
		recs = append(recs, r)
	}
	s.mu.Unlock()
	err := writeSnapshot(filepath.Join(s.dir, snapshotName), lineage, serial, recs)
	s.mu.Lock()
	if err != nil {
		// Whether or not the new snapshot is in place, the journal holds
		// every change: the state is the same either way.
		return err
	}
	s.migrate = false
	s.swapping = true
	defer func() { s.swapping = false }() // before compacting's broadcast
	for s.syncing {
		s.cond.Wait() // for an fsync of the old journal; no other starts now
	}
	if s.err != nil {
		return s.err
	}
	return s.replaceJournal(jlines, jsize)
}

// replaceJournal replaces the journal by its lines after the first jlines
// (jsize bytes), which are in the snapshot. The caller holds mu throughout,
// so no line is appended meanwhile.
func (s *Store) replaceJournal(jlines int, jsize int64) error {
	tail := make([]byte, s.jsize-jsize)
	if _, err := s.journal.ReadAt(tail, jsize); err != nil {
		return fmt.Errorf("read journal: %w", err) // the old journal is still good
	}
	path := filepath.Join(s.dir, journalName)
	if err := fsutil.WriteFile(path, tail); err != nil {
		if errors.Is(err, fsutil.ErrRenameNotDurable) {
			// A crash may bring the old journal back: what is appended to
			// the new one from now on could be lost.
			return s.fail(fmt.Errorf("replace journal: %w", err))
		}
		return fmt.Errorf("replace journal: %w", err) // the old journal is still in place, and good
	}
	j, err := openFile(path, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return s.fail(fmt.Errorf("open journal: %w", err))
	}
	s.journal.Close()
	s.journal = j
	s.jlines -= jlines
	s.jsize -= jsize
	s.synced = s.serial // in the snapshot, or in the new journal, fsynced
	s.compactAt, s.compactErr = 0, nil
	return nil
}

// Warnings are what opening the state left out that a person should be
// told of: a damaged last journal line (a write cut short by a crash),
// dropped (and, by Open, truncated away), named by file and line; its
// change was never acknowledged. Empty when there is nothing to tell.
func (s *Store) Warnings() []string {
	if s.dropped == nil {
		return nil
	}
	what := "dropped"
	if !s.readOnly {
		what = "dropped and truncated away"
	}
	return []string{fmt.Sprintf("state file %s: line %d: %s a damaged last journal line (%v): a write cut short by a crash; its change was never acknowledged",
		s.dropped.Path, s.dropped.Line, what, strings.TrimPrefix(s.dropped.Err.Error(), errTorn.Error()+": "))}
}

// Close compacts the state if its journal has anything in it (or its
// snapshot is of an older format version), and releases the lock. Calling
// it again does nothing, once the first call has returned. Put and Delete
// after Close return ErrClosed; Get and Records still answer from memory.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		for !s.released && !s.readOnly {
			s.cond.Wait() // for the Close under way, compacting without mu
		}
		return nil
	}
	s.closed = true
	if s.readOnly {
		return nil
	}
	for s.syncing || s.compacting {
		s.cond.Wait()
	}
	var errs []error
	if s.err != nil {
		// A write failed earlier: the changes since are not on disk, and
		// whoever closes the state must hear it again.
		errs = append(errs, s.err)
	}
	if s.err == nil && s.synced < s.serial {
		// Only a Put still waiting for its fsync (a Close racing it) gets here.
		if err := s.journal.Sync(); err != nil {
			errs = append(errs, s.fail(fmt.Errorf("fsync journal: %w", err)))
		} else {
			s.synced = s.serial
		}
	}
	if s.err == nil && (s.jlines > 0 || s.migrate) {
		if err := s.compact(); err != nil {
			errs = append(errs, fmt.Errorf("close state %s: %w", s.dir, err))
		}
	}
	if err := s.journal.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close journal: %w", err))
	}
	if err := releaseLock(s.lock); err != nil {
		errs = append(errs, fmt.Errorf("release lock of state %s: %w", s.dir, err))
	}
	s.released = true
	s.cond.Broadcast()
	return errors.Join(errs...)
}
