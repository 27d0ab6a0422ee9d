// Package notify delivers the ledgerform daemon's events to webhooks
// (settings.notifications): one bounded queue and one sender goroutine per
// notifier, so that a slow, failing or hanging receiver never delays the
// reconciliation that produces the events.
//
// # Delivery
//
// Hub.Send never blocks. For each notifier that asks for the event's
// kind it is, in order:
//
//   - limited: at most one message per notifier, per address and per
//     event kind within Config.Window (DefaultWindow, ten minutes); later
//     ones are counted as "limited" and not sent, so a report that flaps
//     between failing and recovering sends one message of each kind per
//     window, not hundreds. Daemon-wide events (outage, outage-over,
//     manifest-invalid) have the empty address and are limited per event
//     kind and reason, so that an outage of the git source
//     (SourceUnreachable) does not hide one of the API (Unreachable);
//   - queued, in a queue of Config.QueueSize (DefaultQueueSize); when it is
//     full the event is dropped ("dropped"), and the first drop of a burst
//     is logged once, at WARN; the burst ends with the next message delivered;
//   - sent by the notifier's goroutine as one POST with its own
//     http.Client (Config.Timeout per request; redirects are not followed).
//     A network error, a 429 or a 5xx is retried with a jittered exponential
//     backoff (internal/backoff) up to Config.Attempts in all; any other
//     answer that is not 2xx, or the last failed attempt, drops the message
//     ("failed"), logged once per burst at WARN.
//
// Each outcome is counted through Config.Count(notifier, result) with
// result sent, failed, dropped, limited or unsigned (secret_env names a
// variable that is empty: nothing is sent, since the receiver would refuse
// it; logged once when the notifier is set up).
//
// # Formats
//
// json: the Event as one object: time, address, event, reason, message,
// attempts, output and revision, each but time and event left out when it
// does not apply (revision is not known yet). slack: {"text": "…"}, one
// line a person can read.
//
// With secret_env, each request carries
//
//	X-Ledgerform-Signature: sha256=<hex of HMAC-SHA256(secret, body)>
//
// over the exact bytes of the body, for the receiver to check (compare in
// constant time, as hmac.Equal does).
//
// # Secrets
//
// A notifier's URL may hold a token (a Slack webhook's path does) or
// credentials; only its scheme and host (spec.RedactURL) ever reach a log
// line or an error, and the secret is read from the environment and never
// shown.
//
// # Lifecycle
//
// New makes a Hub; Set (at every manifest load) starts the notifiers of
// the manifests and retires those that are gone or changed, letting each
// send what it has queued for a short while; Close retires them all,
// waiting up to its flush time for their queues before cancelling the
// requests under way, and returns once every goroutine has ended.
package notify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/internal/backoff"
	"github.com/ledgerform/ledgerform/spec"
)

// Defaults of a Config's zero fields.
const (
	DefaultQueueSize = 64
	DefaultWindow    = 10 * time.Minute
	DefaultTimeout   = 10 * time.Second
	DefaultAttempts  = 4
	DefaultBaseDelay = time.Second
	DefaultMaxDelay  = 30 * time.Second
	// retireFlush is how long a notifier that the manifests no longer
	// have (or have changed) may go on sending what it had queued.
	retireFlush = 5 * time.Second
)

// SignatureHeader carries the HMAC-SHA256 of the body, as "sha256=<hex>".
const SignatureHeader = "X-Ledgerform-Signature"

// The event kinds (spec.NotifyEvents).
const (
	Blocked         = "blocked"
	Failed          = "failed"
	Recovered       = "recovered"
	Completed       = "completed"
	Outage          = "outage"
	OutageOver      = "outage-over"
	ManifestInvalid = "manifest-invalid"
)

