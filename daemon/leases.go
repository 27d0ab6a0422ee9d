package daemon

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/internal/backoff"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// Leases share the reports of one state between daemons: several
// ledgerform watch processes, on one machine or several, on one workspace
// of a PostgreSQL state (package state/pgstore implements it). The daemon
// then works on a report only while it holds its lease:
//
//   - A worker claims the report's lease before it plans it; the claim
//     reads the report's record afresh, so the plan starts from what the
//     last holder recorded. A report another daemon holds is looked at
//     again when that lease would expire: done by then, it plans as
//     up to date; abandoned (its daemon killed), it is resumed from its
//     recorded request ids.
//   - A lease lost while the report is worked on (its renewal failed, or
//     another daemon took it after it expired) cancels the work; every
//     change to the report is fenced by the lease in the state itself, so
//     no remote call follows a lost lease.
//   - A full resync reads every record again first.
//   - The processing request, the one call that must not be made twice
//     (the API has no idempotency key), is made only under a renewal made
//     for it: the reconciler asks the Store to renew the report's lease in
//     a committed write (reconcile.Holder), and bounds the request by half
//     the lease from the renewal's start. No other daemon can take the
//     lease before the whole lease has passed since then (the database set
//     the expiry after the renewal began), so a request not answered in
//     time is given up while the lease still keeps the others out; a
//     renewal that fails means no request. The background renewal judges
//     each lease by its own claim and renewals: a lease claimed while a
//     renewal's statement was under way is not in its answer, and is not
//     lost for that.
//
// What a kill or a stall can still cost, exactly: a kill between an
// upload's answer and its commit, that upload again; a kill between the
// API's accepting the processing request and the commit of its id (one
// answer plus one commit), or a request that outlasts half the lease
// (the report's error then says LEASE_SHORT), that request refused once
// more as ANALYSIS_ALREADY_REQUESTED, a new upload and a new processing
// request. A request that left in time but reaches the API more than
// half a lease later (a network slower than the lease) is refused there
// or refuses the new holder's: one processing id is recorded, never two.
//
// A state that cannot be reached (a claim or a change fails so) is a
// condition of the daemon (StateReachable False, a /readyz reason), not a
// failure of the reports: they stay queued and are retried with backoff,
// and a failed resync is tried again, 1 s doubling to a minute.
type Leases interface {
	// Claim takes the lease of a report without waiting for another
	// daemon: a *state.HeldError when another holds it. The context it
	// returns ends when the lease is lost (cause state.ErrLeaseLost);
	// release gives the lease up.
	Claim(ctx context.Context, a report.Address) (held context.Context, release func(), err error)
	// Refresh reads every record of the state again.
	Refresh(ctx context.Context) error
	// Leases lists the leases that have not expired, for /status.
	Leases(ctx context.Context) ([]state.Lease, error)
	// LeaseTime is how long a lease lasts unrenewed.
	LeaseTime() time.Duration
}

// ConditionStateReachable is False while the shared state cannot be used
// (only with Config.Leases).
const ConditionStateReachable = "StateReachable"

// stateHealth tracks whether the shared state can be used.
type stateHealth struct {
	log   *slog.Logger
	mu    sync.Mutex
	err   error
	since time.Time
	fails int // resyncs failed in a row
}

func (h *stateHealth) down(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		h.since = time.Now()
		h.log.Warn("the state cannot be used; its reports wait, retried with backoff", "error", err.Error())
	}
	h.err = err
}

func (h *stateHealth) up() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		h.log.Info("the state can be used again", "down_for", time.Since(h.since).Round(time.Millisecond).String())
	}
	h.err, h.fails = nil, 0
}

func (h *stateHealth) outage() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// retryIn is the wait before the next try of a failed resync.
func (h *stateHealth) retryIn() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fails++
	return backoff.Jitter(backoff.Exponential(time.Second, time.Minute, h.fails-1))
}

// refresh reads every record again before a full resync, when the state
// is shared; false if it cannot (the resync is then tried again later).
func (d *Daemon) refresh(ctx context.Context) bool {
	if d.cfg.Leases == nil {
		return true
	}
	if err := d.cfg.Leases.Refresh(ctx); err != nil {
		d.health.down(err)
		wait := d.health.retryIn()
		time.AfterFunc(wait, func() {
			select {
			case d.resyncSoon <- struct{}{}:
			default:
			}
		})
		return false
	}
	d.health.up()
	return true
}

// claim takes the lease of addr, when the state is shared, and returns
// the context to work on it in and the func that gives it up. If the
// report is another daemon's or the state cannot be used, it queues the
// report again and returns ok false, with the reason.
func (d *Daemon) claim(ctx context.Context, addr report.Address) (lctx context.Context, release func(), err error) {
	if d.cfg.Leases == nil {
		return ctx, func() {}, nil
	}
	lctx, release, err = d.cfg.Leases.Claim(ctx, addr)
	var he *state.HeldError
	switch {
	case errors.As(err, &he):
		// Its holder's: look again when the lease would end, and a
		// little after, so that the holder's renewal comes first.
		d.health.up()
		// The expiry is by the database's clock: bounded by the lease
		// time, so that a clock far off does not park the report.
		lt := d.cfg.Leases.LeaseTime()
		wait := min(time.Until(he.Expires), lt) + time.Duration(rand.Int64N(int64(time.Second)))
		d.q.AddAfter(string(addr), max(wait, 100*time.Millisecond))
		return nil, nil, err
	case err != nil:
		d.health.down(err)
		d.q.AddRateLimited(string(addr))
		return nil, nil, err
	}
	d.health.up()
	return lctx, release, nil
}

// lost reports whether the work on a report ended because its lease was
// lost, and if so queues it again, for when the lease would have expired
// (the daemon that took it is likely done by then).
func (d *Daemon) lost(lctx context.Context, addr report.Address) bool {
	if d.cfg.Leases == nil || !errors.Is(context.Cause(lctx), state.ErrLeaseLost) {
		return false
	}
	d.log.Warn("lease lost: the report is left to the daemon that holds it now", "address", addr.String())
	d.q.AddAfter(string(addr), d.cfg.Leases.LeaseTime())
	return true
}

// addLeases shows each report's lease on s, and the state's condition.
func (d *Daemon) addLeases(s *Status) {
	if d.cfg.Leases == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ls, err := d.cfg.Leases.Leases(ctx)
	if err != nil {
		d.health.down(err)
	}
	by := map[string]*state.Lease{}
	for i := range ls {
		by[string(ls[i].Address)] = &ls[i]
	}
	for i := range s.Reports {
		if l := by[s.Reports[i].Address]; l != nil {
			l.Expires = l.Expires.UTC()
			s.Reports[i].Lease = l
		}
	}
}

// refreshForStatus reads every record again before /status shows them,
// when daemons share the state: the reports the others work on are shown
// as they are now, not as of this daemon's last resync.
func (d *Daemon) refreshForStatus() {
	if d.cfg.Leases == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := d.cfg.Leases.Refresh(ctx); err != nil {
		d.health.down(err)
	}
}

// stateCondition is the daemon's StateReachable condition.
func (d *Daemon) stateCondition() []Condition {
	if d.cfg.Leases == nil {
		return nil
	}
	if err := d.health.outage(); err != nil {
		return []Condition{cond(ConditionStateReachable, false, "Unreachable", err.Error())}
	}
	return []Condition{cond(ConditionStateReachable, true, "Reachable", "")}
}
