package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

func statement(n int) string {
	return fmt.Sprintf(`{"account_list":[{"account_nr":"GB%02d","holder_name":"Holder %d","currency":"GBP","transaction_list":[
 {"date":"2026-01-05","sum":%d.00,"partner":"ACME LTD","info":"SALARY"}]}]}`, n, n, 1000+n)
}

// harness runs a daemon over a working directory against an engine on
// loopback, with its HTTP endpoints on loopback too.
type harness struct {
	t      testing.TB
	dir    string
	engine *engine.Running
	url    string // the daemon's HTTP endpoints
	cancel context.CancelFunc
	done   chan error
	logs   *testutil.SyncBuffer
	store  reconcile.Store // the daemon's, to read records while it runs
}

func write(t testing.TB, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// saveLikeAnEditor writes a temporary file and renames it over name.
func saveLikeAnEditor(t *testing.T, dir, name, data string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".swp")
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func start(t testing.TB, dir string, cfg Config, ecfg engine.Config, wrap ...func(reconcile.API) reconcile.API) *harness {
	t.Helper()
	e, err := engine.StartEmbedded(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	// The file store, unless the test gives a store of its own (which it
	// closes).
	var st interface{ Close() error } = nopCloser{}
	if cfg.Store == nil {
		fst, err := state.Open(filepath.Join(dir, ".ledgerform"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store, st = fst, fst
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, engine: e, url: "http://" + ln.Addr().String(), done: make(chan error, 1), logs: &testutil.SyncBuffer{}, store: cfg.Store}
	cfg.Dir, cfg.Listener = dir, ln
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	m := cfg.Metrics
	cfg.Connect = func(_ context.Context, _ spec.Settings) (reconcile.API, error) {
		c, err := nordigen.New(nordigen.Config{BaseURL: e.URL, ClientID: e.ClientID, ClientSecret: nordigen.NewSecret(e.ClientSecret),
			RateLimit: 1000, RetryWaitMin: time.Millisecond, RetryWaitMax: 20 * time.Millisecond,
			Observe: func(a nordigen.Attempt) { m.ObserveAPI(a.Op, a.Status, a.Duration) }})
		if err != nil {
			return nil, err
		}
		var api reconcile.API = c
		for _, w := range wrap {
			api = w(api)
		}
		return api, nil
	}
	if cfg.PollMin == 0 {
		cfg.PollMin, cfg.PollMax = 10*time.Millisecond, 50*time.Millisecond
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = 200 * time.Millisecond
	}
	if cfg.Quiet == 0 {
		cfg.Quiet = 300 * time.Millisecond
	}
	cfg.Logger = slogTo(h.logs)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { err := Run(ctx, cfg); st.Close(); h.done <- err }()
	t.Cleanup(h.stop)
	return h
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		h.t.Errorf("Run did not return after the stop")
	}
}

// eventually polls cond until it holds; the deadline only guards a hang.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s\nstatus: %s\nlogs:\n%s", what, h.get("/status"), h.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) get(path string) string {
	resp, err := http.Get(h.url + path)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func (h *harness) status() Status {
	var s Status
	if err := json.Unmarshal([]byte(h.get("/status")), &s); err != nil {
		h.t.Fatalf("/status: %v", err)
	}
	return s
}

// settled reports whether the daemon is ready with nothing queued or in flight.
func (h *harness) settled() bool {
	s := h.status()
	return s.Ready && s.Queue.Ready == 0 && s.Queue.InFlight == 0
}

func (h *harness) phase(addr string) state.Phase {
	for _, r := range h.status().Reports {
		if r.Address == addr {
			return r.Phase
		}
	}
	return ""
}

// metric sums a daemon metric's series with the given labels.
func (h *harness) metric(name string, labels map[string]string) int {
	v, err := testutil.MetricSum(h.url+"/metrics", name, labels)
	if err != nil {
		h.t.Fatal(err)
	}
	return int(v)
}

// calls counts the engine's requests to an endpoint.
func (h *harness) calls(endpoint string) int {
	v, err := testutil.MetricSum(h.engine.URL+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": endpoint})
	if err != nil {
		h.t.Fatal(err)
	}
	return int(v)
}

func manifest(reports ...string) string {
	var b strings.Builder
	b.WriteString("reports:\n")
	for _, r := range reports {
		b.WriteString(r + "\n")
	}
	return b.String()
}

func reportYAML(name, ops string) string {
	return fmt.Sprintf("  - {name: %s, statements: [s/%s.json], operations: [%s], country: uk}", name, name, ops)
}

// failingStore is a state whose writes fail, as on a disk gone read-only.
type failingStore struct{ reconcile.Store }

func (failingStore) Put(state.Record) error { return errors.New("disk gone") }

// A state that cannot record a transition stops the daemon with the
// error: no further remote call is made, and the exit is not a success.
func TestWatch_StateThatCannotRecordStopsTheDaemon(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation")))
	e, err := engine.StartEmbedded(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	st, err := state.Open(filepath.Join(dir, ".ledgerform"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := Config{Dir: dir, Store: failingStore{st}, Logger: slogTo(&testutil.SyncBuffer{}),
		Connect: func(context.Context, spec.Settings) (reconcile.API, error) {
			return nordigen.New(nordigen.Config{BaseURL: e.URL, ClientID: e.ClientID, ClientSecret: nordigen.NewSecret(e.ClientSecret), RateLimit: 1000})
		}}
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), cfg) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "disk gone") {
			t.Fatalf("Run = %v, want the state's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon went on with a state that cannot record")
	}
	if v, _ := testutil.MetricSum(e.URL+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": "upload"}); v != 0 {
		t.Errorf("%v uploads with a state that cannot record them", v)
	}
}
