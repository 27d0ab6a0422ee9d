package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// Defaults of a Reconciler's zero fields.
const (
	DefaultParallelism  = 4
	DefaultPollMin      = 500 * time.Millisecond
	DefaultPollMax      = 15 * time.Second
	DefaultPollDeadline = 30 * time.Minute
	maxRestarts         = 3 // new uploads per report and reconcile after NOT_FOUND, GONE or ALREADY_REQUESTED
)

// A Reconciler carries out changes: Reconcile takes one report through
// one linear step machine (upload → process → poll → write the output),
// and Apply runs it over a plan on a bounded pool of workers. Every
// transition is recorded in the Store before the next remote call, so a
// run killed at any instant resumes without losing a request id it
// received, and never processes a report twice once its processing id is
// recorded.
//
// It is the one place that decides a report's fate: the Verdict of each
// Outcome says whether the change is done, worth retrying, blocked until
// the manifests or statements change, interrupted, or fatal for the run.
// ledgerform apply and the daemon act on verdicts and on nothing else.
//
// The fields are set before first use and not changed after; the methods
// are safe for concurrent use, but two concurrent calls must not work on
// the same address (Apply never does; the daemon's queue never does).
type Reconciler struct {
	Dir   string // the working directory: recorded paths are relative to it
	Store Store
	// API is the report API. If it is nil, Connect is called the first
	// time a change needs the API (and again after a failed connection):
	// a run with nothing remote to do needs neither credentials nor an
	// engine.
	API     API
	Connect func(ctx context.Context) (API, error)
	// Parallelism bounds the reports Apply works on at once
	// (DefaultParallelism).
	Parallelism int
	// AllowMassDelete lifts the safety stop of Plan.MassDelete for Apply.
	AllowMassDelete bool
	// PollMin and PollMax bound the backoff between polls of a result;
	// PollDeadline bounds the whole wait of one Reconcile.
	PollMin, PollMax, PollDeadline time.Duration
	// Pages renders the HTML pages of reports with html: true
	// (pages.go); nil fails such a report's page step.
	Pages PageRenderer
	// Progress, if set, receives every step as it happens, one call at a
	// time.
	Progress func(Event)
	// Endpoint names the API (the base URL without user information, or
	// "embedded"): recorded with every result written (state.Record's
	// Endpoint), so that a plan reuses results of its own endpoint only.
	Endpoint string

	mu     sync.Mutex // serialises Progress
	connMu sync.Mutex // serialises Connect
	conn   API        // what Connect returned
	// polls learns how long processing takes (see pollTimes).
	polls pollTimes
	// answered counts the polls of a result the API answered with
	// success in this run (any id): the broken-id rule compares it before
	// and during a run of 500s of one id (see brokenID).
	answered atomic.Int64
	// lastDone is the last processing id whose result came back
	// completed: the witness brokenID asks when no other poll answered.
	lastDone atomic.Value
	// storeFailed is set by the first transition the store could not
	// record: the changes that fail to record after it are stopped by
	// it (errFatalStop), so that the run tells its cause once.
	storeFailed atomic.Bool
}

// An Event is one step of one report.
type Event struct {
	Time      time.Time      `json:"time"`
	Address   report.Address `json:"address"`
	Action    Action         `json:"action"`
	Step      string         `json:"step"`   // start, upload, process, poll, write, reuse, move, prune, delete, done
	Status    string         `json:"status"` // ok, failed, restart, retry (an outage while polling), fallback (a reuse that does the work instead)
	UploadID  string         `json:"upload_id,omitempty"`
	ProcessID string         `json:"process_id,omitempty"`
	Output    string         `json:"output,omitempty"`
	Error     string         `json:"error,omitempty"`
	Permanent bool           `json:"permanent,omitempty"` // the failure blocks the report
	Elapsed   time.Duration  `json:"elapsed_ns,omitempty"`
}

// A Verdict is how reconciling one change ended, and so what comes next.
type Verdict uint8

