package daemon

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/notify"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/state"
)

// webhook is a notification receiver on loopback: it records every
// request, checks its signature against key (if any), and answers code.
type webhook struct {
	*httptest.Server
	t    *testing.T
	key  string
	code int

	mu     sync.Mutex
	events []notify.Event
	tries  int
	badSig int
}

func newWebhook(t *testing.T, key string, code int) *webhook {
	w := &webhook{t: t, key: key, code: code}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.tries++
		if w.key != "" && !hmac.Equal([]byte(r.Header.Get(notify.SignatureHeader)), []byte(notify.Sign([]byte(w.key), body))) {
			w.badSig++
		}
		if w.code/100 == 2 {
			var e notify.Event
			if err := json.Unmarshal(body, &e); err != nil {
				t.Errorf("a body that is not an event: %s", body)
			}
			w.events = append(w.events, e)
		}
		rw.WriteHeader(w.code)
	}))
	t.Cleanup(w.Close)
	return w
}

// of returns the events of a kind for an address.
func (w *webhook) of(kind, addr string) []notify.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []notify.Event
	for _, e := range w.events {
		if e.Event == kind && e.Address == addr {
			out = append(out, e)
		}
	}
	return out
}

func notifications(url string, extra string) string {
	return fmt.Sprintf("settings:\n  notifications:\n    - {name: hook, url: %q%s}\n", url, extra)
}

func condition(t *testing.T, rs ReportStatus, typ string) Condition {
	t.Helper()
	c, ok := FindCondition(rs.Conditions, typ)
	if !ok {
		t.Fatalf("%s has no %s condition: %+v", rs.Address, typ, rs.Conditions)
	}
	return c
}

func (h *harness) report(addr string) ReportStatus {
	for _, r := range h.status().Reports {
		if r.Address == addr {
			return r
		}
	}
	h.t.Fatalf("%s not on /status", addr)
	return ReportStatus{}
}

