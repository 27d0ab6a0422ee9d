package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A tree describes files to create under a directory: a path ending in
// "/" is a directory, content starting with "->" makes a symbolic link to
// the rest, anything else is the file's content.
type tree map[string]string

func (tr tree) write(t testing.TB, dir string) {
	t.Helper()
	for name, content := range tr {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// loadTree writes tr in a new directory and loads it. The directory comes
// back for building expected paths.
func loadTree(t *testing.T, tr tree) (*Set, string, error) {
	t.Helper()
	dir := t.TempDir()
	tr.write(t, dir)
	set, err := Load(dir)
	return set, dir, err
}

// errorLines returns the lines of err with dir+"/" removed, so that the
// positions read as they would with Load(".").
func errorLines(t *testing.T, err error, dir string) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, not Errors: %v", err, err)
	}
	if len(es) == 0 {
		t.Fatal("empty Errors returned as an error")
	}
	for _, e := range es {
		if e.Pos.File == "" {
			t.Errorf("error without a file: %v", e)
		}
	}
	return strings.Split(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""), "\n")
}

// mustLoad loads tr and fails the test on any error.
func mustLoad(t *testing.T, tr tree) (*Set, string) {
	t.Helper()
	set, dir, err := loadTree(t, tr)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return set, dir
}

func ptr[T any](v T) *T { return &v }
