package watch

import (
	"container/heap"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/ledgerform/ledgerform/spec"
)

// Defaults and limits.
const (
	// DefaultDebounce is Config.Debounce when it is zero.
	DefaultDebounce = 100 * time.Millisecond
	// DefaultQuiet is Config.Quiet when it is zero.
	DefaultQuiet = time.Second

	// maxBurst is how many Debounce periods a burst may last before it is
	// cut, so that a storm of events never starves the consumer.
	maxBurst = 10

	// retryMin and retryMax bound the backoff of watches that could not
	// be added.
	retryMin = time.Second
	retryMax = time.Minute
)

// ErrClosed is returned by Set after Close.
var ErrClosed = errors.New("watch: watcher closed")

// Config configures a Watcher. The zero value is usable.
type Config struct {
	// Debounce is the quiet time that ends a burst of events. Zero or
	// negative means DefaultDebounce (100ms).
	Debounce time.Duration
	// Quiet is how long a file in a drop dir must go without events, and
	// then keep its size and mtime (or have an mtime at least Quiet old),
	// before it is complete. Zero or negative means DefaultQuiet (1s).
	Quiet time.Duration
	// Logger receives events at Debug and watch problems at Warn. Nil
	// discards.
	Logger *slog.Logger
	// Poll, when above zero, scans the watched dirs every Poll instead of
	// asking fsnotify (see poll.go): for drop folders on shared storage
	// (NFS, SMB), where fsnotify never hears of another machine's writes.
	Poll time.Duration
}

// Dir is one directory to watch.
type Dir struct {
	// Path is absolute and cleaned (filepath.Clean(Path) == Path).
	Path string
	// Drop marks a drop folder: its files are reported only once complete
	// (see Config.Quiet), and when they are removed.
	Drop bool
}

// Batch is what changed during one burst.
type Batch struct {
	// Paths are the absolute, cleaned paths, sorted and without
	// duplicates, of the entries directly in watched dirs that had events.
	// Temporary names are never included. For drop dirs, only files that
	// are now complete, or that were removed or renamed away. Paths may be
	// empty when Resync is set.
	Paths []string
	// Resync reports that events may have been lost (queue overflow, a
	// watched dir removed and re-created, a watch that could not be added,
	// a missing dir that appeared): the consumer must rescan everything.
	Resync bool
}

// A Watcher watches a set of directories and sends Batches. Its methods
// are safe for concurrent use. Call Close to stop it.
type Watcher struct {
	fs      *fsnotify.Watcher
	batches chan Batch
	sets    chan setRequest
	tracks  chan string
	done    chan struct{} // closed by Close
	exited  chan struct{} // closed when the loop has returned
	err     error         // written by the loop before exited is closed
	once    sync.Once
}

type setRequest struct {
	dirs  []Dir
	reply chan struct{}
}

