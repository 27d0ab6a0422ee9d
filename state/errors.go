package state

import (
	"errors"
	"fmt"
	"time"
)

// LockedError is returned by Open when another process (or another Store in
// this process) holds the lock of the state. The holder's details come from
// what it wrote into the lock file; PID is 0 if it had not written them yet.
type LockedError struct {
	PID    int
	Host   string
	Since  time.Time
	Path   string        // the state directory
	Waited time.Duration // how long OpenWait waited for the lock; 0 if it did not
}

func (e *LockedError) Error() string {
	msg := fmt.Sprintf("state %s is locked by another process", e.Path)
	if e.PID != 0 {
		msg = fmt.Sprintf("state %s is locked by pid %d on host %s since %s",
			e.Path, e.PID, e.Host, e.Since.UTC().Format(time.RFC3339))
	}
	if e.Waited > 0 {
		msg += fmt.Sprintf(" (still, after waiting %s)", e.Waited)
	}
	return msg
}

// VersionError is returned when a state file has a format version newer than
// this ledgerform reads: it was written by a newer ledgerform, and reading
// it with this one could lose what the newer one recorded.
type VersionError struct {
	Path    string // the file
	Version int    // the file's format version
	Newest  int    // the newest version of that file this ledgerform reads
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("state file %s has format version %d but this ledgerform understands only up to version %d: "+
		"it was written by a newer ledgerform; upgrade ledgerform to use this state", e.Path, e.Version, e.Newest)
}

// CorruptError is returned when a state file cannot be read back as it was
// written: a line of the snapshot or of the journal whose checksum does not
// match, a snapshot with lines missing or added, a damaged journal line
// followed by good ones, or a journal that does not continue the snapshot.
// Open refuses such a state rather than forget what it recorded; nothing is
// changed on disk.
type CorruptError struct {
	Path string
	Line int // 1-based line of the file
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state file %s is damaged: line %d: %v", e.Path, e.Line, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// NotStateFileError is returned by Open and OpenReadOnly when a path of the
// state holds what no state file can be: something other than a regular
// file (a named pipe, a device, a directory, a symbolic link), or a file
// larger than any state. It is refused without being read, since a named
// pipe would block the read and a device might never end it.
type NotStateFileError struct {
	Path string
	What string // what is there: "a named pipe", "a symbolic link to /dev/zero", …
	Err  error  // fsutil.ErrNotRegular or ErrTooLarge
}

func (e *NotStateFileError) Error() string {
	return fmt.Sprintf("%s is %s, not a state file", e.Path, e.What)
}

func (e *NotStateFileError) Unwrap() error { return e.Err }

// ErrTooLarge is wrapped by the *NotStateFileError of a file larger than
// any snapshot or journal this package writes.
var ErrTooLarge = errors.New("larger than any state file")

// ErrClosed is returned (wrapped) by Put and Delete after Close.
var ErrClosed = errors.New("state is closed")

// ErrReadOnly is returned (wrapped) by Put and Delete on a Store from
// OpenReadOnly.
var ErrReadOnly = errors.New("state is open read-only")
