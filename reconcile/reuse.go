package reconcile

// Content-addressed reuse.
//
// A report's Digest is the identity of what it asks the API for: its
// statements' bytes in order, operations, country and params. Two reports
// of the same digest get the same answer, so when a create, a replace, or
// a retry that would start from a new upload has the digest of a report
// that completed — another report, the same report under its old name, a
// file dropped again under a new name — the plan makes it a Reuse of that
// report (its Source): applying it copies the source's output, byte for
// byte, to this report's output path and records it completed, with the
// source's request ids, endpoint and the source's address (ReusedFrom).
// No remote call is made.
//
// The rules:
//
//   - Only a record of the endpoint the plan is made for (Options.Endpoint,
//     Record.Endpoint) is a source: reuse never crosses endpoints, and a
//     record that does not say its endpoint (written before state format
//     4, or by a watch whose endpoint the manifests name) is never one.
//   - The source is completed, and its output file is still the one it
//     recorded (the stat, or the hash when the stat changed, matches). The
//     plan checks this; applying checks it again by hashing the bytes it
//     copies. If the source's output is missing, edited or unreadable at
//     either moment, the report is created as usual (the plan says so
//     among its reasons, apply with a "fallback" event): reuse is a
//     shortcut, never a reason to fail.
//   - Of several sources the first by address is taken.
//   - A report forced with --replace (Options.Replace) is done from
//     scratch, never reused: that is what forcing it asks.
//   - A delete in the same plan whose record is a source is carried out
//     after every other change (Apply), so that a renamed report with
//     prune on copies its old output before the old output is pruned.
//   - Two new reports of the same digest in one plan both do the work:
//     neither has a completed source when the plan is made.
//
// What is recorded before what: the output is written crash-safely
// (temp file, fsync, rename, fsync of the directory), then the record is
// put as completed. A crash between the two leaves the new output with
// the old record (or none), which the next plan sees as the same create
// or replace again and reuses again; there is no remote request whose id
// could be lost, so no pending record needs to come first.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/state"
)

// reusable reports whether c would do remote work from scratch, which a
// completed record of the same digest could spare it.
func reusable(c *Change) bool {
	switch c.Action {
	case Create, Replace:
		return c.Digest != ""
	case Retry:
		// A retry holding no request id starts from a new upload.
		return c.Digest != "" && c.Record != nil && c.Record.UploadID == "" && c.Record.ProcessID == ""
	}
	return false
}

// findReuse turns each reusable change whose digest a completed record of
// endpoint has, with its output intact, into a Reuse of that record. The
// records are looked at only when some change is reusable: a no-op plan
// lists nothing.
func (p *Plan) findReuse(dir string, st Store, opts Options) {
	want := map[string]bool{}
	for i := range p.Changes {
		if c := &p.Changes[i]; reusable(c) && !slices.Contains(opts.Replace, c.Address) {
			want[c.Digest] = true
		}
	}
	if len(want) == 0 {
		return
	}
	sources := map[string][]*state.Record{} // by digest, in address order
	for _, a := range st.Addresses() {
		r, ok := st.View(a)
		if ok && want[r.Digest] && r.Phase == state.Completed && r.Output != nil && r.Endpoint == opts.Endpoint {
			sources[r.Digest] = append(sources[r.Digest], r)
		}
	}
	intact := map[*state.Record]bool{}
	for i := range p.Changes {
		c := &p.Changes[i]
		if !reusable(c) || slices.Contains(opts.Replace, c.Address) {
			continue
		}
		for _, src := range sources[c.Digest] {
			if src.Address == c.Address {
				continue
			}
			ok, seen := intact[src]
			if !seen {
				ok = outputIntact(dir, src.Spec.Output, src.Output)
				intact[src] = ok
			}
			if !ok {
				c.Reasons = append(c.Reasons, fmt.Sprintf("%s has the same result, but its output %s is missing or edited: not reused", src.Address, src.Spec.Output))
				continue
			}
			c.Action, c.Source = Reuse, src
			c.Reasons = append(c.Reasons, fmt.Sprintf("%s has the same statements and spec, completed: its result is copied from %s, with no remote call",
				src.Address, src.Spec.Output))
			break
		}
	}
}

// errNoSource is why a Reuse falls back to the work itself: the source's
// output is no longer what it recorded.
var errNoSource = errors.New("the source's output is no longer the one it recorded")

// reuse carries out a Reuse: it copies the source's output, if it is
// still the file the source recorded, to this report's output path, then
// records the report completed. It returns errNoSource, having changed
// nothing, when the source's output is missing, edited or unreadable.
func (j *job) reuse(ctx context.Context, c Change) error {
	src := c.Source
	j.rec.Address = c.Address
	data, _, err := fsutil.ReadRegular(resolve(j.r.Dir, src.Spec.Output), src.Output.Size)
	if err == nil && fsutil.Hash(data) != src.Output.SHA256 {
		err = errors.New("it was edited")
	}
	if err != nil {
		e := j.event("reuse", "fallback")
		e.Error = fmt.Sprintf("the output %s of %s cannot be reused (%v): doing the work instead", src.Spec.Output, src.Address, err)
		j.r.emit(e)
		return errNoSource
	}
	attempts := 0
	if c.Record != nil {
		attempts = c.Record.Attempts
	}
	j.rec = state.Record{Address: c.Address, Spec: *c.Desired, Digest: c.Digest, Files: c.Files,
		Phase: state.Pending, Attempts: attempts + 1, Revision: c.Revision}
	out := j.rec.Spec.Output
	f, err := writeBytes(j.r.Dir, out, data)
	if err != nil {
		return j.fail(ctx, "write", &localError{code: CodeOutput, err: fmt.Errorf("output %s: %w", out, err)})
	}
	j.rec.Phase, j.rec.Output = state.Completed, &f
	j.rec.UploadID, j.rec.ProcessID = src.UploadID, src.ProcessID
	j.rec.Endpoint, j.rec.ReusedFrom = src.Endpoint, src.Address
	if err := j.recorded("reuse", out); err != nil {
		return err
	}
	j.pruneOld()
	if err := j.removePages(j.pagesRemoved); err != nil {
		return err
	}
	return j.writePage(ctx, data)
}
