package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "sub", "out.json")
	if err := WriteFile(name, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(name, []byte("two")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	if err != nil || string(b) != "two" {
		t.Fatalf("read %q, %v; want two", b, err)
	}
	fi, _ := os.Stat(name)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(name))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
	// A failed write leaves the old file and no temp file.
	boom := errors.New("boom")
	if err := WriteAtomic(name, func(w io.Writer) error { w.Write([]byte("half")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if b, _ := os.ReadFile(name); string(b) != "two" {
		t.Errorf("after a failed write the file holds %q, want two", b)
	}
	ents, _ := os.ReadDir(filepath.Dir(name))
	if len(ents) != 1 {
		t.Errorf("%d entries after a failed write, want the file alone", len(ents))
	}
}

func TestSweepTemps(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "state.json")
	stale := filepath.Join(dir, TempPrefix(name)+"123")
	other := filepath.Join(dir, TempPrefix("other.json")+"123")
	for _, p := range []string{name, stale, other} {
		os.WriteFile(p, nil, 0o600)
	}
	if err := SweepTemps(dir, name); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{name: true, stale: false, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.json")
	os.WriteFile(name, []byte("data"), 0o600)
	b, st, err := ReadRegular(name, 4)
	if err != nil || string(b) != "data" || st.Size != 4 || st.MTime == 0 {
		t.Fatalf("ReadRegular = %q, %+v, %v", b, st, err)
	}
	if h, _ := HashFile(name); h != Hash(b) {
		t.Errorf("HashFile %s, Hash %s", h, Hash(b))
	}
	// A FIFO would block a plain read; it is refused at once.
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	var tl *TooLargeError
	if _, _, err := ReadRegular(name, 3); !errors.As(err, &tl) || tl.Size != 4 || tl.Limit != 3 {
		t.Errorf("ReadRegular over the limit = %v, want a TooLargeError", err)
	}
	if _, _, err := ReadRegular("/dev/zero", 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadRegular(/dev/zero) = %v, want ErrNotRegular", err)
	}
	if _, _, err := ReadRegular(fifo, 10); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadRegular(fifo) = %v, want ErrNotRegular", err)
	}
	if _, err := HashFile(fifo); !errors.Is(err, ErrNotRegular) {
		t.Errorf("HashFile(fifo) = %v, want ErrNotRegular", err)
	}
	if _, _, err := ReadRegular(dir, 10); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadRegular(dir) = %v, want ErrNotRegular", err)
	}
}

func TestRename(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "a"), filepath.Join(dir, "x", "y", "b")
	os.WriteFile(from, []byte("a"), 0o600)
	if err := Rename(from, to); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(to); err != nil || string(b) != "a" {
		t.Fatalf("after Rename: %q, %v", b, err)
	}
	if _, err := os.Stat(from); !os.IsNotExist(err) {
		t.Errorf("the source is still there: %v", err)
	}
}
