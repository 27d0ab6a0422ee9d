package watch

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/google/go-cmp/cmp"
)

// hang is how long a test waits for something that should happen. It only
// guards against hangs: no test passes or fails on timing.
const hang = 10 * time.Second

// testDebounce is long enough that the few file operations of one test
// step, done back to back, are always one burst.
const testDebounce = 200 * time.Millisecond

// start returns a running Watcher watching dirs, closed when the test ends.
func start(t testing.TB, cfg Config, dirs ...Dir) *Watcher {
	t.Helper()
	if cfg.Debounce == 0 {
		cfg.Debounce = testDebounce
	}
	if cfg.Poll == 0 {
		cfg.Poll = testPoll
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := w.Set(dirs); err != nil {
		t.Fatal(err)
	}
	return w
}

// next returns the next Batch.
func next(t testing.TB, w *Watcher) Batch {
	t.Helper()
	select {
	case b, ok := <-w.Batches():
		if !ok {
			t.Fatal("Batches closed")
		}
		return b
	case <-time.After(hang):
		t.Fatalf("no batch within %v", hang)
	}
	panic("unreachable")
}

// expectBatch checks that the next Batch is want.
func expectBatch(t testing.TB, w *Watcher, want Batch) {
	t.Helper()
	if diff := cmp.Diff(want, next(t, w)); diff != "" {
		t.Fatalf("batch (-want +got):\n%s", diff)
	}
}

// expect checks that the next Batch is exactly paths, without Resync.
func expect(t testing.TB, w *Watcher, paths ...string) {
	t.Helper()
	expectBatch(t, w, Batch{Paths: paths})
}

// expectNewFile writes an empty file name in dir and checks that the next
// Batch is that file alone: dir is watched, and nothing else is pending.
func expectNewFile(t testing.TB, w *Watcher, dir, name string) {
	t.Helper()
	expect(t, w, write(t, filepath.Join(dir, name), ""))
}

// expectResync checks that the next Batch has Resync set.
func expectResync(t testing.TB, w *Watcher) {
	t.Helper()
	if got := next(t, w); !got.Resync {
		t.Fatalf("batch %+v: want Resync", got)
	}
}

func mkdir(t testing.TB, path string) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func write(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func rename(t testing.TB, from, to string) string {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
	return to
}

func remove(t testing.TB, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// dropIn writes a complete file outside the drop dir and renames it in, as
// a well-behaved producer does.
func dropIn(t testing.TB, dropDir, name, content string) string {
	t.Helper()
	stage := mkdir(t, filepath.Join(filepath.Dir(dropDir), "stage"))
	return rename(t, write(t, filepath.Join(stage, name), content), filepath.Join(dropDir, name))
}

// expectWatches checks that fsnotify watches exactly paths.
func expectWatches(t testing.TB, w *Watcher, paths ...string) {
	t.Helper()
	got := w.fs.WatchList()
	slices.Sort(got)
	if !slices.Equal(got, paths) {
		t.Errorf("watches = %q, want %q", got, paths)
	}
}

// startDrop returns a running Watcher of one new drop dir, and the dir.
func startDrop(t testing.TB, quiet time.Duration) (w *Watcher, drop string) {
	t.Helper()
	drop = mkdir(t, filepath.Join(t.TempDir(), "drop"))
	return start(t, Config{Quiet: quiet}, Dir{Path: drop, Drop: true}), drop
}

func TestWatcher_EditorSave(t *testing.T) {
	dir := t.TempDir()
	x := write(t, filepath.Join(dir, "x.yaml"), "reports: []\n")
	w := start(t, Config{}, Dir{Path: dir})

	// What vim (backupcopy=no) or a "safe write" does.
	swp := write(t, filepath.Join(dir, ".x.yaml.swp"), "swap")
	tmp := write(t, filepath.Join(dir, "x.yaml.tmp"), "reports: [] # edited\n")
	rename(t, tmp, x)
	remove(t, swp)
	expect(t, w, x)

	// The next batch has only the next change: the save was one batch.
	expectNewFile(t, w, dir, "z.yaml")
}

func TestWatcher_Burst(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := range 20 {
		paths = append(paths, write(t, filepath.Join(dir, fmt.Sprintf("m%02d.yaml", i)), "v1"))
	}
	w := start(t, Config{}, Dir{Path: dir})

	for _, p := range paths { // a git checkout
		write(t, p, "v2")
	}
	expect(t, w, paths...)

	expectNewFile(t, w, dir, "z.yaml")
}

func TestWatcher_Subdirectory(t *testing.T) {
	dir := t.TempDir()
	w := start(t, Config{}, Dir{Path: dir})

	sub := mkdir(t, filepath.Join(dir, "sub"))
	expect(t, w, sub)

	// Its files are not watched.
	write(t, filepath.Join(sub, "a.yaml"), "")
	expectNewFile(t, w, dir, "z.yaml")
}

func TestWatcher_DropSlowWrite(t *testing.T) {
	w, drop := startDrop(t, 500*time.Millisecond)

	path := filepath.Join(drop, "slow.json")
	chunk := bytes.Repeat([]byte("x"), 1024)
	const writes = 10
	written := make(chan error, 1)
	go func() {
		f, err := os.Create(path)
		if err != nil {
			written <- err
			return
		}
		for i := range writes {
			if i > 0 {
				time.Sleep(100 * time.Millisecond)
			}
			if _, err := f.Write(chunk); err != nil {
				f.Close()
				written <- err
				return
			}
		}
		written <- f.Close()
	}()

	b := next(t, w)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Size(), int64(writes*len(chunk)); got != want {
		t.Errorf("size when reported = %d, want %d (reported before the last write)", got, want)
	}
	if diff := cmp.Diff(Batch{Paths: []string{path}}, b); diff != "" {
		t.Errorf("batch (-want +got):\n%s", diff)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}

	// Reported once.
	s := dropIn(t, drop, "s.json", "{}")
	expect(t, w, s)
}

func TestWatcher_DropRename(t *testing.T) {
	w, drop := startDrop(t, 300*time.Millisecond)

	a := dropIn(t, drop, "a.json", `{"a":1}`)
	expect(t, w, a)

	// Written under a temporary name in the drop dir itself, then renamed.
	part := write(t, filepath.Join(drop, "b.json.part"), `{"b":1}`)
	b := rename(t, part, filepath.Join(drop, "b.json"))
	expect(t, w, b)

	// Each was reported once.
	s := dropIn(t, drop, "s.json", "{}")
	expect(t, w, s)
}

func TestWatcher_DropTemporaryNames(t *testing.T) {
	w, drop := startDrop(t, 300*time.Millisecond)

	for _, name := range []string{".hidden.json", "x.json.tmp", "x.json.part", "x.json~", ".x.json.swp", "X.JSON.TMP"} {
		write(t, filepath.Join(drop, name), "{}")
	}
	remove(t, filepath.Join(drop, "x.json.tmp"))
	s := dropIn(t, drop, "s.json", "{}")
	expect(t, w, s)
}

func TestWatcher_DropRemove(t *testing.T) {
	w, drop := startDrop(t, 300*time.Millisecond)

	a := dropIn(t, drop, "a.json", "{}")
	expect(t, w, a)

	remove(t, a)
	expect(t, w, a)

	// Renamed away.
	b := dropIn(t, drop, "b.json", "{}")
	expect(t, w, b)
	rename(t, b, filepath.Join(filepath.Dir(drop), "b.json"))
	expect(t, w, b)
}

func TestWatcher_Track(t *testing.T) {
	dir := t.TempDir()
	drop := mkdir(t, filepath.Join(dir, "drop"))
	other := mkdir(t, filepath.Join(dir, "other"))
	// Found by a rescan, with no event of its own.
	a := write(t, filepath.Join(drop, "a.json"), "{}")
	o := write(t, filepath.Join(other, "o.json"), "{}")
	w := start(t, Config{Quiet: 300 * time.Millisecond}, Dir{Path: drop, Drop: true}, Dir{Path: other})

	w.Track(o)                                   // not in a drop dir: ignored
	w.Track(filepath.Join(drop, ".a.json.part")) // temporary: ignored
	w.Track("a.json")                            // relative: ignored
	w.Track(a)
	expect(t, w, a)
}

func TestWatcher_MissingDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "c")
	w := start(t, Config{}, Dir{Path: dir})

	// Watched for from the nearest ancestor that exists.
	expectWatches(t, w, root)

	mkdir(t, dir)
	expectResync(t, w)
	expectWatches(t, w, dir)

	expectNewFile(t, w, dir, "f.yaml")
}

func TestWatcher_MissingDirStepByStep(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b")
	w := start(t, Config{}, Dir{Path: dir})

	mkdir(t, filepath.Join(root, "a"))
	// No batch for that: the next one is the Resync for dir itself.
	mkdir(t, dir)
	expectResync(t, w)

	expectNewFile(t, w, dir, "f.yaml")
}

func TestWatcher_NotADirectory(t *testing.T) {
	root := t.TempDir()
	dir := write(t, filepath.Join(root, "d"), "a file, for now")
	w := start(t, Config{}, Dir{Path: dir})

	// A file is never watched: its parent is, for dir to become one.
	expectWatches(t, w, root)
	remove(t, dir)
	mkdir(t, dir)
	expectResync(t, w)

	expectNewFile(t, w, dir, "f.yaml")
}

func TestWatcher_DirRemovedAndRecreated(t *testing.T) {
	root := t.TempDir()
	dir := mkdir(t, filepath.Join(root, "d"))
	w := start(t, Config{}, Dir{Path: dir})

	remove(t, dir)
	expectResync(t, w)

	mkdir(t, dir)
	expectResync(t, w)

	expectNewFile(t, w, dir, "f.yaml")

	// Renamed away and back.
	rename(t, dir, dir+".old")
	expectResync(t, w)
	rename(t, dir+".old", dir)
	expectResync(t, w)

	expectNewFile(t, w, dir, "g.yaml")
}

func TestWatcher_NestedDirs(t *testing.T) {
	outer := t.TempDir()
	inner := mkdir(t, filepath.Join(outer, "inner"))
	w := start(t, Config{}, Dir{Path: outer}, Dir{Path: inner})

	f := write(t, filepath.Join(inner, "f.yaml"), "")
	expect(t, w, f)

	// Removing inner is an entry of outer, and the loss of a watch.
	remove(t, f)
	expect(t, w, f)
	remove(t, inner)
	expectBatch(t, w, Batch{Paths: []string{inner}, Resync: true})
	mkdir(t, inner)
	expectBatch(t, w, Batch{Paths: []string{inner}, Resync: true})
	expectNewFile(t, w, inner, "g.yaml")
}

func TestWatcher_Set(t *testing.T) {
	root := t.TempDir()
	a := mkdir(t, filepath.Join(root, "a"))
	b := mkdir(t, filepath.Join(root, "b"))
	w := start(t, Config{}, Dir{Path: a}, Dir{Path: b})
	expectWatches(t, w, a, b)

	if err := w.Set([]Dir{{Path: b}, {Path: b}}); err != nil {
		t.Fatal(err)
	}
	expectWatches(t, w, b)
	write(t, filepath.Join(a, "a.yaml"), "")
	expectNewFile(t, w, b, "b.yaml")

	// Set discards what was collected for a dir it removes.
	write(t, filepath.Join(b, "c.yaml"), "")
	if err := w.Set([]Dir{{Path: a}}); err != nil {
		t.Fatal(err)
	}
	expectNewFile(t, w, a, "d.yaml")
}

func TestWatcher_SetDropFlag(t *testing.T) {
	dir := t.TempDir()
	w := start(t, Config{Quiet: 300 * time.Millisecond}, Dir{Path: dir})

	// Listed twice: a drop folder if either listing says so.
	if err := w.Set([]Dir{{Path: dir}, {Path: dir, Drop: true}}); err != nil {
		t.Fatal(err)
	}
	part := write(t, filepath.Join(dir, "a.json.part"), "{}")
	a := rename(t, part, filepath.Join(dir, "a.json"))
	expect(t, w, a)
}

func TestWatcher_SetInvalid(t *testing.T) {
	w := start(t, Config{})
	for _, path := range []string{"", "relative", "/a/../b", "/a/"} {
		if err := w.Set([]Dir{{Path: path}}); err == nil {
			t.Errorf("Set(%q): no error", path)
		}
	}
}

func TestWatcher_Overflow(t *testing.T) {
	dir := t.TempDir()
	w := start(t, Config{}, Dir{Path: dir})

	// What fsnotify sends when the kernel queue overflowed.
	select {
	case w.fs.Errors <- fsnotify.ErrEventOverflow:
	case <-time.After(hang):
		t.Fatal("Errors not read")
	}
	expectResync(t, w)
}

func TestWatcher_Close(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	w, err := New(Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Set([]Dir{{Path: dir}, {Path: filepath.Join(dir, "missing")}}); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "a.yaml"), "") // a batch the consumer never takes

	for range 2 {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if _, ok := <-w.Batches(); ok {
		t.Error("Batches not closed")
	}
	if err := w.Set([]Dir{{Path: dir}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close = %v, want ErrClosed", err)
	}
	w.Track(filepath.Join(dir, "a.yaml")) // does not block

	for deadline := time.Now().Add(hang); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before New, %d after Close", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestComplete(t *testing.T) {
	dir := t.TempDir()
	path := write(t, filepath.Join(dir, "f.json"), "{}")
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	dfi, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	const quiet = time.Second
	mtime := fi.ModTime()
	for _, tc := range []struct {
		name string
		fi   os.FileInfo
		now  time.Time
		want bool
	}{
		{"just written", fi, mtime, false},
		{"almost quiet", fi, mtime.Add(quiet - time.Nanosecond), false},
		{"quiet", fi, mtime.Add(quiet), true},
		{"old", fi, mtime.Add(time.Hour), true},
		{"mtime in the future", fi, mtime.Add(-time.Hour), false},
		{"directory", dfi, dfi.ModTime().Add(time.Hour), false},
	} {
		if got := Complete(tc.fi, quiet, tc.now); got != tc.want {
			t.Errorf("%s: Complete = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The loop's decisions on time are tested by driving it directly, with
// made-up times: no goroutine, no fsnotify.

func newTestLoop(dirs ...Dir) *loop {
	l := newLoop(Config{Debounce: time.Second, Quiet: time.Minute}, slog.New(slog.DiscardHandler), nil)
	for _, d := range dirs {
		l.dirs[d.Path] = &dirState{drop: d.Drop, watched: true}
	}
	return l
}

func pending(l *loop) Batch {
	b, _ := l.pendingBatch()
	return b
}

func TestLoop_StormIsCut(t *testing.T) {
	l := newTestLoop(Dir{Path: "/d"})
	t0 := time.Unix(1e9, 0)
	at := func(d float64) time.Time { return t0.Add(time.Duration(d * float64(time.Second))) }

	// An event every half second: the burst never goes quiet.
	l.changed("/d/a", at(0))
	for i := 1; i <= 19; i++ {
		l.changed(fmt.Sprintf("/d/%02d", i), at(float64(i)/2))
		if i%2 == 0 { // the timer fires every second
			l.debounceFired(at(float64(i) / 2))
			if b, ok := l.pendingBatch(); ok {
				t.Fatalf("flushed at %vs: %v", float64(i)/2, b)
			}
		}
	}
	l.debounceFired(at(10)) // 10×Debounce after the burst began
	if got, want := len(pending(l).Paths), 20; got != want {
		t.Fatalf("flushed %d paths, want %d", got, want)
	}
}

func TestLoop_BurstEndsWhenQuiet(t *testing.T) {
	l := newTestLoop(Dir{Path: "/d"})
	t0 := time.Unix(1e9, 0)
	l.changed("/d/a", t0)
	l.changed("/d/b", t0.Add(900*time.Millisecond))
	l.debounceFired(t0.Add(time.Second))
	if b, ok := l.pendingBatch(); ok {
		t.Fatalf("flushed while not quiet: %v", b)
	}
	l.debounceFired(t0.Add(1900 * time.Millisecond))
	if diff := cmp.Diff(Batch{Paths: []string{"/d/a", "/d/b"}}, pending(l)); diff != "" {
		t.Fatalf("batch (-want +got):\n%s", diff)
	}
}

func TestLoop_SlowConsumerMerges(t *testing.T) {
	l := newTestLoop(Dir{Path: "/d"})
	t0 := time.Unix(1e9, 0)
	l.changed("/d/b", t0)
	l.debounceFired(t0.Add(time.Second))
	first := pending(l)

	// Not received; a second burst, with a resync.
	t1 := t0.Add(time.Hour)
	l.changed("/d/a", t1)
	l.changed("/d/b", t1)
	l.setResync(t1)
	l.debounceFired(t1.Add(time.Second))
	if diff := cmp.Diff(Batch{Paths: []string{"/d/b"}}, first); diff != "" {
		t.Errorf("first batch changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Batch{Paths: []string{"/d/a", "/d/b"}, Resync: true}, pending(l)); diff != "" {
		t.Fatalf("merged batch (-want +got):\n%s", diff)
	}
	l.sent()
	if b, ok := l.pendingBatch(); ok {
		t.Fatalf("after sent: %v", b)
	}
}

func TestLoop_DropWithdrawnWhileWritten(t *testing.T) {
	l := newTestLoop(Dir{Path: "/drop", Drop: true})
	t0 := time.Unix(1e9, 0)

	// Reported removed, not yet received, then written again.
	l.event(fsnotify.Event{Name: "/drop/a.json", Op: fsnotify.Remove}, t0)
	l.debounceFired(t0.Add(time.Second))
	if diff := cmp.Diff(Batch{Paths: []string{"/drop/a.json"}}, pending(l)); diff != "" {
		t.Fatalf("batch (-want +got):\n%s", diff)
	}
	l.event(fsnotify.Event{Name: "/drop/a.json", Op: fsnotify.Create}, t0.Add(2*time.Second))
	if b, ok := l.pendingBatch(); ok {
		t.Fatalf("a file being written is offered: %v", b)
	}
	if l.files["/drop/a.json"] == nil {
		t.Fatal("not waiting for the file")
	}
}
