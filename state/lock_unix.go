//go:build unix

package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// openNoFollow makes opening a symbolic link fail (ELOOP).
const openNoFollow = syscall.O_NOFOLLOW

// lockInfo is what the holder of the lock writes into the lock file, for the
// error of whoever finds the lock taken. It is not the lock: flock is.
type lockInfo struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
}

// acquireLock takes an exclusive flock on <dir>/lock without waiting and
// writes lockInfo into it. flock belongs to the open file description, so a
// second Open in the same process is refused too, and the kernel releases
// it when the process dies however it dies: a dead holder never blocks.
// The file is never renamed or removed, so every process locks the same
// inode.
func acquireLock(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := openOrCreate(path, os.O_RDWR)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, lockedError(dir, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(lockInfo{PID: os.Getpid(), Host: host, Since: time.Now().UTC().Truncate(time.Second)})
	// Diagnostics only: not synced, and a failure here does not matter.
	if err := f.Truncate(0); err == nil {
		f.WriteAt(append(b, '\n'), 0)
	}
	return f, nil
}

// lockedError reads the holder's details. The holder writes them just after
// taking the lock, so an empty file is given a moment before giving up on
// them.
func lockedError(dir, path string) *LockedError {
	e := &LockedError{Path: dir}
	for i := 0; i < 20; i++ {
		var info lockInfo
		if b, err := readLockInfo(path); err == nil && json.Unmarshal(b, &info) == nil && info.PID != 0 {
			e.PID, e.Host, e.Since = info.PID, info.Host, info.Since
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return e
}

// readLockInfo reads what the holder wrote into the lock file: a line,
// from a regular file.
func readLockInfo(path string) ([]byte, error) {
	f, err := openFile(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 4096))
}

// releaseLock empties the lock file (so a released state leaves no stale
// holder behind) and unlocks it.
func releaseLock(f *os.File) error {
	f.Truncate(0)
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