// A statement the API refuses sends exactly one blocked event, with its
// reason, signed; resyncs do not repeat it. Fixing the statement sends
// recovered, then completed.
func TestWatch_NotifyBlockedThenRecovered(t *testing.T) {
	t.Setenv("LEDGERFORM_TEST_HOOK_KEY", "k3y")
	hook := newWebhook(t, "k3y", http.StatusOK)
	dir := t.TempDir()
	write(t, dir, "s/a.json", `{"not": "a statement"}`)
	write(t, dir, "s/b.json", statement(2))
	write(t, dir, "m.yaml", notifications(hook.URL+"/hook", ", secret_env: LEDGERFORM_TEST_HOOK_KEY")+
		manifest(reportYAML("a", "categorisation"), reportYAML("b", "categorisation")))
	hup := make(chan os.Signal, 1)
	h := start(t, dir, Config{Hup: hup}, engine.Config{})

	h.eventually("the blocked event", func() bool { return len(hook.of(notify.Blocked, "report.a")) > 0 })
	e := hook.of(notify.Blocked, "report.a")[0]
	if e.Reason != "NO_SUITABLE_PARSERS" || e.Message == "" || e.Attempts != 1 || e.Output != "out/a.json" || e.Time.IsZero() {
		t.Errorf("blocked event = %+v, want the API's reason and message, one attempt, the output", e)
	}
	h.eventually("settled", h.settled)
	rs := h.report("report.a")
	if c := condition(t, rs, ConditionStalled); c.Status != "True" || c.Reason != "NO_SUITABLE_PARSERS" || c.LastTransitionTime.IsZero() {
		t.Errorf("Stalled = %+v, want True with the API's code", c)
	}
	if c := condition(t, rs, ConditionReady); c.Status != "False" {
		t.Errorf("Ready = %+v, want False", c)
	}
	if rs.ObservedDigest == "" || rs.Attempts != 1 {
		t.Errorf("report.a: digest %q, attempts %d; want the record's", rs.ObservedDigest, rs.Attempts)
	}
	if c := condition(t, h.report("report.b"), ConditionReady); c.Status != "True" || c.Reason != "Completed" {
		t.Errorf("report.b Ready = %+v, want True", c)
	}
	hup <- syscall.SIGHUP
	h.eventually("the resync", func() bool {
		return h.metric("ledgerform_resyncs_total", map[string]string{"reason": "sighup"}) == 1 && h.settled()
	})

	saveLikeAnEditor(t, filepath.Join(dir, "s"), "a.json", statement(1))
	h.eventually("the recovered and completed events", func() bool {
		return len(hook.of(notify.Recovered, "report.a")) > 0 && len(hook.of(notify.Completed, "report.a")) > 0
	})
	if c := condition(t, h.report("report.a"), ConditionReady); c.Status != "True" {
		t.Errorf("Ready after the fix = %+v, want True", c)
	}
	h.stop()
	if got := len(hook.of(notify.Blocked, "report.a")); got != 1 {
		t.Errorf("%d blocked events, want exactly 1", got)
	}
	if got := len(hook.of(notify.Recovered, "report.a")); got != 1 {
		t.Errorf("%d recovered events, want 1", got)
	}
	if got := len(hook.of(notify.Blocked, "report.b")) + len(hook.of(notify.Recovered, "report.b")); got != 0 {
		t.Errorf("%d blocked or recovered events for report.b, which never failed", got)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if hook.badSig != 0 {
		t.Errorf("%d of %d requests have a signature that does not verify", hook.badSig, hook.tries)
	}
}

// A receiver that answers 500 is retried, then the message is dropped,
// with one log line (the URL's scheme and host only) and a metric.
func TestWatch_NotifyReceiverFails(t *testing.T) {
	hook := newWebhook(t, "", http.StatusInternalServerError)
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", notifications(hook.URL+"/T00/B00/hunter2?token=hunter2", ", events: [completed]")+manifest(reportYAML("a", "categorisation")))
	h := start(t, dir, Config{Notify: notify.Config{Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}, engine.Config{})
	h.eventually("the failed delivery counted", func() bool {
		return h.metric("ledgerform_notifications_total", map[string]string{"notifier": "hook", "result": "failed"}) == 1
	})
	hook.mu.Lock()
	tries := hook.tries
	hook.mu.Unlock()
	if tries != 3 {
		t.Errorf("%d tries, want 3", tries)
	}
	if lines := h.lines("notification dropped"); len(lines) != 1 || !strings.Contains(lines[0], "500") {
		t.Errorf("drop log lines, want one naming the answer:\n%s", strings.Join(lines, "\n"))
	}
	if strings.Contains(h.logs.String(), "hunter2") || strings.Contains(h.get("/status"), "hunter2") {
		t.Errorf("the URL's path or query reached the log or /status:\n%s", h.logs.String())
	}
}

// A receiver that hangs delays no report: every report completes while
// the receiver holds its first request.
func TestWatch_NotifyHangingReceiver(t *testing.T) {
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	var mu sync.Mutex
	answered := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		answered++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	dir := t.TempDir()
	var reports []string
	for i := range 6 {
		n := fmt.Sprint("r", i)
		write(t, dir, "s/"+n+".json", statement(i))
		reports = append(reports, reportYAML(n, "categorisation"))
	}
	write(t, dir, "m.yaml", notifications(srv.URL, ", events: [completed]")+manifest(reports...))
	h := start(t, dir, Config{Parallelism: 2, Notify: notify.Config{QueueSize: 1}}, engine.Config{})
	select { // the receiver holds the first request
	case <-arrived:
	case <-time.After(20 * time.Second): // a hang guard, not a pass condition
		t.Fatalf("no notification came\n%s", h.logs.String())
	}
	h.eventually("every report completed", func() bool {
		for i := range 6 {
			if h.phase(fmt.Sprint("report.r", i)) != state.Completed {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	if answered != 0 {
		t.Fatalf("the receiver answered %d requests; the test needs it to hang throughout", answered)
	}
	if h.metric("ledgerform_notifications_total", map[string]string{"result": "dropped"}) == 0 {
		t.Error("no notification dropped while the receiver hangs with a queue of 1")
	}
}

// failingUploads is an API whose uploads always fail transiently (503).
type failingUploads struct{ reconcile.API }

func (failingUploads) Upload(context.Context, ...api.File) (*api.Upload, error) {
	return nil, &api.Error{Op: api.OpUpload, Status: http.StatusServiceUnavailable, Code: "SERVICE_UNAVAILABLE", Title: "Service Unavailable"}
}

// A report that fails fifty times sends one message, not fifty, and
// is Stalled, its next retry shown.
func TestWatch_NotifyFiftyFailuresOneMessage(t *testing.T) {
	hook := newWebhook(t, "", http.StatusNoContent)
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", notifications(hook.URL, "")+manifest(reportYAML("a", "categorisation")))
	h := start(t, dir, Config{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}, engine.Config{},
		func(a reconcile.API) reconcile.API { return failingUploads{a} })
	h.eventually("fifty failures", func() bool {
		return h.metric("ledgerform_reconcile_total", map[string]string{"outcome": "requeue"}) >= 50
	})
	rs := h.report("report.a")
	if c := condition(t, rs, ConditionStalled); c.Status != "True" || c.Reason != "SERVICE_UNAVAILABLE" {
		t.Errorf("Stalled = %+v, want True with the failure's code", c)
	}
	if c := condition(t, rs, ConditionReconciling); c.Status != "True" {
		t.Errorf("Reconciling = %+v, want True: it is still retried", c)
	}
	h.stop()
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if len(hook.events) != 1 || hook.events[0].Event != notify.Failed || hook.events[0].Reason != "SERVICE_UNAVAILABLE" {
		t.Errorf("events = %+v, want one failed event", hook.events)
	}
}
