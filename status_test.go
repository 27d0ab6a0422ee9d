package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/daemon"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/state"
)

// status reads a running watch: --json is its /status document with the
// conditions, the text a table of every report; why adds the daemon's
// view of the report.
func TestStatus_RunningDaemon(t *testing.T) {
	e, err := engine.StartEmbedded(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Setenv("NORDIGEN_CLIENT_ID", e.ClientID)
	t.Setenv("NORDIGEN_CLIENT_SECRET", e.ClientSecret)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "s"), 0o700)
	writeFile(t, filepath.Join(dir, "s", "good.json"), goodStatement)
	writeFile(t, filepath.Join(dir, "s", "bad.json"), `{"not": "a statement"}`)
	writeFile(t, filepath.Join(dir, "ledgerform.yaml"), `reports:
  - {name: good, statements: [s/good.json], operations: [categorisation], country: uk}
  - {name: bad, statements: [s/bad.json], operations: [categorisation], country: uk}
`)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testutil.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"watch", "--dir", dir, "--endpoint", e.URL, "--listen", "127.0.0.1:0"}, &bytes.Buffer{}, logs)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v\n%s", err, logs)
		}
	}()
	addr := waitFor(t, logs, regexp.MustCompile(`serving /healthz.* addr=(\S+)`))[1]

	var s daemon.Status
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"status", "--json", "--addr", addr}, &out, &errb); err != nil {
			t.Fatalf("status --json: %v\n%s", err, errb.String())
		}
		if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			t.Fatalf("status --json is not /status: %v\n%s", err, out.String())
		}
		if s.Ready && s.Queue.InFlight == 0 && s.Queue.Ready == 0 && len(s.Reports) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled:\n%s\n%s", out.String(), logs)
		}
	}
	ready := map[string]string{}
	for _, r := range s.Reports {
		c, _ := daemon.FindCondition(r.Conditions, daemon.ConditionReady)
		ready[r.Address] = c.Status + " " + c.Reason
	}
	if ready["report.good"] != "True Completed" || ready["report.bad"] != "False NO_SUITABLE_PARSERS" {
		t.Errorf("Ready conditions = %q", ready)
	}
	if c, ok := daemon.FindCondition(s.Conditions, daemon.ConditionManifestsValid); !ok || c.Status != "True" {
		t.Errorf("daemon conditions = %+v, want ManifestsValid True", s.Conditions)
	}

	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"status", "--addr", addr}, &out, &errb); err != nil {
		t.Fatalf("status: %v\n%s", err, errb.String())
	}
	lines := strings.Split(out.String(), "\n")
	if !regexp.MustCompile(`^ADDRESS +READY +REASON +MESSAGE +NEXT RETRY$`).MatchString(lines[0]) {
		t.Errorf("status: header %q\n%s", lines[0], out.String())
	}
	if !regexp.MustCompile(`(?m)^report\.bad +False +NO_SUITABLE_PARSERS +nordigen: upload: 400 .*… +-$`).MatchString(out.String()) ||
		!regexp.MustCompile(`(?m)^report\.good +True +Completed +- +-$`).MatchString(out.String()) {
		t.Errorf("status:\n%s", out.String())
	}

	out.Reset()
	if err := run(context.Background(), []string{"why", "report.bad", "--dir", dir, "--addr", addr}, &out, &errb); err != nil {
		t.Fatalf("why: %v\n%s", err, errb.String())
	}
	if want := "  daemon at " + addr + ": not queued\n    Ready: False (NO_SUITABLE_PARSERS): "; !strings.Contains(out.String(), want) ||
		!strings.Contains(out.String(), "    Stalled: True (NO_SUITABLE_PARSERS)") {
		t.Errorf("why with a daemon:\n%s\nwant it to contain %q and the Stalled condition", out.String(), want)
	}
}

// With no daemon at --addr, status is exit 1 with a hint.
func TestStatus_NoDaemon(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"status", "--addr", "127.0.0.1:9"}, &out, &errb)
	if code := exitStatus(err, &errb); code != 1 || !strings.Contains(errb.String(), "no daemon answers at http://127.0.0.1:9/status") ||
		!strings.Contains(errb.String(), "ledgerform: hint: start ledgerform watch") {
		t.Errorf("status without a daemon: exit %d\n%s", code, errb.String())
	}
}

// With a shared state, the table names each report's lease owner; with no
// lease in /status it is the table it always was.
func TestStatus_LeaseColumn(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ready := []daemon.Condition{{Type: daemon.ConditionReady, Status: "True", Reason: "Completed"}}
	s := &daemon.Status{Reports: []daemon.ReportStatus{
		{Address: "report.a", Conditions: ready},
		{Address: "report.b", Conditions: ready},
	}}
	var plain bytes.Buffer
	if err := writeStatusText(&plain, s, now); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "LEASE") || !regexp.MustCompile(`(?m)^report\.a +True +Completed +- +-\n`).MatchString(plain.String()) {
		t.Errorf("without leases:\n%s", plain.String())
	}

	s.Reports[1].Lease = &state.Lease{Address: "report.b", Owner: "host1:4242:ab12", Expires: now.Add(14 * time.Second)}
	var out bytes.Buffer
	if err := writeStatusText(&out, s, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if !regexp.MustCompile(`^ADDRESS .* NEXT RETRY +LEASE$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^report\.a +True +Completed +- +- +-$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^report\.b +True +Completed +- +- +host1:4242:ab12 \(14s left\)$`).MatchString(lines[2]) {
		t.Errorf("with a lease:\n%s", out.String())
	}
}