// New returns a Watcher watching nothing (see Set) and starts the goroutine
// that owns it. It fails only if fsnotify cannot be started.
func New(cfg Config) (*Watcher, error) {
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.Quiet <= 0 {
		cfg.Quiet = DefaultQuiet
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var fsw *fsnotify.Watcher
	var watches adder = pollAdder{}
	if cfg.Poll <= 0 {
		var err error
		fsw, err = fsnotify.NewWatcher()
		if err != nil {
			if errors.Is(err, syscall.EMFILE) {
				return nil, fmt.Errorf("start fsnotify: %w (too many inotify instances: raise the sysctl fs.inotify.max_user_instances)", err)
			}
			return nil, fmt.Errorf("start fsnotify: %w", err)
		}
		watches = fsw
	}
	w := &Watcher{
		fs:      fsw,
		batches: make(chan Batch),
		sets:    make(chan setRequest),
		tracks:  make(chan string),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	l := newLoop(cfg, log, watches)
	go w.run(l)
	return w, nil
}

// Set replaces the set of watched dirs, adding and removing fsnotify
// watches. A path listed twice is watched once, as a drop folder if any
// listing says so. Set returns once the watches are in place, so a scan
// the caller starts after Set returns misses nothing: any change after
// the scan's listing is reported. Set sends no Batch for dirs it could
// watch at once; a dir that does not exist yet is watched for, and a Batch
// with Resync is sent when it appears. A watch that cannot be added is
// logged, retried, and reported as a Resync; it is not an error. Events
// already collected for dirs no longer in the set are discarded, and so are
// drop files waiting to be complete there.
//
// Set returns an error if a path is not absolute and cleaned, or ErrClosed
// after Close. It is safe to call at any time, concurrently with events.
func (w *Watcher) Set(dirs []Dir) error {
	for _, d := range dirs {
		if !filepath.IsAbs(d.Path) || filepath.Clean(d.Path) != d.Path {
			return fmt.Errorf("watch %q: path must be absolute and cleaned", d.Path)
		}
	}
	r := setRequest{dirs: slices.Clone(dirs), reply: make(chan struct{}, 1)}
	select {
	case w.sets <- r:
	case <-w.done:
		return ErrClosed
	}
	select {
	case <-r.reply:
		return nil
	case <-w.exited:
		return ErrClosed
	}
}

// Track considers the file at path, directly in a drop dir of the current
// set, as just changed: it is reported once complete. It is meant for files
// that a rescan found with a recent mtime (see Complete). Paths that are
// not absolute, not in a drop dir, or temporary are ignored, and so is any
// call after Close.
func (w *Watcher) Track(path string) {
	if !filepath.IsAbs(path) {
		return
	}
	select {
	case w.tracks <- filepath.Clean(path):
	case <-w.done:
	}
}

// Batches returns the channel on which Batches are sent. There is at most
// one Batch waiting at a time: while the receiver is busy, new changes are
// merged into it, so a slow receiver loses nothing and never blocks the
// Watcher. The channel is closed by Close.
func (w *Watcher) Batches() <-chan Batch { return w.batches }

// Close stops the Watcher's goroutine, closes fsnotify, waits for both and
// closes the Batches channel. It is idempotent and returns the error of
// closing fsnotify on every call.
func (w *Watcher) Close() error {
	w.once.Do(func() { close(w.done) })
	<-w.exited
	return w.err
}

// Complete reports whether a file found by a scan can be taken now: it is
// a regular file whose mtime is at least quiet before now. A file that is
// not complete yet should be passed to Track.
func Complete(fi os.FileInfo, quiet time.Duration, now time.Time) bool {
	return fi.Mode().IsRegular() && now.Sub(fi.ModTime()) >= quiet
}

// run is the one goroutine that owns l.
func (w *Watcher) run(l *loop) {
	defer close(w.exited)
	defer close(w.batches)
	var events chan fsnotify.Event
	var errs chan error
	var poll <-chan time.Time
	if w.fs != nil {
		defer func() { w.err = w.fs.Close() }()
		events, errs = w.fs.Events, w.fs.Errors
	} else {
		t := time.NewTicker(l.pollEvery)
		defer t.Stop()
		poll = t.C
	}
	defer l.stopTimers()

	for {
		var (
			out   chan<- Batch
			batch Batch
		)
		if b, ok := l.pendingBatch(); ok {
			out, batch = w.batches, b
		}
		select {
		case <-w.done:
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			l.event(ev, time.Now())
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			l.fsError(err, time.Now())
		case r := <-w.sets:
			l.set(r.dirs, time.Now())
			r.reply <- struct{}{}
		case p := <-w.tracks:
			l.track(p, time.Now())
		case <-l.debounce.C:
			l.debounceFired(time.Now())
		case <-l.quiet.C:
			l.quietFired(time.Now())
		case <-l.retry.C:
			l.retryFired(time.Now())
		case <-poll:
			l.poll(time.Now())
		case out <- batch:
			l.sent()
		}
	}
}

// loop is the state owned by the Watcher's goroutine. None of its methods
// may be called from anywhere else.
type loop struct {
	debounceFor time.Duration
	quietFor    time.Duration
	log         *slog.Logger
	fs          adder
	pollEvery   time.Duration                   // Config.Poll; 0 with fsnotify
	snaps       map[string]map[string]entryStat // with Poll: each watched dir's entries at the last scan

	// Watches.
	dirs     map[string]*dirState // the dirs given to Set
	added    map[string]bool      // paths with an fsnotify watch
	awaiting map[string]bool      // paths whose events may bring back a missing dir
	retry    *time.Timer          // retries watches that failed
	retrying bool                 // retry is armed
	backoff  time.Duration

	// The burst being collected.
	burst      map[string]struct{}
	resync     bool // the burst needs a resync
	inBurst    bool
	burstStart time.Time
	lastEvent  time.Time
	debounce   *time.Timer

	// Drop files waiting to be complete.
	files      map[string]*dropFile
	queue      dropQueue // at most one entry per file in files
	quiet      *time.Timer
	quietArmed bool
	quietAt    time.Time

	// The Batch waiting for the consumer.
	out       map[string]struct{}
	outResync bool
	outBatch  *Batch // out as a Batch; nil when out changed since it was built
}

type dirState struct {
	drop    bool
	watched bool // its own watch is in place
	failed  bool // its watch (or its ancestor's) could not be added
}

// dropFile is a file in a drop dir that is not complete yet.
type dropFile struct {
	path   string
	due    time.Time // when its quiet period ends if no other event comes
	queued bool      // it has an entry in the queue

	checked bool // size and mtime hold the result of a previous check
	size    int64
	mtime   time.Time
}

func newLoop(cfg Config, log *slog.Logger, fsw adder) *loop {
	return &loop{
		debounceFor: cfg.Debounce,
		quietFor:    cfg.Quiet,
		log:         log,
		fs:          fsw,
		pollEvery:   max(cfg.Poll, 0),
		snaps:       make(map[string]map[string]entryStat),
		dirs:        make(map[string]*dirState),
		added:       make(map[string]bool),
		awaiting:    make(map[string]bool),
		retry:       stoppedTimer(),
		backoff:     retryMin,
		burst:       make(map[string]struct{}),
		debounce:    stoppedTimer(),
		files:       make(map[string]*dropFile),
		quiet:       stoppedTimer(),
		out:         make(map[string]struct{}),
	}
}

// stoppedTimer returns a timer that has not been started. (Since Go 1.23
// a stopped or reset timer never delivers a stale value.)
func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

func (l *loop) stopTimers() {
	l.retry.Stop()
	l.debounce.Stop()
	l.quiet.Stop()
}

// event handles one fsnotify event. It is O(1) and does no I/O, unless the
// event is on a watched dir itself or on the path towards a missing one.
func (l *loop) event(ev fsnotify.Event, now time.Time) {
	name := ev.Name
	l.log.Debug("watch: event", "path", name, "op", ev.Op)
	gone := ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)

	// Events that change what can be watched. fsnotify drops its watch on
	// a path that is removed or renamed.
	replan := l.awaiting[name]
	if gone && l.added[name] {
		delete(l.added, name)
		replan = true
		if d := l.dirs[name]; d != nil && d.watched {
			d.watched = false
			l.log.Warn("watch: watched directory removed or renamed; watching for it to come back", "path", name)
			l.setResync(now)
		}
	}
	if replan {
		l.replan(now, nil)
	}

	// Events on entries of watched dirs.
	d := l.dirs[filepath.Dir(name)]
	if d == nil || !d.watched || spec.IsTemporary(name) {
		return
	}
	switch {
	case !d.drop:
		l.changed(name, now)
	case gone && !ev.Has(fsnotify.Create):
		l.forget(name)
		l.changed(name, now)
	default:
		l.touchDrop(name, now)
	}
}

// fsError handles an error from fsnotify. Every error (above all
// ErrEventOverflow) may mean lost events, so each one asks for a resync.
func (l *loop) fsError(err error, now time.Time) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		l.log.Warn("watch: event queue overflowed; resyncing (raise the sysctl fs.inotify.max_queued_events if this recurs)", "err", err)
	} else {
		l.log.Warn("watch: fsnotify error; resyncing", "err", err)
	}
	l.setResync(now)
}

