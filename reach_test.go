package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// An unreachable settings.endpoint is refused at the start of apply like
// an unreachable --endpoint, and the hint names the setting.
func TestApply_UnreachableSettingsEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	endpoint := "http://" + l.Addr().String()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.json"), []byte(`{"account_list":[{"account_nr":"GB01","transaction_list":[{"date":"2026-01-05","sum":1.5,"partner":"ACME"}]}]}`), 0o600)
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("settings:\n  endpoint: "+endpoint+"\nreports:\n  - {name: a, statements: [s.json], operations: [categorisation], country: uk}\n"), 0o600)
	t.Setenv("NORDIGEN_CLIENT_ID", "id")
	t.Setenv("NORDIGEN_CLIENT_SECRET", "secret")

	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := exitStatus(run(context.Background(), []string{"apply", "--dir", dir}, &stdout, &stderr), &stderr)
	t.Logf("apply against %s: exit %d after %s", endpoint, code, time.Since(start).Round(time.Millisecond))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ledgerform: error: cannot reach the API at "+endpoint+": ") ||
		!strings.Contains(lines[0], "connection refused") || lines[1] != "ledgerform: hint: check settings.endpoint, or that the service is up; no report was started" {
		t.Errorf("stderr, want one error naming the endpoint and the cause, and a hint naming settings.endpoint:\n%s", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout, want nothing (no report started):\n%s", stdout.String())
	}
}

// listing is every path under dir, for "left as it was found".
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimPrefix(p, dir))
		return nil
	})
	return out
}

// A first apply (no .ledgerform/ yet) that fails before any remote work,
// or has nothing to do, leaves the directory as it found it; plan never
// creates the state; a first apply that works creates it.
func TestApply_FirstRunLeavesNoState(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	down := "http://" + l.Addr().String()
	t.Setenv("NORDIGEN_CLIENT_ID", "id")
	t.Setenv("NORDIGEN_CLIENT_SECRET", "secret")

	// Each case in a directory of its own, without .ledgerform/.
	one := "reports:\n  - {name: a, statements: [s.json], operations: [categorisation], country: uk}\n"
	fresh := func(manifest string) string {
		d := t.TempDir()
		writeFile(t, filepath.Join(d, "s.json"), goodStatement)
		writeFile(t, filepath.Join(d, "m.yaml"), manifest)
		return d
	}
	for _, tc := range []struct {
		name     string
		manifest string
		args     []string
		code     int
		out      string // in stdout or stderr
	}{
		{"endpoint down", one, []string{"apply", "--endpoint", down}, 1, "cannot reach the API at " + down},
		{"endpoint down, --json", one, []string{"apply", "--endpoint", down, "--json"}, 1, "no report was started"},
		{"a --target that selects nothing", one, []string{"apply", "--target", "report.b"}, 1, "report.b"},
		{"plan", one, []string{"plan", "--endpoint", down}, 0, "1 to create"},
		{"nothing to do", "reports: []\n", []string{"apply"}, 0, "Apply complete: 0 failed."},
		{"nothing to do, --json", "reports: []\n", []string{"apply", "--json"}, 0, `"failed":0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fresh(tc.manifest)
			before := listing(t, d)
			var stdout, stderr bytes.Buffer
			code := exitStatus(run(context.Background(), append(tc.args, "--dir", d), &stdout, &stderr), &stderr)
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
				t.Errorf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tc.code, tc.out, stdout.String(), stderr.String())
			}
			if after := listing(t, d); !slices.Equal(before, after) {
				t.Errorf("the directory changed: %v, then %v", before, after)
			}
		})
	}

	dir := fresh(one)
	// With the API up, the first apply creates the state and records.
	var stdout, stderr bytes.Buffer
	if code := exitStatus(run(context.Background(), []string{"apply", "--dir", dir}, &stdout, &stderr), &stderr); code != 0 {
		t.Fatalf("apply on the embedded engine: exit %d\n%s", code, stderr.String())
	}
	if fi, err := os.Stat(filepath.Join(dir, ".ledgerform", "state.json")); err != nil || fi.Size() == 0 {
		t.Errorf("after a first apply that worked: %v, %v; want a state", fi, err)
	}
}
