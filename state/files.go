package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ledgerform/ledgerform/internal/fsutil"
)

// The files of a state directory.
const (
	snapshotName = "state.json"
	journalName  = "journal"
	lockName     = "lock"

	// legacyTempPrefix starts the names of the snapshot temp files of
	// ledgerform before it wrote through fsutil.WriteAtomic; a crash may
	// have left some.
	legacyTempPrefix = snapshotName + ".tmp-"
)

// maxFileSize is the size of snapshot or journal above which it is refused
// unread: 1 GiB is a snapshot of more than a million records, or a journal
// that compaction (at twice the records) should have emptied long before.
// Whatever sits there is not a state this package wrote, and reading it
// would take the memory of the machine. A variable for the tests.
var maxFileSize int64 = 1 << 30

// openFile opens the state file path with flag, refusing anything that is
// not a regular file no larger than maxFileSize with a *NotStateFileError.
// The Lstat before the open refuses a symbolic link or a named pipe before
// anything opens it; the open itself is O_NONBLOCK and O_NOFOLLOW, and the
// handle is checked again, so that a file swapped between the Lstat and
// the open cannot block it either (opening a named pipe waits for a writer
// unless O_NONBLOCK). A missing file is an error wrapping fs.ErrNotExist.
func openFile(path string, flag int) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if err := checkFile(path, fi); err != nil {
		return nil, err
	}
	if testHookOpen != nil {
		testHookOpen(path)
	}
	f, err := os.OpenFile(path, flag|syscall.O_NONBLOCK|openNoFollow, 0)
	if errors.Is(err, syscall.ELOOP) { // replaced by a symbolic link since the Lstat
		err = &NotStateFileError{Path: path, What: "a symbolic link", Err: fsutil.ErrNotRegular}
	}
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err == nil {
		err = checkFile(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// testHookOpen, if set, is called by openFile between its Lstat and its
// open, for the tests to swap the file.
var testHookOpen func(path string)

// checkFile returns a *NotStateFileError unless fi is a regular file no
// larger than maxFileSize.
func checkFile(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		if fi.Size() > maxFileSize {
			return &NotStateFileError{Path: path, Err: ErrTooLarge,
				What: fmt.Sprintf("%d bytes, larger than any state file (at most %d)", fi.Size(), maxFileSize)}
		}
		return nil
	}
	var what string
	switch {
	case m&fs.ModeSymlink != 0:
		what = "a symbolic link"
		if to, err := os.Readlink(path); err == nil {
			what += " to " + to
		}
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	default:
		what = "not a regular file (mode " + m.String() + ")"
	}
	return &NotStateFileError{Path: path, What: what, Err: fsutil.ErrNotRegular}
}

// createFile creates path, mode 0600 whatever the umask, and makes its
// directory entry durable. O_EXCL refuses whatever is at path already, a
// symbolic link included.
func createFile(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	if err := fsutil.SyncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openOrCreate opens the state file path with flag (which includes
// O_RDWR), creating it mode 0600 if it does not exist.
func openOrCreate(path string, flag int) (*os.File, error) {
	f, err := openFile(path, flag)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = createFile(path, flag)
		if errors.Is(err, fs.ErrExist) { // created meanwhile by another process
			f, err = openFile(path, flag)
		}
	}
	return f, err
}

// sweepTemps removes the temp files that a crash kept from being renamed
// into place: of the snapshot and the journal (fsutil.WriteAtomic's), and
// of the snapshot as older versions named them. Only the lock holder may
// call it: the temp file of a compaction in progress looks just the same.
func sweepTemps(dir string) error {
	for _, name := range []string{snapshotName, journalName} {
		if err := fsutil.SweepTemps(dir, name); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), legacyTempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// openExisting opens the state file at path for reading. A missing file
// is (nil, nil): an empty state, or no journal yet. Any other failure is
// (nil, error).
func openExisting(path string) (*os.File, error) {
	f, err := openFile(path, os.O_RDONLY)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read state: %w", err)
	}
	return f, nil
}
