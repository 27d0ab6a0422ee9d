package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/ledgerform/ledgerform/state"
)

// Import is the action of Reconciler.Import, in its Outcome and its
// Events. It is never planned, and so is not in Actions.
const Import Action = "import"

// Import adopts a processing request made outside ledgerform (by hand
// with curl, say: an upload, then a PUT of the operations, whose
// request-id is processID). c must be a Create change of a plan made just
// before: the report is in the manifests, its statements are readable,
// and it is not in the state. Import records it as processing with
// processID, as if this reconciler had requested it, with c's spec and
// the fingerprints of the statements the plan read, and then takes it
// down the rest of the step machine as Reconcile resumes a report: poll,
// write the output, record it completed. The next plan finds it up to
// date. Nothing is uploaded and no operation is requested.
//
// The API cannot say which statements and operations a processing id was
// made from: Import trusts that processID was requested for the report's
// statements as they are now, with its operations, country and params.
//
// First the API must be usable at all (Reach: an endpoint that cannot
// be reached, or refuses the client, is a *ConnectError within seconds).
// The id is checked with one GET of its result before anything is
// recorded: an id the API does not know (404: a mistyped id, or an upload
// id) or no longer has (410), a processing that failed, or no answer at
// all, is the Outcome's error, and the state is left as it was. Once
// recorded, the report is like any other: an interrupted Import leaves it
// processing, for the next apply to poll the same id; if the API forgets
// the id after all, the report starts again from a new upload, as a
// resumed one does.
func (r *Reconciler) Import(ctx context.Context, c Change, processID string) Outcome {
	o := Outcome{Address: c.Address, Action: Import, Started: true}
	o.Err = r.adopt(ctx, c, processID)
	o.Verdict = verdict(ctx, o.Err)
	return o
}

func (r *Reconciler) adopt(ctx context.Context, c Change, processID string) error {
	switch {
	case c.Action == Error:
		return c.Err
	case c.Action == Suspended:
		return fmt.Errorf("import %s: its manifest suspends it (suspend: true); remove that first", c.Address)
	case c.Action != Create || c.Desired == nil:
		return fmt.Errorf("import %s: it is in the state already (planned: %s)", c.Address, c.Action)
	case processID == "":
		return errors.New("import: no request id")
	}
	if err := r.Reach(ctx); err != nil {
		return err
	}
	cl, err := r.client(ctx)
	if err != nil {
		return err
	}
	if _, err := cl.Result(ctx, processID); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("request %s: %w", processID, err)
	}
	j := &job{r: r, action: Import, page: c.Page, rec: state.Record{Address: c.Address, Spec: *c.Desired, Digest: c.Digest,
		Files: c.Files, Phase: state.Processing, ProcessID: processID, Attempts: 1, Revision: c.Revision}}
	if err := j.put(); err != nil {
		return err
	}
	return j.walk(ctx)
}
