package reconcile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// planOf plans the one report d against the fixture's store.
func (f *fixture) planOf(d spec.Report) Change {
	f.t.Helper()
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{d}}, f.store, Options{Targets: []report.Address{d.Address}})
	if err != nil || len(p.Changes) != 1 {
		f.t.Fatalf("plan of %s: %v, %d changes", d.Address, err, len(p.Changes))
	}
	return p.Changes[0]
}

func TestReconciler_Import(t *testing.T) {
	f := newFixture(t, engine.Config{})
	ctx := t.Context()
	writeFile(t, f.dir, "a.json", statement(1))
	a := desired("a", "a.json")

	// By hand, as with curl: an upload, then its operations.
	up, err := f.client.Upload(ctx, api.File{Name: "a.json", Data: []byte(statement(1))})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := f.client.Process(ctx, up.RequestID, api.ProcessRequest{Country: a.Country, Operations: a.Operations})
	if err != nil {
		t.Fatal(err)
	}

	uploads, processes := f.calls("upload"), f.calls("process")
	o := f.applier().Import(ctx, f.planOf(a), pr.RequestID)
	if o.Err != nil || o.Verdict != VerdictDone || o.Action != Import {
		t.Fatalf("Import = %+v, want done", o)
	}
	if n, m := f.calls("upload")-uploads, f.calls("process")-processes; n != 0 || m != 0 {
		t.Errorf("Import made %d uploads and %d process requests, want none", n, m)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "out/a.json")); err != nil {
		t.Errorf("output: %v", err)
	}
	rec, _ := f.store.Get(a.Address)
	if rec.Phase != state.Completed || rec.ProcessID != pr.RequestID || rec.Output == nil {
		t.Errorf("record after Import = %+v, want completed with process id %s and its output", rec, pr.RequestID)
	}
	// The id was recorded before it was polled: an interrupted import
	// resumes polling it.
	if h := f.store.history; len(h) == 0 || h[0].Phase != state.Processing || h[0].ProcessID != pr.RequestID {
		t.Errorf("first transition recorded = %+v, want processing with the request id", h)
	}
	if c := f.planOf(a); c.Action != Noop {
		t.Errorf("plan after Import: %s %v, want noop", c.Action, c.Reasons)
	}

	// Refused, and nothing recorded: a report in the state already, an id
	// the API does not know, an upload id.
	if o := f.applier().Import(ctx, f.planOf(a), pr.RequestID); o.Err == nil {
		t.Errorf("Import of a report in the state: no error")
	}
	writeFile(t, f.dir, "b.json", statement(2))
	b := desired("b", "b.json")
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", up.RequestID} {
		o := f.applier().Import(ctx, f.planOf(b), id)
		if !api.IsNotFound(o.Err) {
			t.Errorf("Import of request %s: %v, want the API's 404", id, o.Err)
		}
		if r, ok := f.store.Get(b.Address); ok {
			t.Errorf("Import of request %s recorded %+v", id, r)
		}
	}
}
