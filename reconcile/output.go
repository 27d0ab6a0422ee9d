package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/ledgerform/ledgerform/state"
)

// writeOutput writes an API answer to the output path, crash-safely: a
// temporary file beside it (0600: reports are personal data), fsync,
// rename, fsync of the directory. The JSON is indented for people to read;
// indenting changes no value. It returns the file's fingerprint.
func writeOutput(dir, path string, raw []byte) (state.File, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	buf.WriteByte('\n')
	name := resolve(dir, path)
	if err := writeAtomic(name, buf.Bytes()); err != nil {
		return state.File{}, err
	}
	fi, err := os.Stat(name)
	if err != nil {
		return state.File{}, err
	}
	return state.File{Path: path, Size: fi.Size(), MTime: fi.ModTime().UnixNano(), Inode: inode(fi), SHA256: hashBytes(buf.Bytes())}, nil
}

func writeAtomic(name string, data []byte) (err error) {
	d := filepath.Dir(name)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(d, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
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
	return syncDir(d)
}

func syncDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// moveFile renames an output within the working directory, creating the
// destination's directory, and makes the rename durable.
func moveFile(dir, from, to string) error {
	src, dst := resolve(dir, from), resolve(dir, to)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	return syncDir(filepath.Dir(src))
}