// The verdicts.
const (
	// VerdictDone: the change is carried out, or there was nothing to do.
	VerdictDone Verdict = iota + 1
	// VerdictTransient: it failed in a way that may pass (the network, the
	// API's 429 and 5xx, credentials, a local file, the poll deadline, a
	// state database that cannot record a transition now or a lease lost:
	// state.Retryable). The record says how far it got; try again after a
	// backoff.
	VerdictTransient
	// VerdictBlocked: the API refused what the report asks (its statements
	// or its spec), or the report was blocked already. Trying again is
	// pointless until the statements or the spec change, or --replace.
	VerdictBlocked
	// VerdictInterrupted: the context ended first. The record stays in its
	// phase, to be resumed; nothing failed.
	VerdictInterrupted
	// VerdictFatal: a transition could not be recorded. No further remote
	// call may be made: the run must stop (the record on disk is still
	// consistent, at the last transition that was recorded).
	VerdictFatal
)

var verdictNames = [...]string{VerdictDone: "done", VerdictTransient: "transient", VerdictBlocked: "blocked",
	VerdictInterrupted: "interrupted", VerdictFatal: "fatal"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) && verdictNames[v] != "" {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", v)
}

// An Outcome is how reconciling one change ended.
type Outcome struct {
	Address report.Address
	Action  Action
	Verdict Verdict
	Err     error // nil for VerdictDone, and for a Blocked, Suspended or Noop change that did nothing
	Started bool  // false for a change Apply never started (the run stopped first)
	// RetryAfter, for a transient outcome, is the soonest another attempt
	// is worth making: QuotaBackoff after the API's quota answer; zero
	// when the caller's own backoff decides.
	RetryAfter time.Duration
}

// QuotaBackoff is how long a report waits after the API said its quota
// of processing records is used up (EXCEEDED_LIMIT): records expire over
// hours, so seconds of backoff would only spend requests.
const QuotaBackoff = 10 * time.Minute

// Result is what an apply did.
type Result struct {
	Outcomes []Outcome // one per change, in plan order
}

// Failed counts the changes that did not succeed.
func (r *Result) Failed() int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Err != nil {
			n++
		}
	}
	return n
}

// Apply carries out every change of p on a pool of Parallelism workers.
// It returns an error only when it could not start — the mass-delete stop,
// or, when the plan needs the API, no connection to it (Reach: nothing is
// started or recorded then, so the state does not get one identical
// failure per report) — or when a transition could not be recorded (then
// the remaining work is abandoned, since a transition that cannot be
// recorded must not be made); how each report ended is its Outcome.
func (r *Reconciler) Apply(ctx context.Context, p *Plan) (*Result, error) {
	if err := p.MassDelete(); err != nil && !r.AllowMassDelete {
		return nil, err
	}
	if p.Remote() {
		if err := r.Reach(ctx); err != nil {
			return nil, err
		}
	}
	n := r.Parallelism
	if n <= 0 {
		n = DefaultParallelism
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	res := &Result{Outcomes: make([]Outcome, len(p.Changes))}
	// The deletes of records another change reuses come last: a renamed
	// report copies the old output before the old one is pruned.
	first, last := reuseOrder(p)
	for _, batch := range [][]int{first, last} {
		r.applyBatch(ctx, cancel, p, batch, n, res)
	}
	for _, o := range res.Outcomes {
		if o.Verdict == VerdictFatal {
			return res, o.Err
		}
	}
	return res, nil
}

// reuseOrder splits the indices of p's changes into those to carry out
// first and the deletes of reuse sources, to carry out after them.
func reuseOrder(p *Plan) (first, last []int) {
	sources := map[*state.Record]bool{}
	for _, c := range p.Changes {
		if c.Action == Reuse {
			sources[c.Source] = true
		}
	}
	for i, c := range p.Changes {
		if c.Action == Delete && sources[c.Record] {
			last = append(last, i)
		} else {
			first = append(first, i)
		}
	}
	return first, last
}

// applyBatch carries out the changes of p at the indices todo on up to n
// workers, and waits for them.
func (r *Reconciler) applyBatch(ctx context.Context, cancel context.CancelCauseFunc, p *Plan, todo []int, n int, res *Result) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(n, max(1, len(todo))) {
		wg.Go(func() {
			for i := range work {
				o := r.Reconcile(ctx, p.Changes[i])
				if o.Verdict == VerdictFatal {
					cancel(errFatalStop)
				}
				res.Outcomes[i] = o
			}
		})
	}
	defer wg.Wait()
	defer close(work)
	for k, i := range todo {
		c := p.Changes[i]
		if !c.Action.Changes() && c.Action != Error {
			res.Outcomes[i] = r.Reconcile(ctx, c) // nothing to do: no worker needed
			continue
		}
		select {
		case work <- i:
		case <-ctx.Done():
			// The rest is not started (a noop or blocked one is what it is).
			for _, j := range todo[k:] {
				res.Outcomes[j] = r.Reconcile(ctx, p.Changes[j])
			}
			return
		}
	}
}

