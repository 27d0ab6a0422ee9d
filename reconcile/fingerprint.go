package reconcile

import (
	"os"
	"path/filepath"

	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/state"
)

// fingerprint returns the fingerprint of the file at path (as recorded:
// slash-separated, relative to dir or absolute). When prev describes the
// same path with the same size, modification time and inode, the file is
// not read again and prev's hash is reused: the stat cache that keeps a
// no-op plan as cheap as a directory walk. A file over limit bytes (when
// limit > 0) is refused with a *fsutil.TooLargeError before it is read.
func fingerprint(dir, path string, prev *state.File, limit int64) (state.File, error) {
	name := resolve(dir, path)
	fi, err := os.Stat(name)
	if err != nil {
		return state.File{}, err
	}
	if !fi.Mode().IsRegular() {
		return state.File{}, fsutil.ErrNotRegular
	}
	if limit > 0 && fi.Size() > limit {
		return state.File{}, &fsutil.TooLargeError{Size: fi.Size(), Limit: limit}
	}
	f := fileOf(path, fsutil.StatOf(fi), "")
	if prev != nil && prev.Path == f.Path && prev.Size == f.Size && prev.MTime == f.MTime && prev.Inode == f.Inode && prev.SHA256 != "" {
		f.SHA256 = prev.SHA256
		return f, nil
	}
	if f.SHA256, err = fsutil.HashFile(name); err != nil {
		return state.File{}, err
	}
	return f, nil
}

// fileOf is the recorded fingerprint of path.
func fileOf(path string, st fsutil.Stat, sha256 string) state.File {
	return state.File{Path: path, Size: st.Size, MTime: st.MTime, Inode: st.Inode, SHA256: sha256}
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
