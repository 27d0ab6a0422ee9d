package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/internal/progress"
	"github.com/ledgerform/ledgerform/internal/suggest"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
)

const importUsage = `import ADDR REQUEST_ID

Adopts a processing request made outside ledgerform, by hand with curl
(POST /v2/report with the statements, then PUT /v2/report/process/{upload
id} with the operations: REQUEST_ID is the request-id that PUT answered)
or by another tool. ADDR is a report of the manifests (report.NAME or
drop.NAME["FILE"]) that is not in the state.

import polls the request until its result is ready, writes the result to
the report's output as apply does, and records the report as completed,
with the manifests' spec and its statements as they are now: the next plan
finds it up to date, and nothing is uploaded. ledgerform cannot tell which
statements and operations a request was made from: make it from the
report's statements, with its operations, country and params.

A report in the state already is refused: forget it first with
"ledgerform state rm ADDR". A request id the API does not know (404: a
mistyped id, or the upload's id instead of the processing request's) is
an error, and nothing is recorded. Once the id is recorded, an interrupted
import is resumed by the next apply, which polls the same id.

The endpoint is --endpoint, else settings.endpoint; not the embedded
engine, which starts empty, with no request to adopt (ledgerform serve
keeps its requests for as long as it runs). import takes the state's lock:
--lock-timeout D waits up to D for a running apply or watch to release it.`

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlagSet("import", importUsage)
	dir := fs.String("dir", ".", "the working `directory`: manifests, and the state in .ledgerform/")
	endpoint := fs.String("endpoint", "", "the API's base `URL` (default settings.endpoint)")
	lockTimeout := lockTimeoutFlag(fs)
	stURL := stateFlag(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return argError(fs, fmt.Errorf("want ADDR and REQUEST_ID; got %d argument(s)", len(pos)), "usage")
	}
	addr, err := report.Parse(pos[0])
	if err != nil {
		return usageError{fmt.Errorf("import: %w", err)}
	}
	if addr.Whole() {
		return usageError{fmt.Errorf("import: %s names every file of a drop; import one file's report, drop.%s[\"FILE\"]", addr, addr.Name())}
	}
	id := pos[1]
	if err := checkLockTimeout("import", *lockTimeout); err != nil {
		return err
	}
	if err := checkEndpointFlag("import", *endpoint); err != nil {
		return err
	}
	set, st, err := openWorkdir(ctx, *dir, *stURL, true, *lockTimeout, stderr)
	if err != nil {
		return err
	}
	defer func() { err = closeState(st, err, stderr) }()
	if _, ok := set.Lookup(addr); !ok {
		return usageError{fmt.Errorf("import: %s is not a report of the manifests%s", addr, closestReport(addr, set))}
	}
	if r, ok := st.Get(addr); ok {
		return hinted{fmt.Errorf("import: %s is in the state already (%s): it is managed by ledgerform", addr, r.Phase),
			fmt.Sprintf("to adopt another request for it, forget it first with \"ledgerform state rm %s\"", addr)}
	}
	if ep := cmp.Or(*endpoint, set.Settings.Endpoint); ep == "" || ep == "embedded" {
		return usageError{errors.New("import: the embedded engine starts empty, with no request to adopt; give the endpoint the request was made on with --endpoint or settings.endpoint")}
	}
	p, err := reconcile.NewPlan(set, st, reconcile.Options{Targets: []report.Address{addr}})
	if err != nil {
		return err
	}
	conn := &connector{flagEndpoint: *endpoint, stderr: stderr}
	defer conn.Close()
	connect := shared(func(ctx context.Context) (reconcile.API, error) { return conn.Connect(ctx, set.Settings) })
	rec := &reconcile.Reconciler{Dir: *dir, Store: st, Progress: progress.Lines{W: stdout}.Event, Endpoint: conn.id(set.Settings),
		Connect: connect, Pages: newPageRenderer(*dir, connect)}
	o := rec.Import(ctx, p.Changes[0], id)
	if o.Err == nil {
		r, _ := st.Get(addr)
		fmt.Fprintf(stdout, "Imported %s from request %s: %s.\n", addr, id, r.Spec.Output)
		return nil
	}
	var ce *reconcile.ConnectError
	if errors.As(o.Err, &ce) {
		return conn.unusable(set.Settings, ce.Err) // or the connector's own error, with its hint
	}
	_, recorded := st.Get(addr)
	switch {
	case o.Verdict == reconcile.VerdictInterrupted && recorded:
		return exitError{code: 1, err: fmt.Errorf("interrupted; %s is recorded as processing request %s, which the next apply polls", addr, id)}
	case o.Verdict == reconcile.VerdictInterrupted:
		return exitError{code: 1, err: errors.New("interrupted; nothing was recorded")}
	case !recorded && (api.IsNotFound(o.Err) || api.IsGone(o.Err)):
		return hinted{fmt.Errorf("import %s: %w", addr, o.Err),
			"REQUEST_ID is the request-id that PUT /v2/report/process/{upload id} answered, on the same endpoint; nothing was recorded"}
	case !recorded:
		return fmt.Errorf("import %s: %w; nothing was recorded", addr, o.Err)
	}
	return hinted{fmt.Errorf("import %s: %w", addr, o.Err),
		fmt.Sprintf("\"ledgerform state show %s\" shows how far it got; the next apply goes on from there", addr)}
}

// closestReport is "; did you mean X?" for the report of the manifests
// nearest to addr, or "".
func closestReport(addr report.Address, set *spec.Set) string {
	words := make([]string, len(set.Reports))
	for i, r := range set.Reports {
		words[i] = r.Address.String()
	}
	if best := suggest.Closest(addr.String(), words); best != "" {
		return fmt.Sprintf("; did you mean %s?", best)
	}
	return ""
}