// set replaces the watched dirs.
func (l *loop) set(dirs []Dir, now time.Time) {
	want := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		want[d.Path] = want[d.Path] || d.Drop
	}
	for path := range l.dirs {
		if _, ok := want[path]; !ok {
			delete(l.dirs, path)
			delete(l.snaps, path)
			l.forgetDir(path)
		}
	}
	fresh := make(map[string]bool)
	for path, drop := range want {
		d := l.dirs[path]
		if d == nil {
			d = &dirState{}
			l.dirs[path] = d
			fresh[path] = true
		}
		if d.drop && !drop {
			l.forgetDir(path)
		}
		d.drop = drop
	}
	l.replan(now, fresh)
	if l.pollEvery > 0 {
		// The first look, before Set returns: what changes after it is
		// in the next scan, as fsnotify would have reported it.
		for path := range fresh {
			if l.dirs[path].watched {
				l.snapshot(path)
			}
		}
	}
}

// forgetDir drops what is pending for entries of dir: its drop files and
// its paths in the waiting Batch. Its paths in the current burst are
// filtered out when the burst ends.
func (l *loop) forgetDir(dir string) {
	for path := range l.files {
		if filepath.Dir(path) == dir {
			l.forget(path)
		}
	}
	for path := range l.out {
		if filepath.Dir(path) == dir {
			delete(l.out, path)
			l.outBatch = nil
		}
	}
}

