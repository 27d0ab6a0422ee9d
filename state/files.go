package state

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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

// openFile opens the state file path with flag.
func openFile(path string, flag int) (*os.File, error) {
	return os.OpenFile(path, flag, 0)
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
