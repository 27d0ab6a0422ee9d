package nordigen

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/internal/backoff"
)

// The retry policy of every request: the one place that decides what is
// sent again.
//
//   - Network errors (no answer) and 429, 500, 502, 503, 504 are retried, with
//     a capped, jittered exponential backoff that honours Retry-After (seconds
//     or HTTP-date) up to a cap; a result's 500 only twice (the reconciler's
//     poll loop decides what a lasting one means).
//   - A 401 is retried once, with a new token; a second 401 is an error.
//   - Every other answer, every 4xx among them, is final.
//   - A request whose token could not be had for a permanent reason (wrong
//     credentials) is not retried.
//   - The token requests of Client.Probe are sent once each: the probe
//     has a short retry loop of its own.
//
// A retried upload may have reached the API before its connection broke;
// the API has no idempotency key, so the reconciler, not this client,
// decides what an unanswered upload means (a fresh upload is harmless).

// reqState is what the policy knows of one request across its attempts.
type reqState struct {
	op           string
	once         bool // one attempt only: Client.Probe does its own retrying
	attempts     int  // answers and failures seen so far
	unauthorized int  // 401 answers so far
	sent         int  // attempts that reached the base transport, for Observe
	// early is set by the throttle when the last answer was a 429 it took
	// for noise and allowed an early retry (throttle.allowEarly), to be
	// made after about earlyWait; earlies counts the early retries the
	// request had.
	early     bool
	earlies   int
	earlyWait time.Duration
}

type stateKey struct{}

func withOp(ctx context.Context, op string) context.Context {
	return withState(ctx, &reqState{op: op})
}

func withState(ctx context.Context, st *reqState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateOf(ctx context.Context) *reqState {
	if s, ok := ctx.Value(stateKey{}).(*reqState); ok {
		return s
	}
	return &reqState{}
}

// resultRetries500 is how many times a result's 500 is retried.
const resultRetries500 = 2

func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st := stateOf(ctx)
	st.attempts++
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if st.once {
		return false, nil
	}
	if err != nil {
		// The token source has retried already; a certificate that does not
		// verify, or a server without TLS, will be so next time too.
		var ae *api.Error
		var te *api.TransportError
		if errors.As(err, &ae) || errors.As(err, &te) || api.PermanentTransport(err) {
			return false, nil
		}
		return !api.IsPermanent(err), nil
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError:
		// A result's 500 may be the id's own failure, which the API (the
		// engine, and it seems the service) answers so for as long as it
		// keeps the id: the reconciler polls again and tells a broken id
		// from an outage. Retrying it here at length (8 retries, up to
		// 30 s apart) only made a failed processing take minutes.
		return st.op != api.OpResult || st.attempts <= resultRetries500, nil
	case http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	case http.StatusUnauthorized:
		st.unauthorized++
		return st.unauthorized == 1 && st.op != api.OpToken, nil
	}
	return false, nil
}

// retryWait returns the wait before retry attemptNum (0 for the first
// retry), go-retryablehttp's Backoff: the answer's Retry-After if it has
// one, capped at hi, or else lo·2^attempt capped at hi; either way with
// jitter so that workers do not retry in step. The two jitters differ on
// purpose: a Retry-After is a floor the server set, so it is waited up to
// 10 % longer and never less; a backoff of our own is at most the delay
// and at least half of it (backoff.Jitter, the rule of every retry loop).
//
// The one exception: a 429 that the throttle took for noise and allowed
// an early retry (see throttle) is retried after the throttle's short
// jittered wait instead of its Retry-After.
func retryWait(lo, hi time.Duration, attemptNum int, resp *http.Response) time.Duration {
	if resp != nil && resp.Request != nil {
		if st := stateOf(resp.Request.Context()); st.early && st.earlyWait > 0 {
			st.early = false
			return backoff.Jitter(st.earlyWait)
		}
	}
	if d := retryAfter(resp); d > 0 {
		if d >= hi {
			return hi
		}
		return min(d+time.Duration(rand.Int64N(int64(d/10)+1)), hi) // up to 10 % later, never earlier
	}
	return backoff.Jitter(backoff.Exponential(lo, hi, attemptNum))
}

// retryAfter reads Retry-After as seconds or as an HTTP-date; 0 when absent,
// malformed or in the past.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 1<<31)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// errorHandler turns the last answer of a request that is not retried any
// more into a typed error: it never loses the status and the error array.
// The client's do fills in the operation.
func errorHandler(resp *http.Response, err error, attempts int) (*http.Response, error) {
	return handleError(resp, err, attempts, "")
}

// tokenErrorHandler is errorHandler for the token endpoint, whose bodies are
// never quoted.
func tokenErrorHandler(resp *http.Response, err error, attempts int) (*http.Response, error) {
	return handleError(resp, err, attempts, api.OpToken)
}

func handleError(resp *http.Response, err error, attempts int, op string) (*http.Response, error) {
	if resp != nil {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, apiError(resp, body, op, attempts)
	}
	if err == context.Canceled || err == context.DeadlineExceeded {
		return nil, err // the caller's context ended: checkRetry returns it as is
	}
	var ae *api.Error
	if errors.As(err, &ae) { // from the token source, inside the transport
		return nil, ae
	}
	var pe *api.ProtocolError
	if errors.As(err, &pe) {
		return nil, pe
	}
	return nil, &api.TransportError{Op: op, Attempts: attempts, Err: err, Unreachable: unreachable(err)}
}

// unreachable reports whether a request's failure means that no
// connection could be made at all: the host name does not resolve, the
// dial fails (refused, no route), the TLS handshake fails (a plain-HTTP
// server behind an https URL, an alert from the server, a certificate
// that does not verify), or the token the request needed could not be
// had for one of these reasons. A connection that was made and then
// broke, or timed out waiting for an answer, is not: the API may have
// done the work.
func unreachable(err error) bool {
	var te *api.TransportError
	if errors.As(err, &te) {
		return te.Unreachable // the token request's, inside the transport
	}
	var dns *net.DNSError
	var op *net.OpError
	var rh tls.RecordHeaderError
	var alert tls.AlertError
	return errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial" || errors.As(err, &rh) ||
		errors.As(err, &alert) || api.PermanentTransport(err)
}
