package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/internal/backoff"
)

// The backoff of the probes while the API cannot be used.
const (
	probeMin = time.Second
	probeMax = time.Minute
)

// endpoint is the daemon's view of whether the API can be used at all,
// shared by every worker. It is found out by reach (Reconciler.Reach: a
// connection, and a token) when remote work first needs it, and again
// after an outage; it is lost when reach fails, or when a report's
// request could make no connection (api.IsUnreachable).
//
// While the API cannot be used the workers take no work (the reports due
// stay queued, none is failed by the outage), one goroutine (run) probes
// it with backoff, and the outage is logged once, at WARN, when it begins,
// and once, at INFO, when it ends. Safe for concurrent use.
type endpoint struct {
	log   *slog.Logger
	reach func(ctx context.Context) error

	// changed, if set, is told when an outage begins (its cause) and
	// ends (nil); it is called with mu held, so it must be quick and must
	// not call the endpoint.
	changed func(err error)

	probing sync.Mutex // held by whoever calls reach

	mu    sync.Mutex
	known bool          // reach has succeeded or failed at least once
	err   error         // why the API cannot be used; nil while it can
	since time.Time     // when the outage began
	up    chan struct{} // closed when the outage ends; nil while there is none
	kick  chan struct{} // tells run that an outage began
}

func newEndpoint(log *slog.Logger, reach func(ctx context.Context) error) *endpoint {
	return &endpoint{log: log, reach: reach, kick: make(chan struct{}, 1)}
}

// usable returns nil when the API can be used, and why not otherwise.
// The first call that finds the API's state unknown finds it out with
// reach; calls meanwhile wait for that answer.
func (e *endpoint) usable(ctx context.Context) error {
	e.mu.Lock()
	known, err := e.known, e.err
	e.mu.Unlock()
	if known {
		return err
	}
	e.probing.Lock()
	defer e.probing.Unlock()
	e.mu.Lock()
	known, err = e.known, e.err
	e.mu.Unlock()
	if known {
		return err // found out while this call waited
	}
	err = e.reach(ctx)
	if ctx.Err() != nil {
		return ctx.Err() // stopping: nothing was found out
	}
	if err != nil {
		e.lost(err)
		return err
	}
	e.mu.Lock()
	e.known = true
	e.mu.Unlock()
	return nil
}

// lost records that the API cannot be used, for err. Only the first call
// of an outage logs it and starts the probes; later ones keep the newest
// cause for /status.
func (e *endpoint) lost(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.known = true
	if e.err != nil {
		e.err = err
		return
	}
	e.err, e.since, e.up = err, time.Now(), make(chan struct{})
	switch {
	case api.IsUnreachable(err):
		e.log.Warn("endpoint unreachable; the reports due wait until it answers", "error", err,
			"hint", "check --endpoint or settings.endpoint, or that the service is up")
	case api.IsPermanent(err): // the token endpoint's refusal
		e.log.Warn("the API refuses the client; the reports due wait until it accepts it", "error", err,
			"hint", "check NORDIGEN_CLIENT_ID and NORDIGEN_CLIENT_SECRET")
	default: // no client at all: the error says why
		e.log.Warn("cannot connect to the API; the reports due wait until it can", "error", err)
	}
	if e.changed != nil {
		e.changed(err)
	}
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// wait returns true at once while the API can be used (or is not known
// yet); during an outage it waits for the end of it, and returns false if
// ctx ends first.
func (e *endpoint) wait(ctx context.Context) bool {
	e.mu.Lock()
	up := e.up
	e.mu.Unlock()
	if up == nil {
		return true
	}
	select {
	case <-up:
		return true
	case <-ctx.Done():
		return false
	}
}

// run probes the API during every outage, with backoff (probeMin doubling
// to probeMax, jittered), until reach succeeds; then it logs the end of the
// outage and lets the workers go. Between outages, a receive on doubts (a
// request got no answer) has it check the API at once, at most once every
// probeMin, so that an outage shows within seconds, not after the
// retries of the requests under way. It returns when ctx ends.
func (e *endpoint) run(ctx context.Context, doubts <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-doubts:
			e.check(ctx)
			if backoff.Sleep(ctx, probeMin) != nil {
				return
			}
			continue
		case <-e.kick:
		}
		for n := 0; ; n++ {
			if backoff.Sleep(ctx, backoff.Jitter(backoff.Exponential(probeMin, probeMax, n))) != nil {
				return
			}
			e.probing.Lock()
			err := e.reach(ctx)
			e.probing.Unlock()
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				e.restored()
				break
			}
			e.lost(err)
		}
	}
}

// check probes the API, unless its state is not known yet (the first
// remote work finds it out) or an outage is being probed already.
func (e *endpoint) check(ctx context.Context) {
	e.mu.Lock()
	skip := !e.known || e.err != nil
	e.mu.Unlock()
	if skip {
		return
	}
	e.probing.Lock()
	err := e.reach(ctx)
	e.probing.Unlock()
	if err != nil && ctx.Err() == nil {
		e.lost(err)
	}
}

// restored ends the outage.
func (e *endpoint) restored() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		return
	}
	e.log.Info("endpoint reachable again", "unreachable_for", time.Since(e.since).Round(time.Millisecond).String())
	close(e.up)
	e.err, e.since, e.up = nil, time.Time{}, nil
	if e.changed != nil {
		e.changed(nil)
	}
}

// status is the API's state for /status: nil until it is known.
func (e *endpoint) status() *EndpointStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.known {
		return nil
	}
	s := &EndpointStatus{Reachable: e.err == nil}
	if e.err != nil {
		since := e.since.UTC()
		s.Error, s.Since = e.err.Error(), &since
	}
	return s
}

// outage is why the API cannot be used, or nil.
func (e *endpoint) outage() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}