// replan makes sure every dir is watched, or else its nearest existing
// ancestor, and removes the watches no longer needed. Dirs in fresh were
// just given to Set: they need no resync when their watch is added.
func (l *loop) replan(now time.Time, fresh map[string]bool) {
	used := make(map[string]bool, len(l.dirs))
	awaiting := make(map[string]bool)
	failed := false
	for path, d := range l.dirs {
		if d.watched && l.added[path] {
			used[path] = true
			continue
		}
		at, err := l.locate(path)
		switch {
		case err != nil:
			if !d.failed {
				l.warnAdd(at, err)
				l.setResync(now)
			}
			d.watched, d.failed = false, true
			failed = true
		case at == path:
			if d.failed || !fresh[path] {
				l.log.Info("watch: watching directory; resyncing", "path", path)
				l.setResync(now)
			}
			d.watched, d.failed = true, false
			used[at] = true
		default:
			if d.failed {
				l.log.Info("watch: watching for directory to appear", "path", path, "at", at)
			} else if fresh[path] {
				l.log.Debug("watch: directory does not exist yet; watching for it", "path", path, "at", at)
			}
			d.watched, d.failed = false, false
			used[at] = true
			awaiting[nextStep(at, path)] = true
		}
	}
	for path := range l.added {
		if used[path] {
			continue
		}
		delete(l.added, path)
		if err := l.fs.Remove(path); err != nil && !errors.Is(err, fsnotify.ErrNonExistentWatch) {
			l.log.Debug("watch: remove watch", "path", path, "err", err)
		}
	}
	l.awaiting = awaiting

	switch {
	case failed && !l.retrying:
		l.retry.Reset(l.backoff)
		l.retrying = true
	case !failed:
		l.retry.Stop()
		l.retrying = false
		l.backoff = retryMin
	}
}

func (l *loop) retryFired(now time.Time) {
	l.retrying = false
	l.backoff = min(2*l.backoff, retryMax)
	l.replan(now, nil)
}

// locate adds a watch on dir if it is a directory, or else on its nearest
// existing ancestor, and returns the path watched.
func (l *loop) locate(dir string) (string, error) {
	// A component may appear between the stat and the watch; once the
	// watch is in place its appearance is an event, so look again.
	for range 100 {
		at, err := nearestDir(dir)
		if err != nil {
			return at, err
		}
		if !l.added[at] {
			if err := l.fs.Add(at); err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
					continue // it went away again
				}
				return at, err
			}
			l.added[at] = true
		}
		if at == dir {
			return at, nil
		}
		if again, err := nearestDir(dir); err == nil && again == at {
			return at, nil
		}
	}
	return dir, errors.New("the path keeps changing")
}

// nearestDir returns path if it is a directory, or else its nearest
// ancestor that is. It fails on errors other than absence (a permission
// problem is not waited out by watching the parent).
func nearestDir(path string) (string, error) {
	for {
		fi, err := os.Stat(path)
		switch {
		case err == nil && fi.IsDir():
			return path, nil
		case err == nil, errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		default:
			return path, err
		}
		parent := filepath.Dir(path)
		if parent == path {
			return path, fmt.Errorf("no directory above %s", path)
		}
		path = parent
	}
}

// nextStep returns the child of ancestor on the way to path: the entry
// whose events may mean that path can be watched, or watched closer.
func nextStep(ancestor, path string) string {
	rel, err := filepath.Rel(ancestor, path)
	if err != nil {
		return path
	}
	first, _, _ := strings.Cut(rel, string(filepath.Separator))
	return filepath.Join(ancestor, first)
}

func (l *loop) warnAdd(path string, err error) {
	if errors.Is(err, syscall.ENOSPC) {
		l.log.Warn("watch: cannot add watch: inotify watch limit reached; raise the sysctl fs.inotify.max_user_watches; retrying", "path", path, "err", err)
		return
	}
	l.log.Warn("watch: cannot add watch; retrying", "path", path, "err", err)
}

// changed adds path to the burst.
func (l *loop) changed(path string, now time.Time) {
	l.burst[path] = struct{}{}
	l.bump(now)
}

// setResync marks the burst as needing a resync.
func (l *loop) setResync(now time.Time) {
	l.resync = true
	l.bump(now)
}

// bump records an event in the burst, starting one if needed. The
// debounce timer is not reset on every event: when it fires, it is set
// again for whatever remains (see debounceFired).
func (l *loop) bump(now time.Time) {
	l.lastEvent = now
	if !l.inBurst {
		l.inBurst = true
		l.burstStart = now
		l.debounce.Reset(l.debounceFor)
	}
}

func (l *loop) debounceFired(now time.Time) {
	end := l.lastEvent.Add(l.debounceFor)
	if limit := l.burstStart.Add(maxBurst * l.debounceFor); limit.Before(end) {
		end = limit
	}
	if now.Before(end) {
		l.debounce.Reset(end.Sub(now))
		return
	}
	l.inBurst = false
	for path := range l.burst {
		if l.dirs[filepath.Dir(path)] != nil {
			l.out[path] = struct{}{}
		}
	}
	clear(l.burst)
	l.outResync = l.outResync || l.resync
	l.resync = false
	l.outBatch = nil
}

