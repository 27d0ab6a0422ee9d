package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
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
