package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/state"
)

// appliedDir is a working directory with one report applied on the
// embedded engine: its state has a snapshot.
func appliedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"m.yaml": "reports:\n  - {name: a, statements: [a.json], operations: [categorisation], country: uk}\n",
		"a.json": `{"account_list":[{"account_nr":"GB01","holder_name":"A","currency":"GBP","transaction_list":[{"date":"2026-01-05","sum":1000.00,"partner":"ACME LTD","info":"SALARY"}]}]}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if code := exitStatus(run(t.Context(), []string{"apply", "--dir", dir}, &out, &out), &out); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, ".ledgerform", "state.json")); err != nil {
		t.Fatalf("no snapshot after apply: %v", err)
	}
	return dir
}

// planExit runs plan on dir and returns its exit status and stderr. A plan
// that does not return within the guard is a hang, and fails the test.
func planExit(t *testing.T, dir string) (int, string) {
	t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		var stdout, stderr bytes.Buffer
		code := exitStatus(run(ctx, []string{"plan", "--dir", dir}, &stdout, &stderr), &stderr)
		done <- result{code, stderr.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.stderr
	case <-time.After(20 * time.Second):
		t.Fatal("plan did not return: it blocks on the state")
	}
	return 0, ""
}

// A flipped byte inside a value of the snapshot is damage: plan exits 1
// and names it, rather than reading another phase.
func TestPlan_FlippedByteInTheSnapshot(t *testing.T) {
	dir := appliedDir(t)
	path := filepath.Join(dir, ".ledgerform", "state.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(`"completed"`))
	if i < 0 {
		t.Fatalf("no completed phase in the snapshot:\n%s", b)
	}
	b[i+6] ^= 0x01 // "completed" -> "compldted"
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr := planExit(t, dir)
	if code != 1 || !strings.Contains(stderr, "state.json") || !strings.Contains(stderr, "damaged") {
		t.Fatalf("plan: exit %d, stderr:\n%s\nwant exit 1 naming the damage in state.json", code, stderr)
	}
}

// A state path that is not a regular file is refused at once with a
// clear error, instead of blocking (a FIFO) or reading for ever (/dev/zero).
func TestPlan_StateNotARegularFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(path string) error
	}{
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"symlink to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := appliedDir(t)
			path := filepath.Join(dir, ".ledgerform", "state.json")
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := tc.make(path); err != nil {
				t.Skip(err)
			}
			code, stderr := planExit(t, dir)
			if code != 1 || !strings.Contains(stderr, "state.json") {
				t.Fatalf("plan: exit %d, stderr:\n%s\nwant exit 1 naming state.json", code, stderr)
			}
		})
	}
}

// A state that cannot be saved at the end of a run (here its snapshot
// cannot be replaced; on a full disk, likewise) is the command's error,
// with what to do, not silence.
func TestCloseState_failureIsReported(t *testing.T) {
	sd := filepath.Join(t.TempDir(), ".ledgerform")
	st, err := state.Open(sd)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(state.Record{Address: "report.a", Phase: state.Pending}); err != nil {
		t.Fatal(err)
	}
	// A directory where the snapshot goes: the compaction's rename fails.
	if err := os.Mkdir(filepath.Join(sd, "state.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(sd, "state.json", "x"), nil, 0o600)
	var stderr bytes.Buffer
	err = closeState(st, nil, &stderr)
	if code := exitStatus(err, &stderr); code != 1 || !strings.Contains(stderr.String(), "save the state") || !strings.Contains(stderr.String(), "hint:") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 saying the state was not saved, with a hint", code, stderr.String())
	}
}

// A damaged last journal line (a write a crash cut short) is dropped with
// one warning naming the file and the line: plan (which changes nothing)
// and apply (which truncates it away) both say so, and then nothing more
// is said. A damaged line that is not the last is exit 1 naming both.
func TestJournal_DamagedLastLineWarns(t *testing.T) {
	dir := appliedDir(t)
	jpath := filepath.Join(dir, ".ledgerform", "journal")
	if err := os.WriteFile(jpath, []byte("0badcafe {\"v\":1,\"serial\":2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	warning := "ledgerform: warning: state file " + jpath + ": line 1: dropped"
	code, stderr := planExit(t, dir)
	if code != 0 || strings.Count(stderr, warning) != 1 || strings.Count(stderr, "\n") != 1 {
		t.Errorf("plan: exit %d, stderr:\n%s\nwant exit 0 and one warning %q", code, stderr, warning)
	}
	var out, errb bytes.Buffer
	code = exitStatus(run(t.Context(), []string{"apply", "--dir", dir}, &out, &errb), &errb)
	if code != 0 || strings.Count(errb.String(), warning+" and truncated away") != 1 || !strings.Contains(out.String(), "1 up to date") {
		t.Errorf("apply: exit %d, stdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if code, stderr := planExit(t, dir); code != 0 || stderr != "" {
		t.Errorf("plan after apply: exit %d, stderr %q; want no warning", code, stderr)
	}

	if err := os.WriteFile(jpath, []byte("0badcafe {\"v\":1}\nzz"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr = planExit(t, dir)
	if code != 1 || !strings.Contains(stderr, jpath) || !strings.Contains(stderr, "line 1") || strings.Contains(stderr, "warning") {
		t.Errorf("plan with a damaged line before the last: exit %d, stderr:\n%s", code, stderr)
	}
}
