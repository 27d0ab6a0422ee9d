package notify

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/spec"
)

// receiver is a webhook on loopback that records what it is sent and
// answers with code.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
	tries  int
	code   int
	got    chan struct{} // one receive per request
}

func newReceiver(t *testing.T, code int) *receiver {
	r := &receiver{code: code, got: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.tries++
		if r.code/100 == 2 {
			r.bodies = append(r.bodies, b)
			r.sigs = append(r.sigs, req.Header.Get(SignatureHeader))
		}
		code := r.code
		r.mu.Unlock()
		w.WriteHeader(code)
		r.got <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) events(t *testing.T) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, b := range r.bodies {
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
		out = append(out, e)
	}
	return out
}

type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) count(notifier, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[notifier+"/"+result]++
}

func (c *counts) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func newHub(t *testing.T, logs *testutil.SyncBuffer, c *counts, env map[string]string) *Hub {
	h := New(Config{Logger: slog.New(slog.NewTextHandler(logs, nil)), Count: c.count,
		BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, QueueSize: 4, Getenv: func(k string) string { return env[k] }})
	t.Cleanup(func() { h.Close(time.Second) })
	return h
}

// A report that fails fifty times sends one message, not fifty; another
// address, or another kind, is a message of its own. Signed bodies verify.
func TestHub_RateLimitAndSignature(t *testing.T) {
	r := newReceiver(t, http.StatusNoContent)
	c := &counts{m: map[string]int{}}
	h := newHub(t, &testutil.SyncBuffer{}, c, map[string]string{"HOOK_KEY": "k3y"})
	h.Set([]spec.Notification{{Name: "n", URL: r.URL + "/hook?token=hunter2", Events: []string{Failed, Recovered}, Format: "json", SecretEnv: "HOOK_KEY"}})
	for i := range 50 {
		h.Send(Event{Address: "report.a", Event: Failed, Reason: "SERVICE_UNAVAILABLE", Attempts: i + 1})
	}
	h.Send(Event{Address: "report.b", Event: Failed})
	h.Send(Event{Address: "report.a", Event: Recovered})
	h.Send(Event{Address: "report.a", Event: Completed}) // not asked for
	h.Close(5 * time.Second)

	es := r.events(t)
	if len(es) != 3 {
		t.Fatalf("%d messages, want 3: %+v", len(es), es)
	}
	if es[0].Address != "report.a" || es[0].Event != Failed || es[0].Attempts != 1 || es[0].Reason != "SERVICE_UNAVAILABLE" {
		t.Errorf("first message = %+v", es[0])
	}
	if got := c.get("n/limited"); got != 49 {
		t.Errorf("%d limited, want 49", got)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, b := range r.bodies {
		if want := Sign([]byte("k3y"), b); !hmac.Equal([]byte(r.sigs[i]), []byte(want)) || !strings.HasPrefix(r.sigs[i], "sha256=") {
			t.Errorf("signature %q, want %q", r.sigs[i], want)
		}
	}
}

// A receiver that answers 500 is retried, then the message is dropped
// with one log line for the burst, which names the host only, and a count.
func TestHub_ServerErrorsRetriedThenDropped(t *testing.T) {
	r := newReceiver(t, http.StatusInternalServerError)
	c := &counts{m: map[string]int{}}
	logs := &testutil.SyncBuffer{}
	h := New(Config{Logger: slog.New(slog.NewTextHandler(logs, nil)), Count: c.count, Attempts: 3,
		BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
	u := strings.Replace(r.URL, "http://", "http://user:hunter2@", 1) + "/T000/hunter2?token=hunter2"
	h.Set([]spec.Notification{{Name: "n", URL: u, Events: spec.NotifyEvents, Format: "slack"}})
	h.Send(Event{Address: "report.a", Event: Blocked})
	h.Send(Event{Address: "report.b", Event: Blocked})
	h.Close(5 * time.Second)

	if r.tries != 6 {
		t.Errorf("%d tries, want 3 per message", r.tries)
	}
	if got := c.get("n/failed"); got != 2 {
		t.Errorf("%d failed, want 2", got)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "notification dropped") || !strings.Contains(lines[0], "500") {
		t.Errorf("log, want one line for the burst:\n%s", logs)
	}
	if strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), "url="+strings.TrimPrefix(r.URL, "")) {
		t.Errorf("log shows more of the URL than its scheme and host, or not that:\n%s", logs)
	}
}

// A receiver that hangs never blocks Send: the queue fills, the rest is
// dropped, logged once, and Close cancels the request under way.
func TestHub_HangingReceiver(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := &counts{m: map[string]int{}}
	logs := &testutil.SyncBuffer{}
	h := New(Config{Logger: slog.New(slog.NewTextHandler(logs, nil)), Count: c.count, QueueSize: 2})
	h.Set([]spec.Notification{{Name: "n", URL: srv.URL, Events: spec.NotifyEvents, Format: "json"}})
	h.Send(Event{Address: "report.0", Event: Completed})
	<-arrived // the sender is stuck in its request
	for i := 1; i <= 10; i++ {
		h.Send(Event{Address: "report." + string(rune('0'+i)), Event: Completed})
	}
	if got := c.get("n/dropped"); got != 8 {
		t.Errorf("%d dropped while the receiver hangs, want 8 (2 queued)", got)
	}
	if n := strings.Count(logs.String(), "notifications dropped"); n != 1 {
		t.Errorf("%d drop lines, want 1:\n%s", n, logs)
	}
	h.Close(10 * time.Millisecond)
	if got := c.get("n/dropped"); got != 11 {
		t.Errorf("%d dropped after Close, want all 11", got)
	}
}

func TestText(t *testing.T) {
	got := Text(Event{Address: "report.a", Event: Blocked, Reason: "NO_SUITABLE_PARSERS", Message: "not a statement", Attempts: 1})
	if want := "ledgerform: report.a is blocked (NO_SUITABLE_PARSERS): not a statement; attempts: 1"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
}

// The daemon's events are limited per reason: an outage of the git source
// does not hide one of the API, while a repeat of either is limited.
func TestHub_DaemonEventsLimitedPerReason(t *testing.T) {
	r := newReceiver(t, http.StatusNoContent)
	c := &counts{m: map[string]int{}}
	h := newHub(t, &testutil.SyncBuffer{}, c, nil)
	h.Set([]spec.Notification{{Name: "n", URL: r.URL, Events: spec.NotifyEvents, Format: "json"}})
	h.Send(Event{Event: Outage, Reason: "SourceUnreachable"})
	h.Send(Event{Event: Outage, Reason: "Unreachable"})
	h.Send(Event{Event: Outage, Reason: "Unreachable"})
	h.Close(5 * time.Second)
	if es := r.events(t); len(es) != 2 || es[0].Reason != "SourceUnreachable" || es[1].Reason != "Unreachable" {
		t.Errorf("messages %+v, want one outage of each", es)
	}
	if got := c.get("n/limited"); got != 1 {
		t.Errorf("%d limited, want 1", got)
	}
}
