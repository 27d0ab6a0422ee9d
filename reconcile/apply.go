package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/state"
)

// Defaults of an Applier's zero fields.
const (
	DefaultParallelism  = 4
	DefaultPollMin      = 500 * time.Millisecond
	DefaultPollMax      = 15 * time.Second
	DefaultPollDeadline = 30 * time.Minute
	maxRestarts         = 3 // new uploads per report and apply after NOT_FOUND, GONE or ALREADY_REQUESTED
)

// Local error codes recorded in the state beside the API's own.
const (
	CodeStatement    = "STATEMENT_UNREADABLE" // a statement file could not be read
	CodePollDeadline = "POLL_DEADLINE"        // the result was not ready in time
	CodeOutput       = "OUTPUT_UNWRITABLE"    // the output file could not be written
	CodeRestarts     = "TOO_MANY_RESTARTS"    // the API kept forgetting the upload
)

// An Applier carries out plans: one linear step machine per report
// (upload → process → poll → write the output), run by a bounded pool of
// workers. Every transition is recorded in the Store before the next
// remote call, so an apply killed at any instant resumes without losing a
// request id it received, and never processes a report twice once its
// processing id is recorded.
type Applier struct {
	Dir   string // the working directory: recorded paths are relative to it
	Store Store
	API   API
	// Parallelism bounds the reports worked on at once (DefaultParallelism).
	Parallelism int
	// Prune removes the output of a deleted report (only if it is still
	// the file ledgerform wrote).
	Prune bool
	// AllowMassDelete lifts the safety stop that refuses a plan deleting
	// more than half of the recorded reports.
	AllowMassDelete bool
	// PollMin and PollMax bound the backoff between polls of a result;
	// PollDeadline bounds the whole wait (a transient failure after it).
	PollMin, PollMax, PollDeadline time.Duration
	// Progress, if set, receives every step as it happens, one call at a
	// time.
	Progress func(Event)

	mu sync.Mutex // serialises Progress
}

// An Event is one step of one report.
type Event struct {
	Time      time.Time     `json:"time"`
	Address   string        `json:"address"`
	Action    Action        `json:"action"`
	Step      string        `json:"step"`   // start, upload, process, poll, write, move, delete, done
	Status    string        `json:"status"` // ok, failed, skipped
	UploadID  string        `json:"upload_id,omitempty"`
	ProcessID string        `json:"process_id,omitempty"`
	Output    string        `json:"output,omitempty"`
	Error     string        `json:"error,omitempty"`
	Permanent bool          `json:"permanent,omitempty"`
	Elapsed   time.Duration `json:"elapsed_ns,omitempty"`
}

// An Outcome is how applying one change ended.
type Outcome struct {
	Address string
	Action  Action
	Err     error // nil when the change was carried out
}

