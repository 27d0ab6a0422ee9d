package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
)

// watchFixture is a working directory of n reports and an engine whose
// processing takes a while.
func watchFixture(t testing.TB, n int, processing time.Duration) (dir string, e *engine.Running, run func(args ...string) (*exec.Cmd, *testutil.SyncBuffer)) {
	t.Helper()
	return watchFixtureWith(t, n, engine.Config{Faults: engine.Faults{ProcessingTime: processing}})
}

// watchFixtureWith is watchFixture with an engine of the given config.
func watchFixtureWith(t testing.TB, n int, ecfg engine.Config) (dir string, e *engine.Running, run func(args ...string) (*exec.Cmd, *testutil.SyncBuffer)) {
	t.Helper()
	bin, err := exec.LookPath("ledgerform")
	if err != nil {
		t.Fatal(err)
	}
	e, err = engine.StartEmbedded(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	dir = t.TempDir()
	var m strings.Builder
	m.WriteString("reports:\n")
	for i := range n {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%d.json", i)), []byte(fmt.Sprintf(
			`{"account_list":[{"account_nr":"GB%02d","transaction_list":[{"date":"2026-01-05","sum":%d.5,"partner":"ACME"}]}]}`, i, 100+i)), 0o600)
		fmt.Fprintf(&m, "  - {name: r%d, statements: [s%d.json], operations: [categorisation], country: uk}\n", i, i)
	}
	os.WriteFile(filepath.Join(dir, "ledgerform.yaml"), []byte(m.String()), 0o600)
	run = func(args ...string) (*exec.Cmd, *testutil.SyncBuffer) {
		cmd := exec.Command(bin, append([]string{"watch", "--dir", dir, "--endpoint", e.URL, "--listen", ""}, args...)...)
		cmd.Env = append(os.Environ(), "NORDIGEN_CLIENT_ID="+e.ClientID, "NORDIGEN_CLIENT_SECRET="+e.ClientSecret)
		var out testutil.SyncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, &out
	}
	return dir, e, run
}

// phases reads the state without locking it (the file store, or the
// PostgreSQL workspace LEDGERFORM_STATE names): address → phase.
func phases(t testing.TB, dir string) map[string]state.Phase {
	t.Helper()
	st, err := openStore(context.Background(), dir, "", pgstore.ReadOnly, 0, 0, io.Discard)
	if err != nil {
		t.Fatalf("the state does not load: %v", err)
	}
	defer st.Close()
	m := map[string]state.Phase{}
	for _, r := range st.Records() {
		m[r.Address.String()] = r.Phase
	}
	return m
}

func waitPhases(t *testing.T, dir string, n int, want state.Phase, out *testutil.SyncBuffer) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ph := phases(t, dir)
		done := 0
		for _, p := range ph {
			if p == want {
				done++
			}
		}
		if done == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %d reports %s: %v\n%s", n, want, ph, out.String())
		}
	}
}

func engineCount(t *testing.T, e *engine.Running, endpoint string) int {
	v, err := testutil.MetricSum(e.URL+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return int(v)
}

// SIGTERM while reports are processing: the daemon exits 0 within its
// grace period; a restart completes them by polling, without uploading or
// requesting again what was recorded.
func TestWatch_SIGTERMThenRestart(t *testing.T) {
	const n = 4
	dir, e, run := watchFixture(t, n, 2*time.Second)
	cmd, out := run("--grace", "100ms")
	waitPhases(t, dir, n, state.Processing, out)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch after SIGTERM: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("no orderly stop in the log:\n%s", out.String())
	}
	for a, p := range phases(t, dir) {
		if p != state.Processing {
			t.Errorf("%s is %s after the stop, want processing (resumable)", a, p)
		}
	}
	uploads, processes := engineCount(t, e, "upload"), engineCount(t, e, "process")
	if uploads != n || processes != n {
		t.Fatalf("before the restart: %d uploads, %d process requests; want %d each", uploads, processes, n)
	}

	cmd, out = run()
	waitPhases(t, dir, n, state.Completed, out)
	if got := engineCount(t, e, "upload"); got != uploads {
		t.Errorf("the restart uploaded %d statements again", got-uploads)
	}
	if got := engineCount(t, e, "process"); got != processes {
		t.Errorf("the restart requested processing %d times again", got-processes)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("watch after SIGINT: %v", err)
	}
}

