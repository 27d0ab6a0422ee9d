package daemon

import (
	"encoding/json"
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
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// reservedPort returns a loopback address that nothing listens on, for an
// engine to be started on later.
func reservedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	return l.Addr().String()
}

// at returns a wrap for start that makes the daemon's client talk to
// addr, with the credentials of an engine to be started there, its
// attempts observed by m, and its retries waiting at least retryWait.
func at(t *testing.T, addr string, m *Metrics, retryWait time.Duration) func(reconcile.API) reconcile.API {
	return func(reconcile.API) reconcile.API {
		c, err := nordigen.New(nordigen.Config{BaseURL: "http://" + addr, ClientID: "id", ClientSecret: nordigen.NewSecret("secret"),
			RateLimit: 1000, RetryWaitMin: retryWait, RetryWaitMax: 20 * retryWait,
			Observe: func(a nordigen.Attempt) { m.ObserveAPI(a.Op, a.Status, a.Duration) }})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func (h *harness) readyz() (int, []string) {
	resp, err := http.Get(h.url + "/readyz")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Reasons []string }
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Reasons
}

// lines returns the log lines that contain s.
func (h *harness) lines(s string) []string {
	var out []string
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// An endpoint unreachable at the start is one WARN line, a /readyz reason
// and the endpoint's state on /status, at once; the reports due wait,
// queued, none failed by it. When the endpoint comes up, its recovery is
// logged once and the reports are completed.
func TestWatch_EndpointUnreachableAtStart(t *testing.T) {
	dir := t.TempDir()
	for i, n := range []string{"a", "b", "c"} {
		write(t, dir, "s/"+n+".json", statement(i))
	}
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation"), reportYAML("b", "categorisation"), reportYAML("c", "categorisation")))
	addr := reservedPort(t)
	m := NewMetrics()
	h := start(t, dir, Config{Metrics: m}, engine.Config{}, at(t, addr, m, time.Millisecond))

	// A worker that has just met the outage may still be putting its
	// report back in the queue, so wait for every report to be queued too:
	// what must not happen is a report failed or worked by the outage.
	h.eventually("the outage on /status, every report back in the queue", func() bool {
		s := h.status()
		if s.Endpoint == nil || s.Endpoint.Reachable {
			return false
		}
		for _, r := range s.Reports {
			if r.Work != "queued" {
				return false
			}
		}
		return true
	})
	s := h.status()
	if !strings.Contains(s.Endpoint.Error, "connection refused") || !strings.Contains(s.Endpoint.Error, addr) || s.Endpoint.Since == nil {
		t.Errorf("/status endpoint = %+v, want the cause naming %s and since when", *s.Endpoint, addr)
	}
	for _, r := range s.Reports {
		if r.Work != "queued" || r.LastError != nil || r.Phase != state.Pending {
			t.Errorf("%s during the outage: %+v, want queued, pending and not failed by it", r.Address, r)
		}
	}
	code, reasons := h.readyz()
	if code != http.StatusServiceUnavailable || !strings.Contains(strings.Join(reasons, "\n"), "the API cannot be used: ") {
		t.Errorf("/readyz = %d %q, want 503 with the API's outage among the reasons", code, reasons)
	}
	warns := h.lines("level=WARN")
	if len(warns) != 1 || !strings.Contains(warns[0], "endpoint unreachable") || !strings.Contains(warns[0], "connection refused") {
		t.Errorf("WARN lines, want one for the outage with its cause:\n%s", strings.Join(warns, "\n"))
	}

	e, err := engine.Start(engine.Config{ClientID: "id", ClientSecret: "secret"}, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	h.eventually("every report completed", func() bool {
		for _, n := range []string{"a", "b", "c"} {
			if h.phase("report."+n) != state.Completed {
				return false
			}
		}
		return h.settled()
	})
	if got := h.lines(`msg="endpoint reachable again"`); len(got) != 1 || !strings.Contains(got[0], "level=INFO") {
		t.Errorf("recovery lines, want one at INFO:\n%s", strings.Join(got, "\n"))
	}
	if got := len(h.lines("level=WARN")); got != 1 {
		t.Errorf("%d WARN lines in all, want only the outage's:\n%s", got, h.logs.String())
	}
	if s := h.status(); s.Endpoint == nil || !s.Endpoint.Reachable || s.Endpoint.Error != "" {
		t.Errorf("/status endpoint after the recovery = %+v, want reachable", s.Endpoint)
	}
	if code, reasons := h.readyz(); code != http.StatusOK {
		t.Errorf("/readyz after the recovery = %d %q, want 200", code, reasons)
	}
	uploads, err := testutil.MetricSum(e.URL+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": "upload"})
	if err != nil || uploads != 3 {
		t.Errorf("%v uploads (%v), want one per report", uploads, err)
	}
}

// A statement that vanishes under watch shows on /status with its error,
// its record untouched; it is not retried until the file is back, and
// back unchanged the report is as it was, with nothing to do.
func TestWatch_VanishedStatementOnStatus(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation")))
	h := start(t, dir, Config{BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}, engine.Config{})
	h.eventually("ready", h.settled)
	if err := os.Remove(filepath.Join(dir, "s/a.json")); err != nil {
		t.Fatal(err)
	}
	h.eventually("the error on /status", func() bool {
		for _, r := range h.status().Reports {
			if r.LastError != nil {
				return true
			}
		}
		return false
	})
	r := h.status().Reports[0]
	if r.Phase != state.Completed || r.LastError.Code != reconcile.CodeStatement || !strings.Contains(r.LastError.Message, "statement s/a.json: no such file") {
		t.Errorf("/status of the report = %+v %+v, want its record as it was and the missing statement", r, *r.LastError)
	}
	time.Sleep(200 * time.Millisecond) // ten backoffs of the queue, had it been retried
	if n := len(h.lines("no such file")); n != 1 {
		t.Errorf("the missing statement logged %d times, want once: it waits for the file", n)
	}

	write(t, dir, "s/a.json", statement(1))
	h.eventually("the error gone from /status", func() bool { return h.status().Reports[0].LastError == nil })
	if got := h.metric("ledgerform_reconcile_total", map[string]string{"action": "create"}); got != 1 {
		t.Errorf("%d reconciles in all, want the first create alone", got)
	}
}

// An endpoint lost while the daemon runs: the report whose request could
// make no connection fails by it, transiently, with the cause on its
// record and on /status; the outage is logged once, the report is not
// tried again while it lasts, and the cause stays on the record after the
// stop.
func TestWatch_EndpointLostMidRun(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation")))
	addr := reservedPort(t)
	e, err := engine.Start(engine.Config{ClientID: "id", ClientSecret: "secret"}, addr)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	h := start(t, dir, Config{Metrics: m, BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}, engine.Config{},
		at(t, addr, m, time.Millisecond))
	h.eventually("ready", h.settled)

	e.Close()
	write(t, dir, "s/a.json", statement(2))
	h.eventually("the outage on /status", func() bool {
		s := h.status()
		return s.Endpoint != nil && !s.Endpoint.Reachable
	})
	time.Sleep(300 * time.Millisecond) // many backoffs of the queue, had the report been tried again
	if n := len(h.lines("address=report.a action=replace step=upload status=failed")); n != 1 {
		t.Errorf("the report's upload failed %d times during the outage, want once: it waits for the endpoint", n)
	}
	if n := len(h.lines("endpoint unreachable")); n != 1 {
		t.Errorf("the outage logged %d times, want once", n)
	}
	r := h.status().Reports[0]
	if r.LastError == nil || !strings.Contains(r.LastError.Message, "connection refused") || r.LastError.Permanent {
		t.Errorf("/status of the report during the outage = %+v, want its transient failure with the cause", r)
	}

	h.stop()
	rec := recorded(t, dir, "report.a")
	if rec.Phase != state.Failed || rec.LastError == nil || !strings.Contains(rec.LastError.Message, "connection refused") {
		t.Errorf("the record after the stop = %s %+v, want failed with the outage's cause", rec.Phase, rec.LastError)
	}
}

// An endpoint lost while a report's request is being retried shows at
// once, not after the retries: one WARN line, the outage on /status and
// as the in-flight report's last error. Stopped then, the report keeps
// the outage as its record's last error, in its phase.
func TestWatch_EndpointLostDuringRetries(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation")))
	addr := reservedPort(t)
	e, err := engine.Start(engine.Config{ClientID: "id", ClientSecret: "secret"}, addr)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	// The upload's own retries would take minutes.
	h := start(t, dir, Config{Metrics: m, Grace: 100 * time.Millisecond}, engine.Config{}, at(t, addr, m, 10*time.Second))
	h.eventually("ready", h.settled)

	e.Close()
	write(t, dir, "s/a.json", statement(2))
	h.eventually("the outage on /status", func() bool {
		s := h.status()
		return s.Endpoint != nil && !s.Endpoint.Reachable
	})
	r := h.status().Reports[0]
	if r.Work != "in-flight" || r.LastError == nil || !strings.Contains(r.LastError.Message, "connection refused") {
		t.Errorf("/status of the report = %+v, want in flight with the outage as its last error", r)
	}
	if warns := h.lines("level=WARN"); len(warns) != 1 || !strings.Contains(warns[0], "endpoint unreachable") {
		t.Errorf("WARN lines, want the outage's alone:\n%s", strings.Join(warns, "\n"))
	}

	h.stop()
	rec := recorded(t, dir, "report.a")
	if rec.Phase != state.Pending || rec.LastError == nil || !strings.Contains(rec.LastError.Message, "connection refused") {
		t.Errorf("the record after the stop = %s %+v, want pending (resumable) with the outage's cause", rec.Phase, rec.LastError)
	}
}

// Credentials the token endpoint refuses are an outage too, not a failure
// of each report: one WARN line with a hint, the reports queued.
func TestWatch_CredentialsRefused(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "s/b.json", statement(2))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation"), reportYAML("b", "categorisation")))
	addr := reservedPort(t)
	e, err := engine.Start(engine.Config{ClientID: "id", ClientSecret: "another-secret"}, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	m := NewMetrics()
	h := start(t, dir, Config{Metrics: m}, engine.Config{}, at(t, addr, m, time.Millisecond))
	h.eventually("the outage on /status", func() bool {
		s := h.status()
		return s.Endpoint != nil && !s.Endpoint.Reachable
	})
	if s := h.status(); !strings.Contains(s.Endpoint.Error, "401") || len(s.Reports) != 2 || s.Reports[0].Work != "queued" || s.Reports[0].LastError != nil {
		t.Errorf("/status = %+v, want the 401 as the outage and both reports queued, not failed", s)
	}
	if warns := h.lines("level=WARN"); len(warns) != 1 || !strings.Contains(warns[0], "refuses the client") || !strings.Contains(warns[0], "NORDIGEN_CLIENT_SECRET") {
		t.Errorf("WARN lines, want one for the refusal with a hint:\n%s", strings.Join(warns, "\n"))
	}
	if n := h.metric("ledgerform_reconcile_total", nil); n != 0 {
		t.Errorf("%d reconciles, want none during the outage", n)
	}
}

// recorded reads the record of addr from the state of dir, without its
// lock (the daemon has stopped or is running).
func recorded(t *testing.T, dir string, addr report.Address) state.Record {
	t.Helper()
	st, err := state.OpenReadOnly(filepath.Join(dir, ".ledgerform"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, _ := st.Get(addr)
	return rec
}
