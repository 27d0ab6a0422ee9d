package daemon

import (
	"cmp"
	"strconv"
	"strings"
	"sync"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/notify"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// The notification events come from transitions the daemon sees (package
// notify delivers them; settings.notifications says where):
//
//   - blocked: a reconcile ends blocked because the API refused the report
//     (not a report found blocked already, as after a restart);
//   - failed: a report's DefaultFailedAfter-th (Config.FailedAfter)
//     transient failure in a row, once until it succeeds or is blocked;
//     failures because the API cannot be reached at all are the outage's
//     event instead;
//   - recovered: a report that was announced blocked or failed, or whose
//     record says it was blocked, completes;
//   - completed: a create, replace, resume, retry or restore completes
//     (a move or a delete does not);
//   - outage and outage-over: the API becomes unusable, and usable again;
//   - manifest-invalid: the manifests on disk stop loading, or load with
//     other errors than before.

// announced remembers, per report, the trouble a notification has told
// of, so that recovering is told once. Safe for concurrent use.
type announced struct {
	mu sync.Mutex
	m  map[report.Address]string // notify.Blocked or notify.Failed
}

func (a *announced) swap(addr report.Address, kind string) (was string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[report.Address]string{}
	}
	was = a.m[addr]
	if kind == "" {
		delete(a.m, addr)
	} else {
		a.m[addr] = kind
	}
	return was
}

// first records kind for addr if nothing is recorded for it, and reports
// whether it did.
func (a *announced) first(addr report.Address, kind string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m[addr] != "" {
		return false
	}
	if a.m == nil {
		a.m = map[report.Address]string{}
	}
	a.m[addr] = kind
	return true
}

// makesOutput lists the actions whose success is a "completed" event.
var makesOutput = map[reconcile.Action]bool{reconcile.Create: true, reconcile.Replace: true, reconcile.Reuse: true, reconcile.Resume: true,
	reconcile.Retry: true, reconcile.Restore: true}

// observe turns how reconciling c ended into notification events. It
// never blocks (notify.Hub.Send does not).
func (d *Daemon) observe(c reconcile.Change, o reconcile.Outcome) {
	rec, _ := d.cfg.Store.Get(c.Address)
	e := notify.Event{Address: string(c.Address), Attempts: rec.Attempts, Revision: c.Revision}
	if c.Desired != nil {
		e.Output = c.Desired.Output
	}
	failure := func(fallback string) {
		switch {
		case rec.LastError != nil:
			e.Reason, e.Message = cmp.Or(rec.LastError.Code, fallback), rec.LastError.Message
		case o.Err != nil:
			e.Reason, e.Message = fallback, o.Err.Error()
		default:
			e.Reason = fallback
		}
	}
	switch o.Verdict {
	case reconcile.VerdictBlocked:
		if o.Err == nil || d.seen.swap(c.Address, notify.Blocked) == notify.Blocked {
			return // found blocked already, or told already
		}
		failure("Blocked")
		e.Event = notify.Blocked
		d.notify.Send(e)
	case reconcile.VerdictTransient:
		n := d.q.NumRequeues(string(c.Address))
		if api.IsUnreachable(o.Err) || n < d.failedAfter() {
			return
		}
		if !d.seen.first(c.Address, notify.Failed) {
			return // told already (of this, or of its being blocked)
		}
		failure("TransientFailure")
		e.Event = notify.Failed
		e.Message += "; failed " + strconv.Itoa(n) + " times in a row, still retried with backoff"
		d.notify.Send(e)
	case reconcile.VerdictDone:
		was := d.seen.swap(c.Address, "")
		if !makesOutput[c.Action] {
			return
		}
		blockedBefore := c.Record != nil && c.Record.Phase == state.Failed && c.Record.LastError != nil && c.Record.LastError.Permanent
		if was != "" || blockedBefore {
			r := e
			r.Event, r.Reason, r.Message = notify.Recovered, "Recovered", "completed after being "+cmp.Or(was, notify.Blocked)
			d.notify.Send(r)
		}
		e.Event, e.Reason, e.Message = notify.Completed, string(c.Action), "output written to "+e.Output
		d.notify.Send(e)
	}
}

// outageChanged is the endpoint's hook: err is the outage's cause when
// one begins, nil when it ends.
func (d *Daemon) outageChanged(err error) {
	if err != nil {
		d.notify.Send(notify.Event{Event: notify.Outage, Reason: "Unreachable", Message: err.Error()})
		return
	}
	d.notify.Send(notify.Event{Event: notify.OutageOver, Reason: "Reachable", Message: "the API can be used again"})
}

// manifestInvalid sends the manifests' errors, at most the first ten,
// with the revision that does not load (with a source).
func (d *Daemon) manifestInvalid(err error, revision string) {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) > 10 {
		lines = append(lines[:10], "… and "+strconv.Itoa(len(lines)-10)+" more")
	}
	d.notify.Send(notify.Event{Event: notify.ManifestInvalid, Reason: "ManifestInvalid", Message: strings.Join(lines, "\n"), Revision: revision})
}
