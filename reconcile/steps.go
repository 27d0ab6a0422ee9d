package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/internal/backoff"
	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/state"
)

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

// 2. Upload the statements, as they are now.
func (j *job) upload(ctx context.Context) error {
	cl, err := j.r.client(ctx)
	if err != nil {
		return j.fail(ctx, "upload", err)
	}
	files := make([]api.File, len(j.rec.Spec.Statements))
	changed := false
	var total int64
	for i, p := range j.rec.Spec.Statements {
		data, f, err := readStatement(j.r.Dir, p, api.MaxUploadBytes-total)
		var tl *fsutil.TooLargeError
		switch {
		case errors.As(err, &tl):
			return j.fail(ctx, "upload", statementError(p, tooLarge(err, total)))
		case err != nil:
			return j.fail(ctx, "upload", &localError{code: CodeStatement, err: statementError(p, err)})
		}
		total += int64(len(data))
		files[i] = api.File{Name: filepath.Base(filepath.FromSlash(p)), Data: data}
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
	up, err := cl.Upload(ctx, files...)
	if err != nil {
		return j.fail(ctx, "upload", err)
	}
	j.rec.UploadID, j.rec.ProcessID, j.rec.Phase = up.RequestID, "", state.Uploaded
	return j.recorded("upload", "")
}

// readStatement reads a statement of at most limit bytes through one
// open file, and returns its bytes with a fingerprint whose stat was
// taken before the read (see fsutil.ReadRegular).
func readStatement(dir, path string, limit int64) ([]byte, state.File, error) {
	data, st, err := fsutil.ReadRegular(resolve(dir, path), limit)
	if err != nil {
		return nil, state.File{}, err
	}
	return data, fileOf(path, st, fsutil.Hash(data)), nil
}

// 3. Request the operations on the upload.
func (j *job) process(ctx context.Context) error {
	cl, err := j.r.client(ctx)
	if err != nil {
		return j.fail(ctx, "process", err)
	}
	pctx, cancel, err := j.hold(ctx)
	if err != nil {
		return err
	}
	s := j.rec.Spec
	pr, err := cl.Process(pctx, j.rec.UploadID, api.ProcessRequest{Country: s.Country, Operations: s.Operations, Params: s.Params})
	if err != nil && ctx.Err() == nil && pctx.Err() != nil {
		err = &localError{code: CodeLease, err: fmt.Errorf("the processing request did not end within the report's lease; "+
			"it may have reached the API, in which case the next attempt starts from a new upload: %w", err)}
	}
	cancel()
	switch {
	case api.IsAlreadyRequested(err), api.IsNotFound(err), api.IsGone(err):
		// The upload was processed by a run that died before recording
		// the processing id, or it expired: start again from a new
		// upload (docs/engine-contract.md, row 5); never guess the
		// earlier id.
		return j.restart(ctx, "process", err)
	case err != nil:
		return j.fail(ctx, "process", err)
	}
	j.rec.ProcessID, j.rec.Phase = pr.RequestID, state.Processing
	j.requested = time.Now()
	return j.recorded("process", "")
}

// hold bounds a call that must not be made twice by the report's lease,
// when the Store has leases (Holder): the lease renewed now, in a
// committed write, and the context ended at the instant Hold returns. A
// renewal that fails is an unrecorded, retryable error: no call.
func (j *job) hold(ctx context.Context) (context.Context, context.CancelFunc, error) {
	h, ok := j.r.Store.(Holder)
	if !ok {
		return ctx, func() {}, nil
	}
	until, err := h.Hold(ctx, j.rec.Address)
	switch {
	case err != nil:
		return nil, nil, &unrecordedError{fmt.Errorf("renew the lease of %s before its processing request: %w", j.rec.Address, err)}
	case until.IsZero(): // no lease to hold: the Store has one writer
		return ctx, func() {}, nil
	}
	pctx, cancel := context.WithDeadline(ctx, until)
	return pctx, cancel, nil
}

// 4. Poll until the result is ready, then 5. write it.
//
// A recorded processing id is given up only when the API says so: the id
// is forgotten (404) or expired (410), its processing failed for good
// (TIMEOUT_PROCESSING), it answered nothing but errors until the poll
// deadline, or it answered 500 UNKNOWN_ERROR poll after poll while the
// results of other ids answered (brokenID: the engine, and perhaps the
// service, reports some processing failures so, which cannot be told
// from an outage at one answer). Otherwise a 5xx, a 429 or a network
// failure is an outage: it is polled through with backoff, never a
// reason to upload again. At the
// deadline with the API still saying "processing", the id is kept for
// the next attempt.
func (j *job) poll(ctx context.Context) error {
	cl, err := j.r.client(ctx)
	if err != nil {
		return j.fail(ctx, "poll", err)
	}
	res, err := j.waitResult(ctx, cl)
	var pd *pollDeadlineError
	switch {
	case api.IsGone(err), api.IsNotFound(err):
		return j.restart(ctx, "poll", err)
	case api.IsProcessingFailed(err), errors.As(err, &pd) && pd.last != nil, errors.As(err, new(*brokenResultError)):
		// The processing failed: its id is spent. Record the failure as
		// transient; a retry starts from a new upload.
		j.rec.UploadID, j.rec.ProcessID = "", ""
		return j.fail(ctx, "poll", err)
	case err != nil:
		return j.fail(ctx, "poll", err)
	}
	j.r.emit(j.event("poll", "ok"))
	return j.write(ctx, res)
}

// waitResult polls the recorded processing id until the result is done,
// the API gives a final answer, or the deadline passes.
//
// The schedule: for a request made in this run, once pollTimes knows how
// long this endpoint's reports of the same operations take, the first
// poll comes a fiftieth after that, and each "not yet" is asked again
// after a twentieth of the time since the request (at least 100 ms, or
// PollMin if lower): about one GET a result, seen at most a twentieth
// (or 100 ms) late. Otherwise, and through outages, the polls start at once
// and back off from PollMin, doubling, jittered, to PollMax. A "not yet"
// with a Retry-After is asked again after that, whatever the schedule.
func (j *job) waitResult(ctx context.Context, cl API) (*api.Result, error) {
	lo := cmp.Or(max(j.r.PollMin, 0), DefaultPollMin)
	hi := cmp.Or(max(j.r.PollMax, 0), DefaultPollMax)
	limit := cmp.Or(max(j.r.PollDeadline, 0), DefaultPollDeadline)
	id := j.rec.ProcessID
	deadline := time.Now().Add(limit)
	key := opsKey(j.rec.Spec.Operations)
	est, learned := j.r.polls.estimate(key)
	learned = learned && !j.requested.IsZero()
	if learned {
		if err := backoff.Sleep(ctx, min(time.Until(j.requested.Add(est+est/50)), time.Until(deadline))); err != nil {
			return nil, context.Cause(ctx)
		}
	}
	wait := lo
	var last error           // the answer of the last poll, if it was an error
	status := ""             // the last status the API gave, "" while it gave none
	outage := false          // an outage event was emitted for the current run of errors
	polls := 0               // the polls that got an answer
	troubled := false        // an outage came between: the timing says nothing
	var brokenSince int64    // resultsAnswered when the first poll of this id's run of 500 UNKNOWN_ERROR answers asked
	broken := 0              // how many polls of that run
	var notYet time.Duration // since the request, when the last "not yet" came
	for {
		asked := time.Since(j.requested)  // when this poll asked, since the request
		answered := j.r.resultsAnswered() // what other polls had been answered when this one asked
		res, err := cl.Result(ctx, id)
		if err == nil || !isServerFailure(err) {
			brokenSince, broken = 0, 0
		}
		var next time.Duration // the schedule's own wait before the next poll, when it has one
		switch {
		case err == nil && res.Done():
			j.r.resultAnswered()
			j.r.lastDone.Store(id)
			if !troubled {
				j.learn(key, asked, polls, notYet)
			}
			return res, nil
		case err == nil:
			j.r.resultAnswered()
			last, status, outage = nil, cmp.Or(res.Status, "unknown"), false
			polls++
			if !j.requested.IsZero() {
				notYet = asked
			}
			switch {
			case res.RetryAfter > 0:
				next = res.RetryAfter
			case learned:
				next = max(notYet/20, min(lo, 100*time.Millisecond))
			}
		case ctx.Err() != nil:
			return nil, context.Cause(ctx)
		case api.IsProcessingFailed(err) || !api.IsTransient(err):
			return nil, err
		case isServerFailure(err) && j.brokenID(ctx, cl, &brokenSince, &broken, answered):
			return nil, &brokenResultError{id: id, last: err}
		default:
			// An outage: the client's own retries are spent, the id is
			// still good. Say so once per run of errors.
			last, troubled = err, true
			if !outage {
				e := j.event("poll", "retry")
				e.Error = err.Error()
				j.r.emit(e)
				outage = true
			}
		}
		d := backoff.Jitter(wait)
		if next > 0 {
			d = next
		}
		if time.Now().Add(d).After(deadline) {
			pd := &pollDeadlineError{id: id, limit: limit, status: status}
			if status == "" {
				pd.last = last // nothing but errors: the id is given up
			}
			return nil, pd
		}
		if err := backoff.Sleep(ctx, d); err != nil {
			return nil, context.Cause(ctx)
		}
		if next == 0 {
			wait = min(2*wait, hi)
		}
	}
}

// brokenAfter is how many polls in a row (each after the client's own
// retries) must answer 500 UNKNOWN_ERROR, while the API answers the polls
// of other ids, before a processing id is taken to be broken.
const brokenAfter = 2

// isServerFailure reports whether err is the API's own 500 UNKNOWN_ERROR
// answer (not a network failure, not a 503).
func isServerFailure(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Status == 500 && ae.Code == api.CodeUnknownError
}

// brokenID counts a poll that answered 500 UNKNOWN_ERROR, asked when
// the API had answered `answered` polls with success, and reports whether
// the id is broken: brokenAfter such polls in a row, the last of them
// asked after the API answered the poll of another id during the run (it
// answered someone while this id's run went on, and this id was asked
// again after that). Comparing when polls were asked, not when their
// answers came, keeps an outage that ends while a poll of this id is in
// flight from condemning the id: its 500 was the outage's. When no other
// poll happened meanwhile (the last reports of a run), the result of the
// last id seen completed is asked once, as a witness; if it answers, the
// next poll of this id decides. The engine (and, it seems, the service)
// answers a failed processing that way for as long as it keeps the id; an
// outage of the result endpoint answers every id so, the witness too, and
// then the ids are kept, polled to the deadline.
func (j *job) brokenID(ctx context.Context, cl API, since *int64, n *int, answered int64) bool {
	if *n == 0 {
		*since = answered
	}
	*n++
	if *n < brokenAfter {
		return false
	}
	if answered > *since {
		return true
	}
	if j.r.resultsAnswered() > *since {
		return false // answered meanwhile: the next poll of this id decides
	}
	if w, ok := j.r.lastDone.Load().(string); ok && w != "" {
		if _, err := cl.Result(ctx, w); err == nil {
			j.r.resultAnswered()
		}
	}
	return false
}

// learn tells pollTimes what a finished poll says of the processing
// time, for a request made in this run: ready when the poll that said so
// asked (asked, since the request: not when its answer came, which a
// retry inside the client, after a 429 say, may have delayed), after
// polls "not yet" answers, the last asked at notYet.
func (j *job) learn(key string, asked time.Duration, polls int, notYet time.Duration) {
	if j.requested.IsZero() {
		return
	}
	j.r.polls.observe(key, asked, polls, notYet)
}

func (j *job) write(ctx context.Context, res *api.Result) error {
	out := j.rec.Spec.Output
	f, written, err := writeOutput(j.r.Dir, out, res.Raw)
	if err != nil {
		return j.fail(ctx, "write", &localError{code: CodeOutput, err: fmt.Errorf("output %s: %w", out, err)})
	}
	j.rec.Output, j.rec.Phase, j.rec.LastError = &f, state.Completed, nil
	j.rec.Endpoint, j.rec.ReusedFrom = j.r.Endpoint, ""
	if err := j.recorded("write", out); err != nil {
		return err
	}
	j.pruneOld()
	if err := j.removePages(j.pagesRemoved); err != nil {
		return err
	}
	return j.writePage(ctx, written)
}

// pruneOld removes the output the report wrote at its old path, now that
// the new one is written and recorded, if it is still the file ledgerform
// wrote. The record no longer names it, so a failure is only told of.
func (j *job) pruneOld() {
	if j.old == nil || !outputIntact(j.r.Dir, j.old.Path, j.old) {
		return
	}
	e := Event{Address: j.rec.Address, Action: j.action, Step: "prune", Status: "ok", Output: j.old.Path}
	if err := os.Remove(resolve(j.r.Dir, j.old.Path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		e.Status, e.Error = "failed", fmt.Sprintf("prune %s: %v", j.old.Path, err)
	}
	j.r.emit(e)
}

// recorded records the step just done, then tells of it, with the output
// path it wrote.
func (j *job) recorded(step, output string) error {
	if err := j.put(); err != nil {
		return err
	}
	e := j.event(step, "ok")
	e.Output = output
	j.r.emit(e)
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
	j.r.emit(e)
	j.rec.UploadID, j.rec.ProcessID, j.rec.Phase = "", "", state.Pending
	return j.put()
}

// fail records a failed step. A cancelled context is not a failure of
// the report: the phase stays where it was, for the next run to resume.
// But when the cancellation's cause is an API that cannot be reached (the
// daemon stopping during an outage), the record keeps that cause as its
// last error, in the same phase: the state then says why the report got
// no further.
func (j *job) fail(ctx context.Context, step string, err error) error {
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if api.IsUnreachable(cause) {
			j.rec.LastError = &state.Failure{Message: cause.Error(), Step: step, Code: errorCode(cause)}
			if perr := j.put(); perr != nil {
				return perr
			}
		}
		return cause
	}
	f := &state.Failure{Message: err.Error(), Permanent: Blocking(err), Step: step, Code: errorCode(err)}
	j.rec.Phase, j.rec.LastError = state.Failed, f
	if perr := j.put(); perr != nil {
		return perr
	}
	e := j.event(step, "failed")
	e.Error, e.Permanent = err.Error(), f.Permanent
	j.r.emit(e)
	return err
}

// move renames the output to its new path: no remote call.
func (j *job) move(ctx context.Context, c Change) error {
	from, to := j.rec.Spec.Output, c.Desired.Output
	if err := fsutil.Rename(resolve(j.r.Dir, from), resolve(j.r.Dir, to)); err != nil {
		return j.fail(ctx, "move", &localError{code: CodeOutput, err: fmt.Errorf("move output %s to %s: %w", from, to, err)})
	}
	f := *j.rec.Output
	f.Path = to
	if fi, err := os.Stat(resolve(j.r.Dir, to)); err == nil {
		st := fsutil.StatOf(fi)
		f.MTime, f.Inode = st.MTime, st.Inode
	}
	j.rec.Spec, j.rec.Files, j.rec.Output = *c.Desired, c.Files, &f
	if err := j.recorded("move", to); err != nil {
		return err
	}
	if err := j.removePages(j.pagesRemoved); err != nil {
		return err
	}
	if c.PageMove != "" {
		return j.movePage(c.PageMove)
	}
	return j.render(ctx, Change{Record: &j.rec}) // a page wanted, none to move: render it
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

// delete forgets a report; when the plan says to prune, it also removes
// the output, if it is still the file ledgerform wrote.
func (j *job) delete(c Change) error {
	r := c.Record
	j.rec.Address = c.Address
	if c.Prune && outputIntact(j.r.Dir, r.Spec.Output, r.Output) {
		if err := os.Remove(resolve(j.r.Dir, r.Spec.Output)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return &localError{code: CodeOutput, err: fmt.Errorf("prune %s: %w", r.Spec.Output, err)}
		}
		j.r.emit(Event{Address: c.Address, Action: Delete, Step: "prune", Status: "ok", Output: r.Spec.Output})
	}
	if err := j.removePages(c.PagesRemoved); err != nil {
		return err
	}
	if err := j.r.Store.Delete(c.Address); err != nil {
		return j.r.storeFailure(fmt.Errorf("forget %s: %w", c.Address, err))
	}
	j.r.emit(Event{Address: c.Address, Action: Delete, Step: "delete", Status: "ok"})
	return nil
}
