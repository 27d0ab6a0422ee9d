package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/state"
)

// TestLockTimeout: while another holds the state's lock, every command
// that takes it fails at once naming the holder's pid, or with
// --lock-timeout fails the same way once the wait is over; an apply whose
// --lock-timeout outlasts the holder goes on once the holder lets go.
func TestLockTimeout(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ledgerform.yaml"), "reports:\n  - {name: a, statements: [a.json], operations: [categorisation], country: uk}\n")
	writeFile(t, filepath.Join(dir, "a.json"), `{"account_list":[{"account_nr":"GB01","holder_name":"A","currency":"GBP","transaction_list":[
		{"date":"2026-01-05","sum":1900.00,"partner":"ACME LTD","info":"SALARY"}]}]}`)
	holder, err := state.Open(stateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	pid := fmt.Sprintf("pid %d", os.Getpid())
	ledgerform := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := exitStatus(run(context.Background(), append(args, "--dir", dir), &stdout, &stderr), &stderr)
		return code, stderr.String()
	}

	for _, args := range [][]string{
		{"apply"},
		{"watch", "--listen", ""},
		{"state", "rm", "report.a"},
		{"state", "mv", "report.a", "report.b"},
		{"import", "report.a", "some-id", "--endpoint", "http://127.0.0.1:9"},
	} {
		code, stderr := ledgerform(args...)
		if code != 1 || !strings.Contains(stderr, "locked by "+pid) || !strings.Contains(stderr, "hint: another ledgerform ("+pid+") is working on") ||
			!strings.Contains(stderr, "--lock-timeout") {
			t.Errorf("%q while locked: exit %d, stderr:\n%s\nwant exit 1 naming %s, with a hint of --lock-timeout", args, code, stderr, pid)
		}
		code, stderr = ledgerform(append(args, "--lock-timeout", "100ms")...)
		if code != 1 || !strings.Contains(stderr, "locked by "+pid) || !strings.Contains(stderr, "after waiting") {
			t.Errorf("%q --lock-timeout 100ms while locked: exit %d, stderr:\n%s\nwant exit 1 naming %s after the wait", args, code, stderr, pid)
		}
	}

	go func() {
		time.Sleep(200 * time.Millisecond)
		holder.Close()
	}()
	if code, stderr := ledgerform("apply", "--lock-timeout", "1m"); code != 0 {
		t.Fatalf("apply --lock-timeout 1m with the holder letting go: exit %d, stderr:\n%s", code, stderr)
	}
}

// Ctrl-C while apply is still opening a PostgreSQL state says that it was
// interrupted and nothing was done, not "context canceled".
func TestApply_interruptedWhileOpeningThePGState(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "m.yaml"), "reports: []\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	err := run(ctx, []string{"apply", "--dir", dir, "--state", "postgres://lf@127.0.0.1:1/db?sslmode=disable"}, &out, &errb)
	msg := errb.String()
	if err != nil {
		msg += err.Error()
	}
	if err == nil || !strings.Contains(msg, "interrupted") || strings.Contains(msg, "context canceled") {
		t.Errorf("apply interrupted while opening the state: %v\n%s", err, msg)
	}
}
