package reconcile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// remoteCalls counts the engine's upload, process and result requests.
func (f *fixture) remoteCalls() int {
	return f.calls("upload") + f.calls("process") + f.calls("result")
}

// planSet plans reports (with prune as given) for testEndpoint.
func (f *fixture) planSet(prune bool, opts Options, reports ...spec.Report) *Plan {
	f.t.Helper()
	if opts.Endpoint == "" {
		opts.Endpoint = testEndpoint
	}
	p, err := NewPlan(&spec.Set{Dir: f.dir, Settings: spec.Settings{Prune: prune}, Reports: reports}, f.store, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// twins writes a.json and b.json, both statement(n), and returns the
// reports a and b of them: b is what a asks.
func (f *fixture) twins(n int) (a, b spec.Report) {
	writeFile(f.t, f.dir, "a.json", statement(n))
	writeFile(f.t, f.dir, "b.json", statement(n))
	return desired("a", "a.json"), desired("b", "b.json")
}

func readOut(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReuse_RenamedReport: a report renamed in the manifests (its output
// path follows the name) with prune on is a reuse of its old record and
// a delete of it: no remote call, the new output holds the old one's
// bytes, the old output is pruned only after it was copied, and the
// record says where the result came from.
func TestReuse_RenamedReport(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "s.json", statement(1))
	f.run(Options{Endpoint: testEndpoint}, desired("old", "s.json"))
	before := readOut(t, f.dir, "out/old.json")
	src, _ := f.store.Get("report.old")

	p := f.planSet(true, Options{}, desired("new", "s.json"))
	if got, want := actions(p), "report.new=reuse report.old=delete"; got != want {
		t.Fatalf("plan: %s, want %s", got, want)
	}
	if c := p.Changes[0]; c.Source == nil || c.Source.Address != "report.old" || !strings.Contains(strings.Join(c.Reasons, "\n"), "report.old has the same statements and spec") {
		t.Fatalf("the reuse names no source: %+v", c)
	}
	calls := f.remoteCalls()
	res, err := f.applier().Apply(t.Context(), p)
	if err != nil || res.Failed() != 0 {
		t.Fatalf("apply: %v %+v", err, res)
	}
	if n := f.remoteCalls() - calls; n != 0 {
		t.Errorf("the reuse made %d remote calls, want 0", n)
	}
	if got := readOut(t, f.dir, "out/new.json"); !bytes.Equal(got, before) {
		t.Errorf("out/new.json is not the old output's bytes")
	}
	if _, err := os.Stat(filepath.Join(f.dir, "out/old.json")); !os.IsNotExist(err) {
		t.Errorf("out/old.json not pruned: %v", err)
	}
	rec, ok := f.store.Get("report.new")
	if !ok || rec.Phase != state.Completed || rec.ReusedFrom != "report.old" || rec.ProcessID != src.ProcessID ||
		rec.Endpoint != testEndpoint || rec.Output == nil || rec.Output.SHA256 != src.Output.SHA256 || rec.Digest != src.Digest {
		t.Fatalf("record of report.new: %+v", rec)
	}
	if _, ok := f.store.Get("report.old"); ok {
		t.Error("report.old is still recorded")
	}
	if p := f.planSet(true, Options{}, desired("new", "s.json")); actions(p) != "report.new=noop" {
		t.Errorf("plan after the reuse: %s", actions(p))
	}
}

// TestReuse_SameBytesElsewhere: a statement copied under another name
// (a file dropped again) is a reuse of the report that has its bytes,
// while that report stays as it is.
func TestReuse_SameBytesElsewhere(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "in/a.json", statement(2))
	f.run(Options{Endpoint: testEndpoint}, desired("a", "in/a.json"))
	writeFile(t, f.dir, "in/b.json", statement(2))
	a, b := desired("a", "in/a.json"), desired("b", "in/b.json")
	calls := f.remoteCalls()
	p := f.planSet(false, Options{}, a, b)
	if got, want := actions(p), "report.a=noop report.b=reuse"; got != want {
		t.Fatalf("plan: %s, want %s", got, want)
	}
	if _, err := f.applier().Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if n := f.remoteCalls() - calls; n != 0 {
		t.Errorf("%d remote calls, want 0", n)
	}
	if !bytes.Equal(readOut(t, f.dir, "out/a.json"), readOut(t, f.dir, "out/b.json")) {
		t.Error("the outputs differ")
	}
	if p := f.planSet(false, Options{}, a, b); actions(p) != "report.a=noop report.b=noop" {
		t.Errorf("plan after: %s", actions(p))
	}
}

// TestReuse_Not: what is not reused — another endpoint, a plan that names
// no endpoint, a different spec, a report forced with --replace, and a
// source whose output was edited (the plan says why).
func TestReuse_Not(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", statement(3))
	writeFile(t, f.dir, "b.json", statement(3))
	a := desired("a", "a.json")
	f.run(Options{Endpoint: testEndpoint}, a)
	b := desired("b", "b.json")

	if p := f.planSet(false, Options{Endpoint: "http://other.test"}, a, b); actions(p) != "report.a=noop report.b=create" {
		t.Errorf("another endpoint: %s", actions(p))
	}
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{a, b}}, f.store, Options{})
	if err != nil || actions(p) != "report.a=noop report.b=create" {
		t.Errorf("no endpoint: %s %v", actions(p), err)
	}
	other := b
	other.Operations = []string{"categorisation", "insights-income"}
	if p := f.planSet(false, Options{}, a, other); actions(p) != "report.a=noop report.b=create" {
		t.Errorf("other operations: %s", actions(p))
	}
	f.run(Options{Endpoint: testEndpoint}, a, other)
	if p := f.planSet(false, Options{Replace: []report.Address{"report.b"}}, a, b); actions(p) != "report.a=noop report.b=replace" {
		t.Errorf("--replace: %s", actions(p))
	}
	if p := f.planSet(false, Options{}, a, b); actions(p) != "report.a=noop report.b=reuse" {
		t.Errorf("spec back to a's: %s", actions(p))
	}

	writeFile(t, f.dir, "out/a.json", `{"edited": true}`)
	p = f.planSet(false, Options{}, desired("b", "b.json"))
	if got := actions(p); got != "report.a=delete report.b=replace" {
		t.Fatalf("source edited: %s", got)
	}
	if r := strings.Join(p.Changes[1].Reasons, "\n"); !strings.Contains(r, "report.a has the same result, but its output out/a.json is missing or edited: not reused") {
		t.Errorf("reasons: %s", r)
	}
}

