// Package fsutil holds the file-system plumbing that more than one layer
// needs to get exactly right: crash-safe replacement of a file, durable
// directory entries, and the stat-plus-hash fingerprint of a file.
//
// Every file it creates is mode 0600 whatever the umask, and every
// directory 0700: what ledgerform writes is personal financial data.
package fsutil

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// TempPrefix is how the name of a temp file of WriteAtomic starts, for
// the file it will replace: ".NAME.tmp-". A sweep of stale temp files
// (SweepTemps) looks for it.
func TempPrefix(name string) string { return "." + filepath.Base(name) + ".tmp-" }

// MaxNameLen is the longest file name, in bytes, that WriteAtomic can
// write: the temp file's name (TempPrefix, then os.CreateTemp's random
// suffix of at most 10 digits) must fit the 255 bytes that Linux, macOS
// and Windows file systems allow a name.
const MaxNameLen = 255 - len(".") - len(".tmp-") - 10

// CheckName says why a file called base (a base name) could never be
// written by WriteAtomic, or returns nil.
func CheckName(base string) error {
	switch {
	case strings.ContainsRune(base, 0):
		return errors.New("the name contains a NUL byte")
	case len(base) > MaxNameLen:
		return fmt.Errorf("the name is %d bytes; with the temporary name written first it must be at most %d", len(base), MaxNameLen)
	}
	return nil
}

// WriteAtomic replaces the file name with what write writes, so that a
// crash at any instant leaves either the old file or the new one, never a
// mix: a temp file in the same directory (created 0600), written through a
// buffer, fsynced, closed, renamed over name, then the directory fsynced so
// that the rename survives a power cut. The directory is created (0700) if
// it is missing. On error the old file is in place and the temp file is
// gone, except when the rename happened and only the directory's fsync
// failed: then the new file may or may not survive a crash, and the error
// says so by wrapping ErrRenameNotDurable.
func WriteAtomic(name string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, TempPrefix(name)+"*")
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if err != nil && !renamed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	renamed = true
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("%w: %w", ErrRenameNotDurable, err)
	}
	return nil
}

// WriteFile is WriteAtomic of a byte slice.
func WriteFile(name string, data []byte) error {
	return WriteAtomic(name, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// ErrRenameNotDurable is wrapped by the error of WriteAtomic when the new
// file is in place but the directory could not be fsynced.
var ErrRenameNotDurable = errors.New("renamed into place, but the directory could not be synced")

// SyncDir fsyncs a directory, making the creation, rename or removal of its
// entries durable. A file system that cannot fsync a directory at all
// (EINVAL) offers no stronger promise, and is not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

// Rename renames from to to, creating to's directory (0700), and makes the
// rename durable in both directories.
func Rename(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	if err := os.Rename(from, to); err != nil {
		return err
	}
	if err := SyncDir(filepath.Dir(to)); err != nil {
		return err
	}
	if filepath.Dir(from) == filepath.Dir(to) {
		return nil
	}
	return SyncDir(filepath.Dir(from))
}

// SweepTemps removes the temp files that WriteAtomic left in dir for a file
// named name when a crash kept them from being renamed into place. Only the
// owner of name may call it: a write in progress looks just the same.
func SweepTemps(dir, name string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	prefix := TempPrefix(name)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// A Stat is what a fingerprint compares to decide whether a file must be
// read again: its size, modification time and inode. A file whose Stat is
// unchanged is taken to hold the same bytes (the stat cache of git status).
type Stat struct {
	Size  int64
	MTime int64  // nanoseconds since the Unix epoch
	Inode uint64 // 0 where the platform has none
}

// StatOf returns the Stat of fi.
func StatOf(fi fs.FileInfo) Stat {
	s := Stat{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.Inode = uint64(st.Ino)
	}
	return s
}

// HashFile returns the hex SHA-256 of the regular file name's contents,
// read as a stream; anything but a regular file is refused unread.
func HashFile(name string) (string, error) {
	fh, _, err := openRegular(name)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Hash returns the hex SHA-256 of b.
func Hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// openRegular opens name for reading without blocking on a FIFO, and
// refuses it unless the open handle is a regular file: what is read is
// what was checked.
func openRegular(name string) (*os.File, fs.FileInfo, error) {
	fh, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		fh.Close()
		return nil, nil, ErrNotRegular
	}
	return fh, fi, nil
}

// ReadRegular reads the regular file name through one open handle and
// returns its bytes with the Stat taken from that handle before the read.
// If the file changes while it is read, the Stat is older than the bytes,
// so a later comparison reads the file again rather than trusting a stat
// that goes with other bytes. Anything but a regular file is refused
// without reading it (a FIFO would block, a device never end), and so is
// a file over limit bytes (a *TooLargeError): by its size before the
// read, and by reading at most limit+1 bytes should it grow meanwhile.
func ReadRegular(name string, limit int64) ([]byte, Stat, error) {
	fh, fi, err := openRegular(name)
	if err != nil {
		return nil, Stat{}, err
	}
	defer fh.Close()
	if fi.Size() > limit {
		return nil, Stat{}, &TooLargeError{Size: fi.Size(), Limit: limit}
	}
	data, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, Stat{}, err
	}
	if int64(len(data)) > limit {
		return nil, Stat{}, &TooLargeError{Size: -1, Limit: limit}
	}
	return data, StatOf(fi), nil
}

// A TooLargeError is a file over the size its reader accepts. Size is -1
// when the file grew past the limit while it was read.
type TooLargeError struct{ Size, Limit int64 }

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("the file grew over the limit of %d bytes while it was read", e.Limit)
	}
	return fmt.Sprintf("the file is %d bytes, over the limit of %d", e.Size, e.Limit)
}

// ErrNotRegular is returned for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")