// Result is what an apply did.
type Result struct {
	Outcomes []Outcome // one per change that was worked on, in plan order
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

// MassDeleteError is the safety stop: a plan that would delete more than
// half of the recorded reports is refused unless explicitly allowed.
type MassDeleteError struct{ Deletes, Recorded int }

func (e *MassDeleteError) Error() string {
	return fmt.Sprintf("the plan deletes %d of %d recorded reports (more than half); refusing", e.Deletes, e.Recorded)
}

// Apply carries out every change of p. It returns an error only when it
// could not start (the mass-delete stop) or the state could not be
// written (then the remaining work is abandoned, since a transition that
// cannot be recorded must not be made); a failed report is an Outcome.
func (a *Applier) Apply(ctx context.Context, p *Plan) (*Result, error) {
	deletes := p.Summary()[Delete]
	if deletes > 0 && 2*deletes > p.Recorded && !a.AllowMassDelete {
		return nil, &MassDeleteError{Deletes: deletes, Recorded: p.Recorded}
	}
	n := a.Parallelism
	if n <= 0 {
		n = DefaultParallelism
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	res := &Result{Outcomes: make([]Outcome, len(p.Changes))}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(n, max(1, len(p.Changes))) {
		wg.Go(func() {
			for i := range work {
				c := p.Changes[i]
				err := a.applyOne(ctx, p, c)
				var se *storeError
				if errors.As(err, &se) {
					cancel(se)
				}
				res.Outcomes[i] = Outcome{Address: c.Address, Action: c.Action, Err: err}
			}
		})
	}
feed:
	for i, c := range p.Changes {
		if c.Action == Noop || c.Action == Blocked {
			res.Outcomes[i] = Outcome{Address: c.Address, Action: c.Action}
			continue
		}
		select {
		case work <- i:
		case <-ctx.Done():
			for j := i; j < len(p.Changes); j++ {
				res.Outcomes[j] = Outcome{Address: p.Changes[j].Address, Action: p.Changes[j].Action, Err: context.Cause(ctx)}
			}
			break feed
		}
	}
	close(work)
	wg.Wait()
	var se *storeError
	if err := context.Cause(ctx); errors.As(err, &se) {
		return res, se.err
	}
	return res, nil
}

// storeError is a failure to record a transition: fatal for the apply.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func (a *Applier) emit(e Event) {
	if a.Progress == nil {
		return
	}
	e.Time = time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Progress(e)
}

// job is one report being worked on: its record and how the work goes.
type job struct {
	a        *Applier
	action   Action
	rec      state.Record
	restarts int
}

func (j *job) put() error {
	j.rec.Updated = time.Now().UTC()
	if err := j.a.Store.Put(j.rec); err != nil {
		return &storeError{fmt.Errorf("record %s: %w", j.rec.Address, err)}
	}
	return nil
}

func (j *job) event(step, status string) Event {
	return Event{Address: j.rec.Address, Action: j.action, Step: step, Status: status,
		UploadID: j.rec.UploadID, ProcessID: j.rec.ProcessID}
}

// applyOne carries out one change.
func (a *Applier) applyOne(ctx context.Context, p *Plan, c Change) error {
	start := time.Now()
	if c.Action != Error {
		a.emit(Event{Address: c.Address, Action: c.Action, Step: "start", Status: "ok"})
	}
	j := &job{a: a, action: c.Action}
	var err error
	switch c.Action {
	case Error:
		err = c.Err
	case Delete:
		err = a.delete(p, c)
	case Move:
		j.rec = *c.Record
		err = j.move(ctx, c)
	case Restore:
		j.rec = *c.Record
		j.rec.Spec, j.rec.Files = *c.Desired, c.Files
		err = j.restore(ctx)
	case Create, Replace:
		attempts := 0
		if c.Record != nil {
			attempts = c.Record.Attempts
		}
		j.rec = state.Record{Address: c.Address, Spec: *c.Desired, Digest: c.Digest, Files: c.Files,
			Phase: state.Pending, Attempts: attempts + 1}
		if err = j.put(); err == nil {
			err = j.walk(ctx)
		}
	case Resume, Retry:
		j.rec = *c.Record
		j.rec.Spec, j.rec.Files = *c.Desired, c.Files
		if j.rec.Phase == state.Failed {
			j.rec.Phase = resumePhase(j.rec)
			j.rec.Attempts++
		}
		if err = j.put(); err == nil {
			err = j.walk(ctx)
		}
	}
	status := "ok"
	if err != nil {
		status = "failed"
	}
	e := j.event("done", status)
	e.Address, e.Elapsed = c.Address, time.Since(start)
	if err != nil {
		e.Error = err.Error()
		e.Permanent = Permanent(err)
	}
	if c.Action != Delete && c.Action != Error {
		e.Output = j.rec.Spec.Output
	}
	a.emit(e)
	return err
}

// resumePhase is where a failed report continues: from the furthest
// request id it holds.
func resumePhase(r state.Record) state.Phase {
	switch {
	case r.ProcessID != "":
		return state.Processing
	case r.UploadID != "":
		return state.Uploaded
	}
	return state.Pending
}

// walk is the step machine: it runs from the record's phase to
// completed, recording every transition before the next remote call.
func (j *job) walk(ctx context.Context) error {
	for {
		var err error
		switch j.rec.Phase {
		case state.Pending:
			err = j.upload(ctx)
		case state.Uploaded:
			err = j.process(ctx)
		case state.Processing:
			err = j.poll(ctx)
		case state.Completed:
			j.rec.LastError = nil
			return nil
		default:
			return fmt.Errorf("%s: cannot continue from phase %q", j.rec.Address, j.rec.Phase)
		}
		if err != nil {
			return err
		}
	}
}

// 1. Upload the statements, as they are now.
func (j *job) upload(ctx context.Context) error {
	files := make([]nordigen.File, len(j.rec.Spec.Statements))
	changed := false
	for i, p := range j.rec.Spec.Statements {
		data, f, err := readStatement(j.a.Dir, p)
		if err != nil {
			return j.fail(ctx, "upload", &localError{code: CodeStatement, err: statementError(p, err)})
		}
		files[i] = nordigen.File{Name: filepath.Base(filepath.FromSlash(p)), Data: data}
		if i >= len(j.rec.Files) || j.rec.Files[i].SHA256 != f.SHA256 {
			// Changed since the plan read it: record what is sent.
			if i < len(j.rec.Files) {
				j.rec.Files[i] = f
			} else {
				j.rec.Files = append(j.rec.Files, f)
			}
			changed = true
		}
	}
	if changed {
		j.rec.Digest = Digest(j.rec.Spec, j.rec.Files)
		if err := j.put(); err != nil {
			return err
		}
	}
	up, err := j.a.API.Upload(ctx, files...)
	if err != nil {
		return j.fail(ctx, "upload", err)
	}
	j.rec.UploadID, j.rec.ProcessID, j.rec.Phase = up.RequestID, "", state.Uploaded
	if err := j.put(); err != nil {
		return err
	}
	j.a.emit(j.event("upload", "ok"))
	return nil
}

// readStatement reads a statement through one open file, and returns its
// bytes with a fingerprint whose stat was taken before the read: if the
// file changes while it is read, the recorded stat is older than the file
// and the next plan hashes it again, rather than trusting a stat that
// goes with other bytes.
func readStatement(dir, path string) ([]byte, state.File, error) {
	fh, err := os.Open(resolve(dir, path))
	if err != nil {
		return nil, state.File{}, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, state.File{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, state.File{}, fmt.Errorf("not a regular file")
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		return nil, state.File{}, err
	}
	return data, state.File{Path: path, Size: fi.Size(), MTime: fi.ModTime().UnixNano(), Inode: inode(fi), SHA256: hashBytes(data)}, nil
}

// 2. Request the operations on the upload.
func (j *job) process(ctx context.Context) error {
	s := j.rec.Spec
	req := nordigen.ProcessRequest{Country: s.Country, Operations: s.Operations}
	if p := s.Params; p != nil {
		req.Params = &nordigen.Params{Period: p.Period, Currency: p.Currency, DropSharedAccounts: p.DropSharedAccounts,
			DropJointAccounts: p.DropJointAccounts, IncomeDefinition: p.IncomeDefinition, ExpenseDefinition: p.ExpenseDefinition}
	}
	pr, err := j.a.API.Process(ctx, j.rec.UploadID, req)
	switch {
	case nordigen.IsAlreadyRequested(err), nordigen.IsNotFound(err), nordigen.IsGone(err):
		// The upload was processed by a run that died before recording
		// the processing id, or it expired: start again from a new
		// upload (ENGINE-CONTRACT row 5); never guess the earlier id.
		return j.restart(ctx, "process", err)
	case err != nil:
		return j.fail(ctx, "process", err)
	}
	j.rec.ProcessID, j.rec.Phase = pr.RequestID, state.Processing
	if err := j.put(); err != nil {
		return err
	}
	j.a.emit(j.event("process", "ok"))
	return nil
}

// 3. Poll until the result is ready, then 4. write it.
func (j *job) poll(ctx context.Context) error {
	res, err := j.a.waitResult(ctx, j.rec.ProcessID)
	switch {
	case nordigen.IsGone(err), nordigen.IsNotFound(err):
		return j.restart(ctx, "poll", err)
	case processingFailed(err):
		// The processing itself failed: its id is spent. Record the
		// failure as transient; a retry starts from a new upload.
		j.rec.UploadID, j.rec.ProcessID = "", ""
		return j.fail(ctx, "poll", transient{err})
	case err != nil:
		return j.fail(ctx, "poll", err)
	}
	j.a.emit(j.event("poll", "ok"))
	return j.write(ctx, res)
}

func (j *job) write(ctx context.Context, res *nordigen.Result) error {
	out := j.rec.Spec.Output
	f, err := writeOutput(j.a.Dir, out, res.Raw)
	if err != nil {
		return j.fail(ctx, "write", &localError{code: CodeOutput, err: fmt.Errorf("output %s: %w", out, err)})
	}
	j.rec.Output, j.rec.Phase, j.rec.LastError = &f, state.Completed, nil
	if err := j.put(); err != nil {
		return err
	}
	e := j.event("write", "ok")
	e.Output = out
	j.a.emit(e)
	return nil
}

// restart forgets the request ids and goes back to a new upload, a few
// times at most.
func (j *job) restart(ctx context.Context, step string, cause error) error {
	j.restarts++
	if j.restarts > maxRestarts {
		return j.fail(ctx, step, &localError{code: CodeRestarts, err: fmt.Errorf("started again %d times: %w", maxRestarts, cause)})
	}
	e := j.event(step, "restart")
	e.Error = cause.Error()
	j.a.emit(e)
	j.rec.UploadID, j.rec.ProcessID, j.rec.Phase = "", "", state.Pending
	return j.put()
}

// fail records a failed step. A cancelled context is not a failure of
// the report: the phase stays where it was, for the next run to resume.
func (j *job) fail(ctx context.Context, step string, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	f := &state.Failure{Message: err.Error(), Permanent: Permanent(err), Step: step}
	var ae *nordigen.APIError
	var le *localError
	switch {
	case errors.As(err, &ae):
		f.Code = ae.Code
	case errors.As(err, &le):
		f.Code = le.code
	}
	j.rec.Phase, j.rec.LastError = state.Failed, f
	if perr := j.put(); perr != nil {
		return perr
	}
	e := j.event(step, "failed")
	e.Error, e.Permanent = err.Error(), f.Permanent
	j.a.emit(e)
	return err
}

// Permanent reports whether a failure needs a change to the statements or
// the spec before the report is worth trying again: the API refused the
// content or the request itself (a 4xx such as NO_SUITABLE_PARSERS or
// UNSUPPORTED_COUNTRY_REQUESTED), or the upload is too large. Failures of
// credentials (401, 403, anything at the token endpoint), of the network
// or TLS, of the local files and of the API's answers are transient: they
// are fixed outside the manifests, and the report must go on once they are,
// not stay blocked.
func Permanent(err error) bool {
	var t transient
	var le *localError
	var tl *nordigen.UploadTooLargeError
	var ae *nordigen.APIError
	switch {
	case err == nil, errors.As(err, &t), errors.As(err, &le):
		return false
	case errors.As(err, &tl):
		return true
	case errors.As(err, &ae):
		switch {
		case ae.Op == "token", ae.Status == http.StatusUnauthorized, ae.Status == http.StatusForbidden,
			ae.Status == http.StatusRequestTimeout, ae.Status == http.StatusTooManyRequests:
			return false
		}
		return ae.Permanent()
	}
	return false
}

// processingFailed reports whether err is the API's answer that the
// processing of a request failed (ENGINE-CONTRACT row 9).
func processingFailed(err error) bool {
	var ae *nordigen.APIError
	return errors.As(err, &ae) && (ae.Code == nordigen.CodeTimeoutProcessing || ae.Code == nordigen.CodeUnknownError)
}

// localError is a failure on this side of the API: a file that cannot be
// read or written. It is transient: the next run tries again.
type localError struct {
	code string
	err  error
}

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// transient marks an error as worth retrying whatever the API said.
type transient struct{ error }

func (t transient) Unwrap() error { return t.error }

// waitResult polls a result with a doubling, jittered backoff until it is
// done or the deadline passes.
func (a *Applier) waitResult(ctx context.Context, id string) (*nordigen.Result, error) {
	lo, hi, limit := a.PollMin, a.PollMax, a.PollDeadline
	if lo <= 0 {
		lo = DefaultPollMin
	}
	if hi <= 0 {
		hi = DefaultPollMax
	}
	if limit <= 0 {
		limit = DefaultPollDeadline
	}
	deadline := time.Now().Add(limit)
	wait := lo
	for {
		res, err := a.API.Result(ctx, id)
		if err != nil {
			return nil, err
		}
		if res.Done() {
			return res, nil
		}
		if time.Now().Add(wait).After(deadline) {
			return nil, &localError{code: CodePollDeadline, err: fmt.Errorf("result %s not ready after %s (status %q)", id, limit, res.Status)}
		}
		d := wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, context.Cause(ctx)
		case <-t.C:
		}
		wait = min(2*wait, hi)
	}
}

// move renames the output to its new path: no remote call.
func (j *job) move(ctx context.Context, c Change) error {
	from, to := j.rec.Spec.Output, c.Desired.Output
	if err := moveFile(j.a.Dir, from, to); err != nil {
		return j.fail(ctx, "move", &localError{code: CodeOutput, err: fmt.Errorf("move output %s to %s: %w", from, to, err)})
	}
	f := *j.rec.Output
	f.Path = to
	if fi, err := os.Stat(resolve(j.a.Dir, to)); err == nil {
		f.MTime, f.Inode = fi.ModTime().UnixNano(), inode(fi)
	}
	j.rec.Spec, j.rec.Files, j.rec.Output = *c.Desired, c.Files, &f
	if err := j.put(); err != nil {
		return err
	}
	e := j.event("move", "ok")
	e.Output = to
	j.a.emit(e)
	return nil
}

// restore fetches a completed result again and rewrites the output; if
// the API no longer has it, the report starts again from a new upload.
func (j *job) restore(ctx context.Context) error {
	if j.rec.ProcessID == "" {
		j.rec.Phase = state.Pending
	} else {
		j.rec.Phase = state.Processing
	}
	if err := j.put(); err != nil {
		return err
	}
	return j.walk(ctx)
}

// delete forgets a report; with Prune it also removes the output, when it
// is still the file ledgerform wrote.
func (a *Applier) delete(p *Plan, c Change) error {
	r := c.Record
	// A path another report writes now (a report renamed, say) is its
	// output, not this one's leftover.
	if a.Prune && r.Output != nil && !p.desiredOutput(r.Spec.Output) && outputIntact(a.Dir, r.Spec.Output, r.Output) {
		if err := os.Remove(resolve(a.Dir, r.Spec.Output)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("prune %s: %w", r.Spec.Output, err)
		}
		a.emit(Event{Address: c.Address, Action: Delete, Step: "prune", Status: "ok", Output: r.Spec.Output})
	}
	if err := a.Store.Delete(c.Address); err != nil {
		return &storeError{fmt.Errorf("forget %s: %w", c.Address, err)}
	}
	a.emit(Event{Address: c.Address, Action: Delete, Step: "delete", Status: "ok"})
	return nil
}
