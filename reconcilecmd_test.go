package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/state"
)

// reconcileCmd runs ledgerform reconcile as a process; it returns the
// exit code and the output. The timeout only guards a hang.
func reconcileCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	bin, err := exec.LookPath("ledgerform")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"reconcile", "--timeout", "1m"}, args...)...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// With a resync an hour away, an output deleted (which the watcher does
// not watch) would stay missing for an hour: ledgerform reconcile restores
// it at once, exits 0 and says so. A report the API refused is blocked:
// reconcile exits 3 with the API's error. An unknown address is refused
// with a suggestion. With the daemon stopped, the socket is gone and
// reconcile says no daemon runs.
func TestReconcile_AgainstARunningDaemon(t *testing.T) {
	dir, e, run := watchFixture(t, 1, 0)
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"not": "a statement"}`), 0o600)
	m, _ := os.ReadFile(filepath.Join(dir, "ledgerform.yaml"))
	m = append(m, "  - {name: bad, statements: [bad.json], operations: [categorisation], country: uk}\n"...)
	os.WriteFile(filepath.Join(dir, "ledgerform.yaml"), m, 0o600)
	cmd, out := run("--resync", "1h")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ph := phases(t, dir)
		if ph["report.r0"] == state.Completed && ph["report.bad"] == state.Failed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for the first reconcile: %v\n%s", ph, out.String())
		}
	}
	sock := filepath.Join(dir, ".ledgerform", "control.sock")
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket %s: %v, %v; want a socket, 0600", sock, fi, err)
	}

	output := filepath.Join(dir, "out", "r0.json")
	if err := os.Remove(output); err != nil {
		t.Fatal(err)
	}
	uploads := engineCount(t, e, "upload")
	code, got := reconcileCmd(t, "--dir", dir, "report.r0")
	if code != 0 || !strings.Contains(got, "report.r0: restored") {
		t.Errorf("reconcile report.r0: exit %d, %q; want 0 and restored\n%s", code, got, out.String())
	}
	if _, err := os.Stat(output); err != nil {
		t.Errorf("after reconcile: %v", err)
	}
	if n := engineCount(t, e, "upload") - uploads; n != 0 {
		t.Errorf("the restore uploaded %d statements", n)
	}

	code, got = reconcileCmd(t, "--dir", dir, "report.bad")
	if code != 3 || !strings.Contains(got, "report.bad: blocked: ") || !strings.Contains(got, "NO_SUITABLE_PARSERS") {
		t.Errorf("reconcile report.bad: exit %d, %q; want 3, blocked with the API's error", code, got)
	}

	code, got = reconcileCmd(t, "--dir", dir, "report.r1", "report.r0")
	if code != 1 || !strings.Contains(got, "report.r1: no such report") || !strings.Contains(got, "did you mean report.r0?") {
		t.Errorf("reconcile of an unknown address: exit %d, %q; want 1 with a suggestion", code, got)
	}

	if code, got := reconcileCmd(t, "--dir", dir, "--all"); code != 0 || !strings.Contains(got, "Nothing to reconcile") {
		t.Errorf("reconcile --all with nothing due: exit %d, %q; want 0, nothing", code, got)
	}
	if code, got := reconcileCmd(t, "--dir", dir, "--no-wait", "report.r0"); code != 0 || !strings.Contains(got, "Accepted: report.r0.") {
		t.Errorf("reconcile --no-wait: exit %d, %q; want 0, accepted", code, got)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch after SIGTERM: %v\n%s", err, out.String())
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket outlived the daemon: %v", err)
	}
	code, got = reconcileCmd(t, "--dir", dir, "report.r0")
	if code != 1 || !strings.Contains(got, "no daemon is running for "+dir) || !strings.Contains(got, "hint: ") {
		t.Errorf("reconcile with no daemon: exit %d, %q; want 1, no daemon, a hint", code, got)
	}
}
