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
	name := resolve(dir, path)
	if err := fsutil.WriteFile(name, buf.Bytes()); err != nil {
		return state.File{}, nil, err
	}
	fi, err := os.Stat(name)
	if err != nil {
		return state.File{}, nil, err
	}
	return fileOf(path, fsutil.StatOf(fi), fsutil.Hash(buf.Bytes())), buf.Bytes(), nil
}