// An Event is one thing worth telling: a report's transition, or the
// daemon's. It is also the json format's body.
type Event struct {
	Time     time.Time `json:"time"`
	Address  string    `json:"address,omitempty"` // empty for the daemon's own events
	Event    string    `json:"event"`
	Reason   string    `json:"reason,omitempty"` // an error code, or a CamelCase word
	Message  string    `json:"message,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	Output   string    `json:"output,omitempty"`
	Revision string    `json:"revision,omitempty"` // the manifests' revision, when known
}

// Config tunes a Hub. The zero Config is ready to use.
type Config struct {
	Logger *slog.Logger // nil: discard
	// Count, if set, is told of every message's outcome (see the package
	// doc); it must be quick and safe for concurrent use.
	Count               func(notifier, result string)
	QueueSize           int                 // per notifier (DefaultQueueSize)
	Window              time.Duration       // the rate limit's window (DefaultWindow)
	Timeout             time.Duration       // per request (DefaultTimeout)
	Attempts            int                 // per message, the first included (DefaultAttempts)
	BaseDelay, MaxDelay time.Duration       // the backoff between attempts (DefaultBaseDelay, DefaultMaxDelay)
	Getenv              func(string) string // os.Getenv when nil
}

// Hub sends events to the notifiers of the manifests in force. Its
// methods are safe for concurrent use, and nil-safe: a nil Hub sends
// nothing.
type Hub struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	current map[string]*notifier // by name
	closed  bool
	retired sync.WaitGroup // notifiers being retired
}

// New returns a Hub with no notifiers; Set gives it some.
func New(cfg Config) *Hub {
	cfg.QueueSize = cmp.Or(max(cfg.QueueSize, 0), DefaultQueueSize)
	cfg.Window = cmp.Or(max(cfg.Window, 0), DefaultWindow)
	cfg.Timeout = cmp.Or(max(cfg.Timeout, 0), DefaultTimeout)
	cfg.Attempts = cmp.Or(max(cfg.Attempts, 0), DefaultAttempts)
	cfg.BaseDelay = cmp.Or(max(cfg.BaseDelay, 0), DefaultBaseDelay)
	cfg.MaxDelay = cmp.Or(max(cfg.MaxDelay, 0), DefaultMaxDelay)
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Count == nil {
		cfg.Count = func(string, string) {}
	}
	return &Hub{cfg: cfg, log: cfg.Logger, current: map[string]*notifier{}}
}

// Set makes ns the notifiers: new ones start, unchanged ones go on (with
// their queues and rate limits), and those gone or changed are retired,
// sending what they have queued for a few seconds. The secrets are read
// from the environment now.
func (h *Hub) Set(ns []spec.Notification) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	next := map[string]*notifier{}
	for _, n := range ns {
		if old, ok := h.current[n.Name]; ok && old.same(n) {
			next[n.Name] = old
			delete(h.current, n.Name)
			continue
		}
		next[n.Name] = h.start(n)
	}
	for _, old := range h.current {
		h.retire(old, retireFlush)
	}
	h.current = next
}

// retire stops n in the background, owned by h.retired. h.mu is held.
func (h *Hub) retire(n *notifier, flush time.Duration) {
	h.retired.Add(1)
	go func() {
		defer h.retired.Done()
		n.stop(flush)
	}()
}

// Send hands e to every notifier that asks for its kind; it never blocks.
// A zero Time is now.
func (h *Hub) Send(e Event) {
	if h == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(h.current)) {
		h.current[name].offer(e)
	}
}

// Close stops every notifier: each may send what it has queued within
// flush, then its request under way is cancelled and the rest dropped.
// It returns once every sender goroutine has ended. Sends after Close do
// nothing.
func (h *Hub) Close(flush time.Duration) {
	if h == nil {
		return
	}
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		for _, n := range h.current {
			h.retire(n, flush)
		}
		h.current = nil
	}
	h.mu.Unlock()
	h.retired.Wait()
}

// notifier is one webhook with its queue and its sender goroutine.
type notifier struct {
	spec   spec.Notification
	where  string // scheme://host, the only part of the URL ever shown
	secret []byte // nil: unsigned
	noKey  bool   // secret_env is set but empty: nothing is sent
	events map[string]bool
	hub    *Config
	log    *slog.Logger
	client *http.Client

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	q        chan Event
	closed   bool
	last     map[string]time.Time // event kind and address → when one was last queued
	dropping bool                 // a drop (queue full) of this burst was logged
	failing  bool                 // a failure of this burst was logged
}

func (h *Hub) start(s spec.Notification) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{spec: s, where: spec.RedactURL(s.URL), events: map[string]bool{}, hub: &h.cfg,
		log: h.log.With("notifier", s.Name, "url", spec.RedactURL(s.URL)),
		client: &http.Client{Timeout: h.cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		q: make(chan Event, h.cfg.QueueSize), last: map[string]time.Time{}}
	for _, e := range s.Events {
		n.events[e] = true
	}
	if s.SecretEnv != "" {
		if v := h.cfg.Getenv(s.SecretEnv); v != "" {
			n.secret = []byte(v)
		} else {
			n.noKey = true
			n.log.Error("notifications are not sent: secret_env names an empty or unset variable", "secret_env", s.SecretEnv,
				"hint", "set "+s.SecretEnv+" in the daemon's environment, or remove secret_env")
		}
	}
	go n.run()
	return n
}

// same reports whether n was made from s.
func (n *notifier) same(s spec.Notification) bool {
	a, b := n.spec, s
	return a.URL == b.URL && a.Format == b.Format && a.SecretEnv == b.SecretEnv && slices.Equal(a.Events, b.Events)
}

// offer queues e if n wants it and the rate limit lets it through.
func (n *notifier) offer(e Event) {
	if !n.events[e.Event] {
		return
	}
	name := n.spec.Name
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if n.noKey {
		n.hub.Count(name, "unsigned")
		return
	}
	key := e.Event + "\x00" + e.Address
	if e.Address == "" {
		key += "\x00" + e.Reason // the daemon's: the API's outage is not the source's
	}
	if t, ok := n.last[key]; ok && e.Time.Sub(t) < n.hub.Window {
		n.hub.Count(name, "limited")
		return
	}
	select {
	case n.q <- e:
		n.last[key] = e.Time
		if len(n.last) > 4096 {
			for k, t := range n.last {
				if e.Time.Sub(t) >= n.hub.Window {
					delete(n.last, k)
				}
			}
		}
	default:
		n.hub.Count(name, "dropped")
		if !n.dropping {
			n.dropping = true
			n.log.Warn("notifications dropped: the queue is full (the receiver is slow or down); more drops of this burst are only counted",
				"queue", cap(n.q), "event", e.Event, "address", e.Address)
		}
	}
}

// stop closes the queue, lets the sender empty it within flush, then
// cancels what is under way and waits for the sender to end.
func (n *notifier) stop(flush time.Duration) {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.q)
	}
	n.mu.Unlock()
	t := time.NewTimer(flush)
	defer t.Stop()
	select {
	case <-n.done:
	case <-t.C:
		n.cancel()
		<-n.done
	}
	n.cancel()
}

// run sends the queued events one at a time until the queue is closed;
// once cancelled, what is left is dropped.
func (n *notifier) run() {
	defer close(n.done)
	for e := range n.q {
		if n.ctx.Err() != nil {
			n.hub.Count(n.spec.Name, "dropped")
			continue
		}
		n.deliver(e)
	}
}

// deliver sends e, retrying what may pass.
func (n *notifier) deliver(e Event) {
	body := n.body(e)
	var why string
	attempt := 0
	for ; attempt < n.hub.Attempts; attempt++ {
		if attempt > 0 {
			d := backoff.Jitter(backoff.Exponential(n.hub.BaseDelay, n.hub.MaxDelay, attempt-1))
			if backoff.Sleep(n.ctx, d) != nil {
				n.hub.Count(n.spec.Name, "dropped")
				return
			}
		}
		status, err := n.post(body)
		if err == nil && status/100 == 2 {
			n.hub.Count(n.spec.Name, "sent")
			n.mu.Lock()
			n.dropping, n.failing = false, false
			n.mu.Unlock()
			return
		}
		if n.ctx.Err() != nil {
			n.hub.Count(n.spec.Name, "dropped")
			return
		}
		if err != nil {
			why = err.Error()
		} else {
			why = fmt.Sprintf("the receiver answered %d %s", status, http.StatusText(status))
			if status != http.StatusTooManyRequests && status < 500 {
				attempt++
				break // it will not pass
			}
		}
	}
	n.hub.Count(n.spec.Name, "failed")
	n.mu.Lock()
	first := !n.failing
	n.failing = true
	n.mu.Unlock()
	if first {
		n.log.Warn("notification dropped; more failures of this burst are only counted", "event", e.Event, "address", e.Address,
			"attempts", min(attempt, n.hub.Attempts), "error", why)
	}
}

// post makes one attempt, returning the answer's status or an error that
// does not show the URL.
func (n *notifier) post(body []byte) (int, error) {
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, n.spec.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("cannot make the request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ledgerform")
	if n.secret != nil {
		req.Header.Set(SignatureHeader, Sign(n.secret, body))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return 0, fmt.Errorf("POST %s: %w", n.where, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Sign returns the value of SignatureHeader for body: "sha256=" and the
// hex HMAC-SHA256 of body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// body encodes e in n's format.
func (n *notifier) body(e Event) []byte {
	var v any = e
	if n.spec.Format == "slack" {
		v = map[string]string{"text": Text(e)}
	}
	b, _ := json.Marshal(v)
	return b
}

// Text is e in one line for people, the slack format's text.
func Text(e Event) string {
	var b strings.Builder
	b.WriteString("ledgerform: ")
	subject := e.Address
	switch e.Event {
	case Blocked:
		fmt.Fprintf(&b, "%s is blocked", subject)
	case Failed:
		fmt.Fprintf(&b, "%s keeps failing", subject)
	case Recovered:
		fmt.Fprintf(&b, "%s recovered", subject)
	case Completed:
		fmt.Fprintf(&b, "%s completed", subject)
	case Outage:
		b.WriteString("the API cannot be used")
	case OutageOver:
		b.WriteString("the API can be used again")
	case ManifestInvalid:
		b.WriteString("a manifest does not load; the last good manifests stay in force")
	default:
		fmt.Fprintf(&b, "%s %s", subject, e.Event)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Attempts > 0 {
		fmt.Fprintf(&b, "; attempts: %d", e.Attempts)
	}
	if e.Output != "" {
		b.WriteString("; output: " + e.Output)
	}
	return b.String()
}
