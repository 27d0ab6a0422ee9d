package reconcile

import (
	"bytes"
	"encoding/json"
	"os"

	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/state"
)

// writeOutput writes an API answer to the output path, crash-safely
// (fsutil.WriteFile: a 0600 temp file beside it, fsync, rename, fsync of
// the directory). The JSON is indented for people to read; indenting
// changes no value. It returns the file's fingerprint and content.
func writeOutput(dir, path string, raw []byte) (state.File, []byte, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	buf.WriteByte('\n')
	f, err := writeBytes(dir, path, buf.Bytes())
	return f, buf.Bytes(), err
}

// writeBytes writes data to the output path as it is, crash-safely, and
// returns the file's fingerprint.
func writeBytes(dir, path string, data []byte) (state.File, error) {
	name := resolve(dir, path)
	if err := fsutil.WriteFile(name, data); err != nil {
		return state.File{}, err
	}
	fi, err := os.Stat(name)
	if err != nil {
		return state.File{}, err
	}
	return fileOf(path, fsutil.StatOf(fi), fsutil.Hash(data)), nil
}
