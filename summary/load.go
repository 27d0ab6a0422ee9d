package summary

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/nordigen"
)

// MaxResultFile bounds an output file that is read back: the API's upload
// limit is 10 MiB of statements, and a result is a few times its input.
const MaxResultFile = 256 << 20

// A FileError is an output file that cannot be read as a completed result:
// missing, not a regular file, too large, not a result answer, or not
// completed. Err says which; Line and Col, when not 0, say where in the
// file a JSON error is.
type FileError struct {
	Path      string
	Line, Col int
	Err       error
}

func (e *FileError) Error() string {
	at := e.Path
	if e.Line > 0 {
		at = fmt.Sprintf("%s:%d:%d", e.Path, e.Line, e.Col)
	}
	return fmt.Sprintf("output file %s: %v", at, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// Missing reports whether the file does not exist.
func (e *FileError) Missing() bool { return errors.Is(e.Err, fs.ErrNotExist) }

// Load reads an output file and builds its summary, the titles from the
// tree trees finds (nil trees: none, unless opts.Tree is given). The tree
// is looked up by the result's category_tree_version and the country of
// CountryOf.
func Load(ctx context.Context, name string, opts Options, trees *Trees) (*Summary, error) {
	res, err := ReadResult(name)
	if err != nil {
		return nil, err
	}
	if opts.Tree == nil && trees != nil {
		version := ""
		if res.Categorisation != nil {
			version = deref(res.Categorisation.CategoryTreeVersion)
		}
		opts.Tree, opts.TreeNote = trees.Find(ctx, CountryOf(res, opts.Country), version)
	}
	return Build(res, opts)
}

// CountryOf is the country whose category tree categorised res: the
// country the report asked for (given, from its spec), else the one the
// accounts of the categorisation agree on, else the prefix of the tree
// version before its first "_" ("uk" of "uk_202611230000", as every tree
// version seen is named); "" if none says.
func CountryOf(res *api.Result, given string) string {
	if given != "" {
		return strings.ToLower(given)
	}
	if res.Categorisation == nil {
		return ""
	}
	if c := accountsCountry(res.Categorisation); c != "" {
		return strings.ToLower(c)
	}
	if country, _, ok := strings.Cut(deref(res.Categorisation.CategoryTreeVersion), "_"); ok {
		return strings.ToLower(country)
	}
	return ""
}

// ReadResult reads an output file written by reconcile (or the API's
// answer as it came) and decodes it; a result that is not completed is an
// error (wrapping ErrNotCompleted). Every error is a *FileError.
func ReadResult(name string) (*api.Result, error) {
	data, _, err := fsutil.ReadRegular(name, MaxResultFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &FileError{Path: name, Err: err}
	}
	return DecodeResult(name, data)
}

// DecodeResult decodes the bytes of an output file; name is only for
// the errors.
func DecodeResult(name string, data []byte) (*api.Result, error) {
	res, err := nordigen.ParseResult(data)
	if err != nil {
		fe := &FileError{Path: name, Err: fmt.Errorf("not a result of the API: %w", err)}
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			fe.Line, fe.Col = lineCol(data, se.Offset)
		case errors.As(err, &te):
			fe.Line, fe.Col = lineCol(data, te.Offset)
		}
		return nil, fe
	}
	if !res.Done() {
		return nil, &FileError{Path: name, Err: fmt.Errorf("%w (status %q)", ErrNotCompleted, res.Status)}
	}
	return res, nil
}

// lineCol is the 1-based line and column of byte offset off in data.
func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}
