//go:build unix

package state

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The helper process: TestMain runs it in place of the tests when the
// environment asks, so that the tests can lock and kill a real process.
const (
	helperEnv = "LEDGERFORM_STATE_HELPER" // lock, put or compact
	helperDir = "LEDGERFORM_STATE_DIR"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "lock":
		// Hold the lock until killed.
		if _, err := Open(os.Getenv(helperDir)); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("locked")
		select {}
	case "put":
		// Put records for ever, saying which were acknowledged.
		s, err := Open(os.Getenv(helperDir))
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		for i := 0; ; i++ {
			if err := s.Put(record(i)); err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			fmt.Println(i)
		}
	case "compact":
		// Put from several goroutines for ever, compacting all the time,
		// saying which Puts were acknowledged: "address attempts".
		compactMin = 10
		s, err := Open(os.Getenv(helperDir))
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		for w := range compactWriters {
			go func() {
				for i := 1; ; i++ {
					r := record(w*compactAddrs + i%compactAddrs)
					r.Attempts = i
					if err := s.Put(r); err != nil {
						fmt.Println(err)
						os.Exit(1)
					}
					fmt.Println(w*compactAddrs+i%compactAddrs, i)
				}
			}()
		}
		select {}
	}
}

// The writers and their addresses of the helper process "compact".
const compactWriters, compactAddrs = 3, 4

// helper starts the test binary as a helper process and returns it with
// its output.
func helper(t *testing.T, mode, dir string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDir+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewScanner(out)
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

func TestOpen_lockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd, out := helper(t, "lock", dir)
	if !out.Scan() || out.Text() != "locked" {
		t.Fatalf("helper: %q %v", out.Text(), out.Err())
	}

	start := time.Now()
	_, err := Open(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Fatalf("Open: %v, want a *LockedError naming pid %d", err, cmd.Process.Pid)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Open took %v to fail, want at once", d)
	}
	t.Log(err)

	// kill -9 the holder: its lock dies with it.
	kill(t, cmd)
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after the holder died: %v", err)
	}
	s.Close()
}

// TestOpen_afterKill kills a process in the middle of its Puts: every Put
// it saw acknowledged is in the state, which opens cleanly.
func TestOpen_afterKill(t *testing.T) {
	for round := range 5 {
		dir := t.TempDir()
		cmd, out := helper(t, "put", dir)
		acked := -1
		for out.Scan() {
			n, err := strconv.Atoi(out.Text())
			if err != nil {
				t.Fatalf("helper: %s", out.Text())
			}
			acked = n
			if acked == 50+round*37 {
				break
			}
		}
		kill(t, cmd)
		for out.Scan() { // acknowledged before the kill landed
			if n, err := strconv.Atoi(out.Text()); err == nil {
				acked = n
			}
		}
		s, err := Open(dir)
		if err != nil {
			t.Fatalf("Open after kill -9: %v", err)
		}
		n := len(s.Records())
		if n < acked+1 {
			t.Errorf("%d records after kill -9, want at least the %d acknowledged", n, acked+1)
		}
		for i := range n {
			if _, ok := s.Get(record(i).Address); !ok {
				t.Errorf("record %d of %d missing", i, n)
			}
		}
		s.Close()
	}
}

// TestOpen_afterKillDuringCompactions kills a process whose goroutines put
// while it compacts every few dozen changes, so that the kill lands in a
// compaction as often as not: every acknowledged Put is in the state, which
// opens cleanly.
func TestOpen_afterKillDuringCompactions(t *testing.T) {
	for round := range 5 {
		dir := t.TempDir()
		cmd, out := helper(t, "compact", dir)
		acked := map[int]int{} // address → the last acknowledged attempts
		parse := func(line string) {
			var k, i int
			if _, err := fmt.Sscan(line, &k, &i); err != nil {
				t.Fatalf("helper: %s", line)
			}
			acked[k] = max(acked[k], i)
		}
		for n := 0; n < 300+round*71 && out.Scan(); n++ {
			parse(out.Text())
		}
		kill(t, cmd)
		for out.Scan() { // acknowledged before the kill landed
			parse(out.Text())
		}
		s, err := Open(dir)
		if err != nil {
			t.Fatalf("Open after kill -9: %v", err)
		}
		if temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(temps) > 0 {
			t.Errorf("Open left the temp files %q", temps)
		}
		for k, i := range acked {
			r, ok := s.Get(record(k).Address)
			if !ok || r.Attempts < i {
				t.Errorf("record %d: attempts %d (found %v), want at least %d, acknowledged", k, r.Attempts, ok, i)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpen_fileModes(t *testing.T) {
	for _, umask := range []int{0, 0o022, 0o277} {
		t.Run(fmt.Sprintf("umask %03o", umask), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			dir := filepath.Join(t.TempDir(), ".ledgerform")
			s := open(t, dir)
			put(t, s, record(1))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			want := map[string]fs.FileMode{dir: fs.ModeDir | 0o700}
			for _, name := range []string{snapshotName, journalName, lockName} {
				want[filepath.Join(dir, name)] = 0o600
			}
			for path, mode := range want {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode() != mode {
					t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
				}
			}
		})
	}
}

// TestStore_writeError: after a failed append (here the disk is full) the
// store takes no more changes, and reopening it finds every acknowledged
// one.
func TestStore_writeError(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	dir, want := crashed(t, 2)
	s := open(t, dir)
	s.mu.Lock()
	journal := s.journal
	s.journal = full
	s.mu.Unlock()
	defer journal.Close()

	err = s.Put(record(2))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put on a full disk: %v, want ENOSPC", err)
	}
	t.Log(err)
	if err2 := s.Delete(record(0).Address); err2 == nil || err2.Error() != "delete "+string(record(0).Address)+": "+errors.Unwrap(err).Error() {
		t.Errorf("Delete after a failed Put: %v, want the same error", err2)
	}
	if _, ok := s.Get(record(2).Address); ok {
		t.Errorf("the failed Put is visible")
	}
	crash(s)
	checkRecords(t, open(t, dir), want)
}

// TestStore_writeErrorReportedByClose: whoever closes a store whose write
// failed hears of it, so that a run does not end in success.
func TestStore_writeErrorReportedByClose(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	dir, _ := crashed(t, 1)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	journal := s.journal
	s.journal = full
	s.mu.Unlock()
	if err := s.Put(record(1)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put on a full disk: %v, want ENOSPC", err)
	}
	s.mu.Lock()
	s.journal = journal // Close closes this one
	s.mu.Unlock()
	full.Close()
	if err := s.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close after a failed write = %v, want the write's error", err)
	}
}

// TestStore_journalCap: when compactions keep failing, the journal is not
// let grow past what Open accepts; the change is refused, saying why.
func TestStore_journalCap(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	put(t, s, record(0))
	s.mu.Lock()
	s.compactErr = errors.New("no space for the snapshot")
	size := s.jsize
	s.mu.Unlock()
	old := maxFileSize
	maxFileSize = size + 10 // room for no further line
	defer func() { maxFileSize = old }()
	err := s.Put(record(1))
	if err == nil || !strings.Contains(err.Error(), "no space for the snapshot") {
		t.Fatalf("Put past the cap = %v, want a refusal naming the compaction's failure", err)
	}
	if _, ok := s.Get(record(1).Address); ok {
		t.Error("the refused Put is visible")
	}
}