// Reconcile carries out one planned change and says how it ended. The
// change should be planned just before (NewPlan with the address as its
// one target, for the daemon): it acts on the record the plan read.
func (r *Reconciler) Reconcile(ctx context.Context, c Change) Outcome {
	o := Outcome{Address: c.Address, Action: c.Action}
	switch c.Action {
	case Noop, Suspended:
		o.Verdict = VerdictDone
		return o
	case Blocked:
		o.Verdict = VerdictBlocked
		return o
	}
	if err := context.Cause(ctx); err != nil {
		o.Verdict, o.Err = VerdictInterrupted, err // not started: nothing done, nothing recorded
		return o
	}
	o.Started = true
	start := time.Now()
	if c.Action != Error {
		r.emit(Event{Address: c.Address, Action: c.Action, Step: "start", Status: "ok"})
	}
	j := &job{r: r, action: c.Action, page: c.Page, pagesRemoved: c.PagesRemoved}
	if c.PruneOld && c.Record != nil && c.Record.Output != nil {
		old := *c.Record.Output
		old.Path = c.Record.Spec.Output
		j.old = &old
	}
	err := j.run(ctx, c)
	o.Err, o.Verdict = err, verdict(ctx, err)
	if o.Verdict == VerdictTransient && api.IsQuota(err) {
		o.RetryAfter = QuotaBackoff
	}

	status := "ok"
	if err != nil {
		status = "failed"
	}
	e := j.event("done", status)
	e.Address, e.Elapsed = c.Address, time.Since(start)
	if err != nil {
		e.Error = err.Error()
		e.Permanent = o.Verdict == VerdictBlocked
	}
	if c.Action != Delete && c.Action != Error {
		e.Output = j.rec.Spec.Output
	}
	r.emit(e)
	return o
}

// errFatalStop is the cause Apply cancels the other changes with when one
// could not record a transition: they are interrupted, not fatal.
var errFatalStop = errors.New("stopped: the state could not record a transition")

// verdict classifies how a change's work ended. A change whose work was
// done and recorded is done, even if the context ended just after.
func verdict(ctx context.Context, err error) Verdict {
	var se *storeError
	switch {
	case err == nil:
		return VerdictDone
	case errors.As(err, &se):
		return VerdictFatal
	case errors.As(err, new(*unrecordedError)):
		return VerdictTransient
	case ctx.Err() != nil, errors.Is(err, errFatalStop):
		return VerdictInterrupted
	case Blocking(err):
		return VerdictBlocked
	}
	return VerdictTransient
}

// Reach connects to the API if need be, and checks that work can start
// at all (API.Probe): that a connection can be made, and that the API does
// not refuse the client. It returns a *ConnectError when either fails — an
// endpoint that is wrong or down (api.IsUnreachable), credentials the
// token endpoint refuses (api.IsPermanent) — since that concerns every
// report alike: Apply stops before starting any, and the daemon holds its
// work until Reach succeeds again. An answer that may pass (429, 5xx) is
// not its concern: the reports' own retries outlast it, or record it.
// Once work has started, a connection that fails is each report's
// transient failure, retried as any other.
func (r *Reconciler) Reach(ctx context.Context) error {
	cl, err := r.client(ctx)
	if err != nil {
		return err
	}
	if err := cl.Probe(ctx); api.IsUnreachable(err) || api.IsPermanent(err) {
		return &ConnectError{Err: err}
	}
	return nil
}

// client returns the API, connecting on first use.
func (r *Reconciler) client(ctx context.Context) (API, error) {
	if r.API != nil {
		return r.API, nil
	}
	r.connMu.Lock()
	defer r.connMu.Unlock()
	if r.conn != nil {
		return r.conn, nil
	}
	if r.Connect == nil {
		return nil, &ConnectError{Err: errors.New("no API configured")}
	}
	cl, err := r.Connect(ctx)
	if err != nil {
		return nil, &ConnectError{Err: err}
	}
	r.conn = cl
	return cl, nil
}

