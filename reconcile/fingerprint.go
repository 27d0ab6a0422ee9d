package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ledgerform/ledgerform/state"
)

// fingerprint returns the fingerprint of the file at path (as recorded:
// slash-separated, relative to dir or absolute). When prev describes the
// same path with the same size, modification time and inode, the file is
// not read again and prev's hash is reused: the stat cache that keeps a
// no-op plan as cheap as a directory walk.
func fingerprint(dir, path string, prev *state.File) (state.File, error) {
	name := resolve(dir, path)
	fi, err := os.Stat(name)
	if err != nil {
		return state.File{}, err
	}
	if !fi.Mode().IsRegular() {
		return state.File{}, fmt.Errorf("%s: not a regular file", path)
	}
	f := state.File{Path: path, Size: fi.Size(), MTime: fi.ModTime().UnixNano(), Inode: inode(fi)}
	if prev != nil && prev.Path == f.Path && prev.Size == f.Size && prev.MTime == f.MTime && prev.Inode == f.Inode && prev.SHA256 != "" {
		f.SHA256 = prev.SHA256
		return f, nil
	}
	sum, err := hashFile(name)
	if err != nil {
		return state.File{}, err
	}
	f.SHA256 = sum
	return f, nil
}

func hashFile(name string) (string, error) {
	fh, err := os.Open(name)
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

func hashBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// resolve turns a recorded path into a file name: absolute paths stay,
// relative ones are relative to dir.
func resolve(dir, path string) string {
	p := filepath.FromSlash(path)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
