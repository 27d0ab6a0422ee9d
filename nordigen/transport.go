package nordigen

import (
	"context"
	"io"
	"math/bits"
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
// limiter lets it go, and tells a rate limit from noise.
//
// A 429 always makes its own request wait for its Retry-After (the retry
// layer's backoff). Whether it also slows every worker depends on what the
// answers around it say:
//
//   - A limit: at least limitHits of the last limitWindow answers, all
//     workers together, were 429s (6 of 7). Every request pauses for the
//     Retry-After (at least a second, at most the cap) and the shared rate
//     drops to 90 % of the rate of successes over the two seconds before
//     (what the server evidently allows; half the current rate when there
//     were none), so that the workers do not meet the limit one by one.
//   - Noise: a 429 among successes (an API that answers some requests 429
//     whatever the rate). Only its own request waits; the others go on at
//     the rate they had: lowering it for noise would hold back the bursts
//     of a parallel apply for nothing.
//
// A noise 429 whose Retry-After is short (at most earlyMaxRetryAfter) is
// retried early, after a jittered wait of about noiseWait (25–50 ms by
// default) instead of its Retry-After, when three things hold: it is one
// of the request's first maxEarly 429s (the second waits twice as long;
// a third waits its Retry-After in full), no pause is on, and the
// early-retry budget has a token. The budget earns a quarter of a token per success
// and holds at most earlyBudgetMax, so early retries add at most a
// quarter to the requests the API answers well, and dry up within a few
// answers when 429s dominate. Why this is safe: an API at its limit
// answers 6 of 7 requests 429 and is recognised as a limit (everyone
// pauses for the full Retry-After, the rate drops), and its 429s drain
// the budget before they are many; a 429 among successes at the
// current rate says nothing about the rate, and its Retry-After, the
// same second for every such answer, is the price of a fault, not a limit
// the server enforces. Honouring it in full is what cost a parallel
// apply against 15 % random 429s about 40 % of its throughput.
//
// Each success raises the rate by a tenth, back up to the configured one
// (or, with none configured, until it no longer binds). Safe for
// concurrent use.
type throttle struct {
	next    http.RoundTripper
	limiter *rate.Limiter
	max     rate.Limit    // rate.Inf: no client-side limit
	cap     time.Duration // the longest pause a Retry-After can impose

	// noiseWait is the wait before the early retry of a noise 429; 0: no
	// early retries, every 429 waits its Retry-After.
	noiseWait time.Duration

	mu        sync.Mutex
	until     time.Time   // the pause, on the monotonic clock
	successes []time.Time // the recent ones, oldest first, at most 256
	recent    uint64      // the last limitWindow answers, newest in bit 0: 1 for a 429
	waited    time.Duration
	budget    float64 // early retries allowed now (see allowEarly)
	earlyN    int     // early retries granted, for tests and benchmarks
}

// Bounds of early retries after noise 429s.
const (
	earlyMaxRetryAfter = 5 * time.Second // a longer Retry-After is always honoured
	maxEarly           = 2               // early retries of one request at most
	earlyBudgetMax     = 8               // tokens the budget holds at most
	earlyEarn          = 0.25            // tokens a success earns
)

// window is how far back successes count towards the observed rate.
const window = 2 * time.Second

// A limit is taken to be hit when limitHits of the last limitWindow
// answers were 429s: random 429s at 15 % do that for about one answer in
// 16,000, a real limit within a few answers. (4 of 5, the rule before,
// is one answer in 550: at 64 workers and 150 answers a second, a false
// limit, pausing everyone, every few seconds.)
const (
	limitWindow = 7
	limitHits   = 6
)

func (t *throttle) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// Wait for the pause, then for the limiter; a pause that began while
	// waiting for the limiter holds the request too. Without a pause Sleep
	// returns at once, and a done ctx is the limiter's Wait to report.
	start := time.Now()
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
	if w := time.Since(start); w > time.Millisecond {
		t.mu.Lock()
		t.waited += w
		t.mu.Unlock()
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		ra := retryAfter(resp)
		noise := t.tooMany(ra)
		if st := stateOf(ctx); noise && st.earlies < maxEarly && ra <= earlyMaxRetryAfter && t.allowEarly() {
			st.early, st.earlyWait = true, t.noiseWait<<st.earlies
			st.earlies++
		}
	case resp.StatusCode < 400:
		t.succeeded()
	}
	return resp, nil
}

// allowEarly takes a token of the early-retry budget, if there is one
// and early retries are on.
func (t *throttle) allowEarly() bool {
	if t.noiseWait <= 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.budget < 1 {
		return false
	}
	t.budget--
	t.earlyN++
	return true
}

// tooMany takes a 429 whose Retry-After is d: a pause of every request
// and a lower rate for a limit, a gentler rate for noise. It reports
// whether the 429 was noise.
func (t *throttle) tooMany(d time.Duration) (noise bool) {
	d = min(max(d, time.Second), t.cap)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.answer(true)
	now := time.Now()
	if now.Before(t.until) {
		// Already paused: this 429 answers a request sent before the pause,
		// and the rate was lowered for it.
		t.until = maxTime(t.until, now.Add(d))
		return false
	}
	n := 0
	for _, s := range t.successes {
		if now.Sub(s) <= window {
			n++
		}
	}
	if bits.OnesCount64(t.recent) < limitHits {
		return true // noise: its own request waits, the others go on
	}
	allowed := rate.Limit(float64(n) / window.Seconds()) // what the server evidently allows
	cur := t.limiter.Limit()
	if cur == rate.Inf {
		cur = max(2*allowed, 1)
	}
	t.until = now.Add(d)
	next := cur / 2
	if n > 0 {
		next = min(next, 0.9*allowed)
	}
	t.limiter.SetLimit(max(next, t.floor()))
	t.budget = 0 // a limit: no early retries until successes earn them again
	return false
}

// floor is the lowest rate a 429 can bring the limiter to.
func (t *throttle) floor() rate.Limit {
	if t.max == rate.Inf {
		return 0.1
	}
	return max(t.max/1000, 0.1)
}

// answer notes an answer in recent: a 429 or not.
func (t *throttle) answer(tooMany bool) {
	t.recent <<= 1
	if tooMany {
		t.recent |= 1
	}
	t.recent &= 1<<limitWindow - 1
}

func (t *throttle) succeeded() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.answer(false)
	t.budget = min(t.budget+earlyEarn, earlyBudgetMax)
	if len(t.successes) == 256 {
		t.successes = append(t.successes[:0], t.successes[1:]...)
	}
	t.successes = append(t.successes, time.Now())
	l := t.limiter.Limit()
	switch {
	case l >= t.max:
	case t.max == rate.Inf && l > 10000: // no longer binding: no limit, as configured
		t.limiter.SetLimit(rate.Inf)
	default:
		t.limiter.SetLimit(min(l*1.1, t.max))
	}
}

// pauseLeft is what remains of the shared pause.
func (t *throttle) pauseLeft() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.Until(t.until)
}

// held is how long requests have waited for the pause and the rate limit,
// all of them together.
func (t *throttle) held() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waited
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
