package nordigen

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ledgerform/ledgerform/internal/backoff"
)

// The transports beneath the retry layer, outermost first:
//
//	retryablehttp → throttle (shared rate limit and pause) → timeout (one
//	attempt) → auth (bearer token) → observe (Config.Observe, if set) →
//	the base transport
//
// and for the token endpoint, whose requests auth makes:
//
//	retryablehttp → throttle (pause only) → timeout → observe → the base
//	transport
//
// Every attempt of every request, retries included, passes through all of
// them: a retry waits for the shared pause and the rate limit, gets its own
// timeout, and carries the token current at that moment.

// throttle holds every request until the shared pause is over and the rate
// limiter lets it go. A 429 anywhere pauses every worker for its
// Retry-After (at least a second, at most the cap) and lowers the shared
// rate to 90 % of the rate of successes over the two seconds before it
// (what the server evidently allows; half the current rate when there were
// none), so that the workers do not meet the limit again one by one. Each
// success raises the rate by 10 %, back up to the configured one. Safe for
// concurrent use.
type throttle struct {
	next    http.RoundTripper
	limiter *rate.Limiter
	max     rate.Limit
	cap     time.Duration // the longest pause a Retry-After can impose

	mu        sync.Mutex
	until     time.Time   // the pause, on the monotonic clock
	successes []time.Time // the recent ones, oldest first, at most 256
}

// window is how far back successes count towards the observed rate.
const window = 2 * time.Second

func (t *throttle) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// Wait for the pause, then for the limiter; a pause that began while
	// waiting for the limiter holds the request too. Without a pause Sleep
	// returns at once, and a done ctx is the limiter's Wait to report.
	for {
		if err := backoff.Sleep(ctx, t.pauseLeft()); err != nil {
			return nil, err
		}
		if err := t.limiter.Wait(ctx); err != nil {
			return nil, err
		}
		if t.pauseLeft() <= 0 {
			break
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		t.pause(retryAfter(resp))
	case resp.StatusCode < 400:
		t.succeeded()
	}
	return resp, nil
}

// pause stops every request for d, bounded, and lowers the rate.
func (t *throttle) pause(d time.Duration) {
	d = min(max(d, time.Second), t.cap)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if now.Before(t.until) {
		// Already paused: this 429 answers a request sent before the pause,
		// and the rate was lowered for it.
		t.until = maxTime(t.until, now.Add(d))
		return
	}
	t.until = now.Add(d)
	n := 0
	for _, s := range t.successes {
		if now.Sub(s) <= window {
			n++
		}
	}
	next := t.limiter.Limit() / 2
	if n > 0 {
		next = min(next, rate.Limit(0.9*float64(n)/window.Seconds()))
	}
	t.limiter.SetLimit(max(next, t.max/1000, 0.1))
}

func (t *throttle) succeeded() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.successes) == 256 {
		t.successes = append(t.successes[:0], t.successes[1:]...)
	}
	t.successes = append(t.successes, time.Now())
	if l := t.limiter.Limit(); l < t.max {
		t.limiter.SetLimit(min(l*1.1, t.max))
	}
}

// pauseLeft is what remains of the shared pause.
func (t *throttle) pauseLeft() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.Until(t.until)
}

// timeout bounds one attempt, until its response body is closed.
type timeout struct {
	next http.RoundTripper
	d    time.Duration
}

func (t *timeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.d)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// auth adds the bearer token to requests for the API's scheme and host,
// and only to them. A 401 invalidates the
// token it was sent with, so that the retry fetches a new one.
type auth struct {
	next   http.RoundTripper
	scheme string
	host   string
	tokens *tokenSource
}

func (a *auth) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != a.host || req.URL.Scheme != a.scheme {
		return a.next.RoundTrip(req)
	}
	tok, err := a.tokens.get(req.Context())
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.Reveal())
	resp, err := a.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		a.tokens.invalidate(req.Context(), tok)
	}
	return resp, err
}

// observe reports every attempt that reaches the base transport to fn.
// The operation comes from the request's context, where the client put it
// (withOp), never from the URL; the retry number counts the request's
// attempts seen here, so it does not depend on the retry policy's
// bookkeeping. The attempts of one request are sequential, so its state
// needs no lock.
type observe struct {
	next http.RoundTripper
	fn   func(Attempt)
}

func (o *observe) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateOf(req.Context())
	a := Attempt{Op: st.op, Retry: st.sent}
	st.sent++
	start := time.Now()
	resp, err := o.next.RoundTrip(req)
	a.Duration = time.Since(start)
	if err == nil {
		a.Status = resp.StatusCode
	}
	o.fn(a)
	return resp, err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