// A second signal ends the daemon at once, even within a long grace
// period; the state still loads and a restart finishes the work without
// uploading again.
func TestWatch_SecondSignalExitsAtOnce(t *testing.T) {
	const n = 2
	dir, e, run := watchFixture(t, n, 2*time.Second)
	cmd, out := run("--grace", "1h")
	waitPhases(t, dir, n, state.Processing, out)
	cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "stopping"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no stop after SIGTERM:\n%s", out.String())
		}
	}
	// The default handling comes back just after the first signal is
	// taken: signal until the process ends (its grace is an hour, so only
	// a signal can end it).
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	for deadline, waiting := time.Now().Add(10*time.Second), true; waiting; {
		if time.Now().After(deadline) {
			t.Fatalf("a second signal did not end the process:\n%s", out.String())
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-exited:
			waiting = false
		case <-time.After(100 * time.Millisecond):
		}
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("after a second signal: %v, want the process ended by the signal\n%s", err, out.String())
	}
	uploads := engineCount(t, e, "upload")
	cmd, out = run()
	waitPhases(t, dir, n, state.Completed, out)
	if got := engineCount(t, e, "upload"); got != uploads {
		t.Errorf("the restart uploaded %d statements again", got-uploads)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

// With --log-format json every line watch writes is JSON: the embedded
// engine's announcement, the warning of a listener beyond loopback, the
// steps, and the error it ends with. The endpoint in use is logged, and
// no credential.
func TestWatch_JSONLogs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want map[string]string // attributes of the record that names the endpoint
	}{
		{"embedded", []string{"--endpoint", "embedded", "--listen", "0.0.0.0:0"}, map[string]string{"endpoint": "embedded"}},
		{"endpoint", nil, nil}, // want is the engine's URL, known below
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, e, run := watchFixture(t, 2, 0)
			want := tc.want
			if want == nil {
				want = map[string]string{"endpoint": e.URL}
			}
			cmd, out := run(append([]string{"--log-format", "json"}, tc.args...)...)
			waitPhases(t, dir, 2, state.Completed, out)
			cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("watch after SIGTERM: %v\n%s", err, out.String())
			}
			records := jsonLines(t, out.String())
			named := false
			for _, r := range records {
				if r["endpoint"] == nil {
					continue
				}
				named = true
				for k, v := range want {
					if r[k] != v {
						t.Errorf("the endpoint's record has %s=%v, want %s: %v", k, r[k], v, r)
					}
				}
				if tc.name == "embedded" && !strings.HasPrefix(fmt.Sprint(r["url"]), "http://127.0.0.1:") {
					t.Errorf("the embedded engine's record lacks its URL: %v", r)
				}
			}
			if !named {
				t.Errorf("no record names the endpoint:\n%s", out.String())
			}
			if strings.Contains(out.String(), e.ClientSecret) {
				t.Errorf("the log holds the client secret:\n%s", out.String())
			}
			if tc.name == "embedded" && !strings.Contains(out.String(), `"level":"WARN","msg":"listening on 0.0.0.0:0, beyond loopback`) {
				t.Errorf("no JSON warning of the listener beyond loopback:\n%s", out.String())
			}
		})
	}
	t.Run("error", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"watch", "--log-format", "json", "--dir", filepath.Join(t.TempDir(), "nope")}, &stdout, &stderr)
		if code := exitStatus(err, &stderr); code != 1 {
			t.Errorf("watch of a missing directory: exit %d, want 1", code)
		}
		records := jsonLines(t, stderr.String())
		if len(records) != 1 || records[0]["level"] != "ERROR" || !strings.Contains(fmt.Sprint(records[0]["error"]), "is not a directory") || records[0]["hint"] == nil {
			t.Errorf("stderr %q, want one ERROR record with the error and its hint", stderr.String())
		}
	})
}

// An idle watch (no report to work) still says at start which endpoint
// it uses, having checked that it can be used.
func TestWatch_LogsEndpointAtStart(t *testing.T) {
	_, e, run := watchFixture(t, 0, 0)
	cmd, out := run()
	want := `msg="using the API" endpoint=` + e.URL
	// The line comes with the connection, the token request of the check
	// just after it: wait for both.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), want) || engineCount(t, e, "token") == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no line %q, or no check of the API:\n%s", want, out.String())
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch after SIGTERM: %v\n%s", err, out.String())
	}
	if n := engineCount(t, e, "token"); n != 1 {
		t.Errorf("%d token requests, want the one check at start", n)
	}
}

// jsonLines parses every line of out as a JSON object.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Errorf("a line that is not JSON: %q", line)
			continue
		}
		records = append(records, r)
	}
	return records
}
