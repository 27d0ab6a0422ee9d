package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// startWithControl is start with the control socket of dir.
func startWithControl(t *testing.T, dir string, cfg Config, ecfg engine.Config) *harness {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, spec.StateDir), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := ListenControl(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Control = ln
	return start(t, dir, cfg, ecfg)
}

// control is the answer to one POST /reconcile.
type controlAnswer struct {
	code     int
	accepted []string
	outcomes []ReconcileOutcome
	err      ControlError
}

// reconcileNow asks the daemon of dir over its control socket.
func reconcileNow(t *testing.T, dir string, req ReconcileRequest) controlAnswer {
	t.Helper()
	cl := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", ControlPath(dir))
		}}}
	body, _ := json.Marshal(req)
	resp, err := cl.Post("http://ledgerform/reconcile", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := controlAnswer{code: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		json.NewDecoder(resp.Body).Decode(&a.err)
		return a
	}
	sc := bufio.NewScanner(resp.Body)
	for first := true; sc.Scan(); first = false {
		if first {
			var acc ReconcileAccepted
			if err := json.Unmarshal(sc.Bytes(), &acc); err != nil {
				t.Fatalf("first line %q: %v", sc.Text(), err)
			}
			a.accepted = acc.Accepted
			continue
		}
		var o ReconcileOutcome
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		a.outcomes = append(a.outcomes, o)
	}
	return a
}

// A reconcile now of a report being worked on waits for that work, then
// reconciles it again (one worker per report), and answers the outcome of
// the second: up to date.
func TestControl_ReconcileNowOfAReportInFlight(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation")))
	h := startWithControl(t, dir, Config{Resync: time.Hour}, engine.Config{Faults: engine.Faults{ProcessingTime: time.Second}})
	h.eventually("report.a processing", func() bool { return h.phase("report.a") == state.Processing })

	a := reconcileNow(t, dir, ReconcileRequest{Addresses: []string{"report.a"}, Wait: true})
	if a.code != http.StatusOK || len(a.outcomes) != 1 {
		t.Fatalf("answer %+v, want one outcome", a)
	}
	if got, want := a.outcomes[0], (ReconcileOutcome{Address: "report.a", Action: "noop", Verdict: "done"}); got != want {
		t.Errorf("outcome %+v, want %+v", got, want)
	}
	if got := h.metric("ledgerform_reconcile_total", map[string]string{"action": "create", "outcome": "success"}); got != 1 {
		t.Errorf("%d creates, want 1", got)
	}
	if h.phase("report.a") != state.Completed {
		t.Errorf("report.a is %s after the answer, want completed", h.phase("report.a"))
	}
}

// An address in neither the manifests nor the state is refused with the
// one probably meant, before anything is queued; so is a request without
// addresses. --all reconciles what a resync would queue: nothing here.
func TestControl_Refusals(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/alpha.json", statement(1))
	write(t, dir, "m.yaml", manifest(reportYAML("alpha", "categorisation")))
	h := startWithControl(t, dir, Config{Resync: time.Hour}, engine.Config{})
	h.eventually("the first full reconcile", h.settled)
	reconciles := h.metric("ledgerform_reconcile_total", nil)

	a := reconcileNow(t, dir, ReconcileRequest{Addresses: []string{"report.alpha", "report.alhpa"}, Wait: true})
	if a.code != http.StatusBadRequest || !strings.Contains(a.err.Error, "report.alhpa: no such report") || !strings.Contains(a.err.Error, "did you mean report.alpha?") {
		t.Errorf("unknown address: %+v, want 400 with a suggestion", a)
	}
	if a := reconcileNow(t, dir, ReconcileRequest{Wait: true}); a.code != http.StatusBadRequest || a.err.Hint == "" {
		t.Errorf("no address: %+v, want 400 with a hint", a)
	}
	if a := reconcileNow(t, dir, ReconcileRequest{All: true, Wait: true}); a.code != http.StatusOK || len(a.accepted) != 0 || len(a.outcomes) != 0 {
		t.Errorf("--all with nothing due: %+v, want nothing accepted", a)
	}
	if got := h.metric("ledgerform_reconcile_total", nil); got != reconciles {
		t.Errorf("%d reconciles after refusals, want none", got-reconciles)
	}
}

// The socket is 0600; a stale one (its daemon killed) is replaced, one
// that answers or a file that is not a socket is not touched.
func TestListenControl(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, spec.StateDir), 0o700)
	path := ControlPath(dir)

	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // as a killed daemon leaves it
	ln, err := ListenControl(dir)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket: %v %v, want a socket, 0600", fi.Mode(), err)
	}
	if _, err := ListenControl(dir); err == nil || !strings.Contains(err.Error(), "another daemon answers") {
		t.Errorf("over a live socket: %v, want refused", err)
	}
	ln.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("after Close the socket is still there: %v", err)
	}

	os.WriteFile(path, []byte("mine"), 0o600)
	if _, err := ListenControl(dir); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a regular file: %v, want refused", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "mine" {
		t.Error("the file in the way was touched")
	}
}
