//go:build unix

package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ledgerform/ledgerform/internal/fsutil"
)

// TestOpen_notAStateFile puts at each path of the state what no state file
// can be: Open and OpenReadOnly must fail at once, naming the path and
// what is there, without reading it (a named pipe would block them,
// /dev/zero fill the memory).
func TestOpen_notAStateFile(t *testing.T) {
	fifo := func(t *testing.T, path string) {
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skip(err)
		}
	}
	symlink := func(to string) func(*testing.T, string) {
		return func(t *testing.T, path string) {
			if err := os.Symlink(to, path); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := func(t *testing.T, path string) {
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	large := func(t *testing.T, path string) {
		writeFile(t, path, make([]byte, 4097))
	}
	for _, c := range []struct {
		name     string
		file     string
		make     func(*testing.T, string)
		what     string
		readOnly bool // OpenReadOnly refuses it too (it never opens the lock)
		err      error
	}{
		{"snapshot is a named pipe", snapshotName, fifo, "a named pipe", true, fsutil.ErrNotRegular},
		{"journal is a named pipe", journalName, fifo, "a named pipe", true, fsutil.ErrNotRegular},
		{"lock is a named pipe", lockName, fifo, "a named pipe", false, fsutil.ErrNotRegular},
		{"snapshot is a link to /dev/zero", snapshotName, symlink("/dev/zero"), "a symbolic link to /dev/zero", true, fsutil.ErrNotRegular},
		{"journal is a link to /dev/zero", journalName, symlink("/dev/zero"), "a symbolic link to /dev/zero", true, fsutil.ErrNotRegular},
		{"lock is a link to /dev/zero", lockName, symlink("/dev/zero"), "a symbolic link to /dev/zero", false, fsutil.ErrNotRegular},
		{"snapshot is a dangling link", snapshotName, symlink("nowhere"), "a symbolic link to nowhere", true, fsutil.ErrNotRegular},
		{"snapshot is a directory", snapshotName, dir, "a directory", true, fsutil.ErrNotRegular},
		{"journal is a directory", journalName, dir, "a directory", true, fsutil.ErrNotRegular},
		{"lock is a directory", lockName, dir, "a directory", false, fsutil.ErrNotRegular},
		{"snapshot is too large", snapshotName, large, "4097 bytes, larger than any state file (at most 4096)", true, ErrTooLarge},
		{"journal is too large", journalName, large, "4097 bytes, larger than any state file (at most 4096)", true, ErrTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func(m int64) { maxFileSize = m }(maxFileSize)
			maxFileSize = 4096
			dir := t.TempDir()
			path := filepath.Join(dir, c.file)
			c.make(t, path)
			opens := []struct {
				name string
				open func(string) (*Store, error)
				fail bool
			}{{"Open", Open, true}, {"OpenReadOnly", OpenReadOnly, c.readOnly}}
			for _, o := range opens {
				var err error
				within(t, o.name, func() {
					var s *Store
					if s, err = o.open(dir); err == nil {
						s.Close()
					}
				})
				if !o.fail {
					if err != nil {
						t.Errorf("%s: %v, want no error", o.name, err)
					}
					continue
				}
				var ne *NotStateFileError
				if !errors.As(err, &ne) || ne.Path != path || ne.What != c.what || !errors.Is(err, c.err) {
					t.Fatalf("%s: %v, want a *NotStateFileError for %s: %s", o.name, err, path, c.what)
				}
				if msg, want := err.Error(), path+" is "+c.what+", not a state file"; !strings.Contains(msg, want) {
					t.Errorf("%s: error %q, want it to say %q", o.name, msg, want)
				}
			}
		})
	}
}

// TestOpenFile_swapped swaps the file between openFile's Lstat and its
// open, as another process might: the open must neither block nor follow.
func TestOpenFile_swapped(t *testing.T) {
	for _, c := range []struct {
		name string
		swap func(path string) error
		what string
	}{
		{"for a named pipe", func(path string) error { return syscall.Mkfifo(path, 0o600) }, "a named pipe"},
		{"for a link to /dev/zero", func(path string) error { return os.Symlink("/dev/zero", path) }, "a symbolic link"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := snapshotOf2(t)
			spath := filepath.Join(dir, snapshotName)
			testHookOpen = func(path string) {
				if path != spath {
					return
				}
				if err := os.Remove(path); err != nil {
					t.Error(err)
				}
				if err := c.swap(path); err != nil {
					t.Error(err)
				}
			}
			defer func() { testHookOpen = nil }()
			var err error
			within(t, "openFile", func() {
				var f *os.File
				if f, err = openFile(spath, os.O_RDONLY); err == nil {
					f.Close()
				}
			})
			var ne *NotStateFileError
			if !errors.As(err, &ne) || ne.Path != spath || ne.What != c.what {
				t.Fatalf("openFile: %v, want a *NotStateFileError for %s: %s", err, spath, c.what)
			}
			within(t, "OpenReadOnly", func() { _, err = OpenReadOnly(dir) })
			if !errors.As(err, &ne) {
				t.Fatalf("OpenReadOnly: %v, want a *NotStateFileError", err)
			}
		})
	}
}