// TestReuse_SourceGoneFallsBack: a source output that is deleted between
// the plan and the apply makes the reuse do the work itself, saying so;
// the record then holds its own ids.
func TestReuse_SourceGoneFallsBack(t *testing.T) {
	f := newFixture(t, engine.Config{})
	a, b := f.twins(4)
	f.run(Options{Endpoint: testEndpoint}, a)
	p := f.planSet(false, Options{}, a, b)
	if actions(p) != "report.a=noop report.b=reuse" {
		t.Fatalf("plan: %s", actions(p))
	}
	os.Remove(filepath.Join(f.dir, "out/a.json"))

	var mu sync.Mutex
	var events []Event
	ap := f.applier()
	ap.Progress = func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }
	uploads := f.calls("upload")
	res, err := ap.Apply(t.Context(), p)
	if err != nil || res.Failed() != 0 {
		t.Fatalf("apply: %v %+v", err, res.Outcomes)
	}
	if n := f.calls("upload") - uploads; n != 1 {
		t.Errorf("%d uploads, want 1 (the fallback)", n)
	}
	fell := false
	for _, e := range events {
		if e.Address == "report.b" && e.Step == "reuse" && e.Status == "fallback" && strings.Contains(e.Error, "out/a.json") {
			fell = true
		}
	}
	if !fell {
		t.Errorf("no fallback event: %+v", events)
	}
	rec, _ := f.store.Get("report.b")
	srcRec, _ := f.store.Get("report.a")
	if rec.Phase != state.Completed || rec.ReusedFrom != "" || rec.ProcessID == srcRec.ProcessID || rec.Endpoint != testEndpoint {
		t.Errorf("record after the fallback: %+v", rec)
	}
}

// TestReuse_RetryFromScratch: a report whose last attempt failed with no
// request id left (a failed processing) reuses a completed twin instead
// of uploading again.
func TestReuse_RetryFromScratch(t *testing.T) {
	f := newFixture(t, engine.Config{})
	a, b := f.twins(5)
	f.run(Options{Endpoint: testEndpoint}, a, b)
	r, _ := f.store.Get("report.b")
	r.Phase, r.UploadID, r.ProcessID = state.Failed, "", ""
	r.LastError = &state.Failure{Code: "TIMEOUT_PROCESSING", Message: "processing failed", Step: "poll"}
	if err := f.store.Put(r); err != nil {
		t.Fatal(err)
	}
	p := f.planSet(false, Options{}, a, b)
	if actions(p) != "report.a=noop report.b=reuse" {
		t.Fatalf("plan: %s", actions(p))
	}
	calls := f.remoteCalls()
	if _, err := f.applier().Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if n := f.remoteCalls() - calls; n != 0 {
		t.Errorf("%d remote calls, want 0", n)
	}
	if got, _ := f.store.Get("report.b"); got.Phase != state.Completed || got.ReusedFrom != "report.a" || got.LastError != nil {
		t.Errorf("record: %+v", got)
	}
}