func (r *Reconciler) emit(e Event) {
	if r.Progress == nil {
		return
	}
	e.Time = time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Progress(e)
}

// resultAnswered notes that the API just answered a poll with success.
func (r *Reconciler) resultAnswered() { r.answered.Add(1) }

// resultsAnswered is how many polls the API has answered with success so
// far in this run.
func (r *Reconciler) resultsAnswered() int64 { return r.answered.Load() }

// storeFailure is what a change returns when the store could not record
// its transition: a storeError for the first, errFatalStop after it.
func (r *Reconciler) storeFailure(err error) error {
	if r.storeFailed.Swap(true) {
		return errFatalStop
	}
	return &storeError{err}
}

// storeError is a failure to record a transition: fatal for the run.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// job is one report being worked on: its record and how the work goes.
type job struct {
	r        *Reconciler
	action   Action
	rec      state.Record
	restarts int
	// old is the output to remove once the new one is written
	// (Change.PruneOld), as recorded when it was written.
	old *state.File
	// page is the HTML page to write after the output, pagesRemoved the
	// pages to remove (Change.Page, Change.PagesRemoved).
	page         string
	pagesRemoved []string
	// requested is when this job's processing request was accepted; zero
	// when the job resumed a request made before (its start is unknown,
	// so it teaches pollTimes nothing).
	requested time.Time
}

func (j *job) put() error {
	j.rec.Updated = time.Now().UTC()
	if err := j.r.Store.Put(j.rec); err != nil {
		if state.Retryable(err) {
			// A database that cannot be used now, or a lease lost: this
			// report stops before its next remote call, and is tried
			// again from what is recorded; the run goes on.
			return &unrecordedError{fmt.Errorf("record %s: %w", j.rec.Address, err)}
		}
		return j.r.storeFailure(fmt.Errorf("record %s: %w", j.rec.Address, err))
	}
	return nil
}

// unrecordedError is a transition the store refused for a reason that may
// pass (state.Retryable): transient for the report, not fatal for the run.
type unrecordedError struct{ err error }

func (e *unrecordedError) Error() string { return e.err.Error() }
func (e *unrecordedError) Unwrap() error { return e.err }

func (j *job) event(step, status string) Event {
	return Event{Address: j.rec.Address, Action: j.action, Step: step, Status: status,
		UploadID: j.rec.UploadID, ProcessID: j.rec.ProcessID}
}

// run carries out one change: the pipeline, in the order the work happens.
func (j *job) run(ctx context.Context, c Change) error {
	if c.Action == Reuse {
		// Copy the source's result; if it is no longer there, do the
		// work as a create (or replace) would.
		if err := j.reuse(ctx, c); !errors.Is(err, errNoSource) {
			return err
		}
		c.Action = Create
	}
	switch c.Action {
	case Error:
		return c.Err
	case Delete:
		return j.delete(c)
	case Move:
		j.rec = c.Record.Clone() // the plan's may be the store's own
		j.rec.Revision = c.Revision
		return j.move(ctx, c)
	case Render:
		return j.render(ctx, c)
	case Restore:
		j.rec = c.Record.Clone()
		j.rec.Spec, j.rec.Files, j.rec.Revision = *c.Desired, c.Files, c.Revision
		return j.restore(ctx)
	case Create, Replace:
		// 1. Record pending: the spec and the files' fingerprints.
		attempts := 0
		if c.Record != nil {
			attempts = c.Record.Attempts
		}
		j.rec = state.Record{Address: c.Address, Spec: *c.Desired, Digest: c.Digest, Files: c.Files,
			Phase: state.Pending, Attempts: attempts + 1, Revision: c.Revision}
	case Resume, Retry:
		j.rec = c.Record.Clone()
		j.rec.Spec, j.rec.Files, j.rec.Revision = *c.Desired, c.Files, c.Revision
		if j.rec.Phase == state.Failed {
			j.rec.Phase = resumePhase(j.rec)
			j.rec.Attempts++
		}
	default:
		return fmt.Errorf("%s: unknown action %q", c.Address, c.Action)
	}
	if err := j.put(); err != nil {
		return err
	}
	return j.walk(ctx)
}
