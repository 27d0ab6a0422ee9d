package watch

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// adder is what the loop needs of fsnotify: watches added and removed.
type adder interface {
	Add(path string) error
	Remove(path string) error
}

// pollAdder stands in for fsnotify with Config.Poll: a "watch" is only a
// directory that exists, which the scans list.
type pollAdder struct{}

func (pollAdder) Add(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %w", path, syscall.ENOTDIR)
	}
	return nil
}

func (pollAdder) Remove(string) error { return nil }

// entryStat is what a scan compares of an entry: a change of any of it is
// a write, as fsnotify would have reported one.
type entryStat struct {
	size  int64
	mtime time.Time
	mode  fs.FileMode
	ino   uint64
}

func statOf(fi fs.FileInfo) entryStat {
	e := entryStat{size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode()}
	if fi.IsDir() {
		// A subdirectory changes when its own entries do, which fsnotify
		// does not report on the parent's watch.
		e.size, e.mtime = 0, time.Time{}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.ino = uint64(st.Ino)
	}
	return e
}

// scan lists dir: name → stat. An entry that goes away while it is listed
// is left out.
func scan(dir string) (map[string]entryStat, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	m := make(map[string]entryStat, len(entries))
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			m[e.Name()] = statOf(fi)
		}
	}
	return m, nil
}

// snapshot records dir's entries as the base of the next scan's diff.
func (l *loop) snapshot(dir string) {
	if m, err := scan(dir); err == nil {
		l.snaps[dir] = m
	}
}

// poll scans every watched dir and turns what changed since the last scan
// into the events fsnotify would have sent: an entry that appeared is a
// create, one whose size, mtime, mode or inode changed a write, one that
// is gone a remove, and a watched dir that is gone the removal of its
// watch. The rest — debounce, the completeness of dropped files (unchanged
// for Quiet), resyncs — is what it is with fsnotify. Missing dirs are
// looked for again at every scan; one that appeared is recorded at once
// (the consumer is told to resync, as with fsnotify).
func (l *loop) poll(now time.Time) {
	missing := false
	for dir, d := range l.dirs {
		if !d.watched {
			missing = true
			continue
		}
		cur, err := scan(dir)
		if err != nil {
			delete(l.snaps, dir)
			if l.added[dir] {
				l.event(fsnotify.Event{Name: dir, Op: fsnotify.Remove}, now)
			}
			missing = true
			continue
		}
		old := l.snaps[dir]
		l.snaps[dir] = cur
		for name, st := range cur {
			switch o, ok := old[name]; {
			case !ok:
				l.event(fsnotify.Event{Name: filepath.Join(dir, name), Op: fsnotify.Create}, now)
			case o != st:
				l.event(fsnotify.Event{Name: filepath.Join(dir, name), Op: fsnotify.Write}, now)
			}
		}
		for name := range old {
			if _, ok := cur[name]; !ok {
				l.event(fsnotify.Event{Name: filepath.Join(dir, name), Op: fsnotify.Remove}, now)
			}
		}
	}
	if missing {
		l.replan(now, nil)
		for dir, d := range l.dirs {
			if _, ok := l.snaps[dir]; d.watched && !ok {
				l.snapshot(dir) // it appeared: the base before the consumer's resync
			}
		}
	}
}