// touchDrop (re)starts the quiet period of the drop file at path.
func (l *loop) touchDrop(path string, now time.Time) {
	// A file being written is not offered, even if an earlier version of
	// it (or its removal) is waiting.
	delete(l.burst, path)
	if _, ok := l.out[path]; ok {
		delete(l.out, path)
		l.outBatch = nil
	}
	f := l.files[path]
	if f == nil {
		f = &dropFile{path: path}
		l.files[path] = f
	}
	f.due = now.Add(l.quietFor)
	if !f.queued {
		l.enqueue(f, f.due, now)
	}
}

// track handles Track.
func (l *loop) track(path string, now time.Time) {
	d := l.dirs[filepath.Dir(path)]
	if d == nil || !d.drop || spec.IsTemporary(path) {
		l.log.Debug("watch: track: not a drop file; ignored", "path", path)
		return
	}
	l.touchDrop(path, now)
}

// forget stops waiting for the drop file at path. Its queue entry, if
// any, is skipped when it comes up.
func (l *loop) forget(path string) {
	delete(l.files, path)
}

func (l *loop) enqueue(f *dropFile, at, now time.Time) {
	heap.Push(&l.queue, queued{at: at, f: f})
	f.queued = true
	l.armQuiet(now)
}

// armQuiet sets the quiet timer for the earliest entry of the queue.
func (l *loop) armQuiet(now time.Time) {
	if len(l.queue) == 0 {
		if l.quietArmed {
			l.quiet.Stop()
			l.quietArmed = false
		}
		return
	}
	at := l.queue[0].at
	if l.quietArmed && at.Equal(l.quietAt) {
		return
	}
	l.quiet.Reset(at.Sub(now))
	l.quietArmed, l.quietAt = true, at
}

func (l *loop) quietFired(now time.Time) {
	l.quietArmed = false
	for len(l.queue) > 0 && !l.queue[0].at.After(now) {
		f := heap.Pop(&l.queue).(queued).f
		if l.files[f.path] != f {
			continue // forgotten
		}
		f.queued = false
		if f.due.After(now) {
			// Events came since it was queued.
			heap.Push(&l.queue, queued{at: f.due, f: f})
			f.queued = true
			continue
		}
		l.check(f, now)
	}
	l.armQuiet(now)
}

// check decides whether a drop file whose quiet period has ended is
// complete.
func (l *loop) check(f *dropFile, now time.Time) {
	fi, err := os.Lstat(f.path)
	if err != nil || !fi.Mode().IsRegular() {
		// Gone (its removal is an event of its own) or not a file.
		l.log.Debug("watch: drop entry is not a regular file; ignored", "path", f.path, "err", err)
		l.forget(f.path)
		return
	}
	if Complete(fi, l.quietFor, now) || f.checked && fi.Size() == f.size && fi.ModTime().Equal(f.mtime) {
		l.log.Debug("watch: drop file complete", "path", f.path, "size", fi.Size())
		l.forget(f.path)
		l.out[f.path] = struct{}{}
		l.outBatch = nil
		return
	}
	f.checked, f.size, f.mtime = true, fi.Size(), fi.ModTime()
	f.due = now.Add(l.quietFor)
	heap.Push(&l.queue, queued{at: f.due, f: f})
	f.queued = true
}

// pendingBatch returns the Batch waiting for the consumer, if any.
func (l *loop) pendingBatch() (Batch, bool) {
	if len(l.out) == 0 && !l.outResync {
		return Batch{}, false
	}
	if l.outBatch == nil {
		l.outBatch = &Batch{Paths: slices.Sorted(maps.Keys(l.out)), Resync: l.outResync}
	}
	return *l.outBatch, true
}

// sent records that the consumer received the pending Batch.
func (l *loop) sent() {
	clear(l.out)
	l.outResync = false
	l.outBatch = nil
}

// queued is an entry of a dropQueue: when to look at f again.
type queued struct {
	at time.Time
	f  *dropFile
}

// dropQueue is a min-heap of queued by at (container/heap).
type dropQueue []queued

func (q dropQueue) Len() int           { return len(q) }
func (q dropQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q dropQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *dropQueue) Push(x any)        { *q = append(*q, x.(queued)) }
func (q *dropQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	old[len(old)-1] = queued{}
	*q = old[:len(old)-1]
	return x
}
