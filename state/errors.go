package state

import (
	"errors"
	"fmt"
	"time"

	"github.com/ledgerform/ledgerform/report"
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

// A Lease is one daemon's claim on one report of a state that several
// daemons share (package state/pgstore): until Expires, only Owner works
// on Address.
type Lease struct {
	Address report.Address `json:"address"`
	Owner   string         `json:"owner"`
	Expires time.Time      `json:"expires"`
}

// HeldError is returned by a claim on a report whose lease another daemon
// holds: it is that daemon's work until the lease is released or expires.
type HeldError struct {
	Lease
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is worked on by %s (its lease runs to %s)", e.Address, e.Owner, e.Expires.UTC().Format(time.RFC3339))
}

// ErrLeaseLost is returned (wrapped) by a change to a report whose lease
// this daemon no longer holds, or holds too briefly to be sure of it: the
// change is not made, and no remote call may follow it. It is also the
// cause of the context of a lease that was lost.
var ErrLeaseLost = errors.New("the lease of this report was lost")

// UnavailableError is a change a store could not record because its
// database cannot be used now (unreachable, refusing the login,
// read-only): nothing was changed, or nothing that cannot be read back,
// and trying again later may succeed. The reconciler treats it as a
// transient failure of the report, not as fatal for the run.
type UnavailableError struct {
	Err error
}

func (e *UnavailableError) Error() string { return e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Retryable reports whether err is a change the store refused for a reason
// that may pass (an *UnavailableError or ErrLeaseLost): the report stops
// before its next remote call, and is tried again later.
func Retryable(err error) bool {
	var ue *UnavailableError
	return errors.Is(err, ErrLeaseLost) || errors.As(err, &ue)
}
