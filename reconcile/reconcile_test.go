package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

func TestPlan_Actions(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", statement(1))
	writeFile(t, f.dir, "b.json", statement(2))
	writeFile(t, f.dir, "c.json", statement(3))
	a, b, c := desired("a", "a.json"), desired("b", "b.json"), desired("c", "c.json")

	p, res := f.run(Options{}, a, b, c)
	if got, want := actions(p), "report.a=create report.b=create report.c=create"; got != want {
		t.Fatalf("first plan: %s, want %s", got, want)
	}
	if res.Failed() != 0 {
		t.Fatalf("first apply failed: %+v", res.Outcomes)
	}

	// Nothing changed: every report is a noop, and the statements are
	// not read again while their size, mtime and inode are unchanged. To
	// prove it, change a.json's bytes in place, keeping size and mtime: the
	// stat cache trusts the stat, as git and make do.
	name := filepath.Join(f.dir, "a.json")
	fi, _ := os.Stat(name)
	same := []byte(statement(1))
	same[len(same)-3] = ' '
	if err := os.WriteFile(name, same, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(name, fi.ModTime(), fi.ModTime())
	p, _ = f.run(Options{}, a, b, c)
	if got, want := actions(p), "report.a=noop report.b=noop report.c=noop"; got != want {
		t.Fatalf("second plan: %s, want %s", got, want)
	}

	// One statement edited, one output renamed, one output deleted, one
	// report dropped from the manifests.
	writeFile(t, f.dir, "a.json", statement(11))
	b2 := b
	b2.Output = "elsewhere/b.json"
	os.Remove(filepath.Join(f.dir, "out/c.json"))
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{a, b2}}, f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), "report.a=replace report.b=move report.c=delete"; got != want {
		t.Fatalf("third plan: %s, want %s", got, want)
	}
	p, err = NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{a, b2, c}}, f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), "report.a=replace report.b=move report.c=restore"; got != want {
		t.Fatalf("fourth plan: %s, want %s", got, want)
	}

	// --target narrows; --replace forces.
	p, _ = NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{a, b2, c}}, f.store, Options{Targets: []report.Address{"report.c"}, Replace: []report.Address{"report.c"}})
	if got, want := actions(p), "report.c=replace"; got != want {
		t.Fatalf("targeted plan: %s, want %s", got, want)
	}
	if _, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{a}}, f.store, Options{Replace: []report.Address{"report.nope"}}); err == nil {
		t.Fatal("--replace of an unknown address: no error")
	}
}

func TestPlan_DropTargets(t *testing.T) {
	if !targeted(`drop.inbox["a.json"]`, []report.Address{"drop.inbox"}) {
		t.Error("drop.inbox does not select its files")
	}
	if targeted(`drop.inboxes["a.json"]`, []report.Address{"drop.inbox"}) {
		t.Error("drop.inbox selects drop.inboxes")
	}
	if targeted("report.ab", []report.Address{"report.a"}) {
		t.Error("report.a selects report.ab")
	}
}

func TestPlan_MissingStatement(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", statement(1))
	p, res := f.run(Options{}, desired("a", "a.json"), desired("b", "missing.json"))
	if got, want := actions(p), "report.a=create report.b=error"; got != want {
		t.Fatalf("plan: %s, want %s", got, want)
	}
	if res.Outcomes[0].Err != nil {
		t.Errorf("report.a failed: %v", res.Outcomes[0].Err)
	}
	if err := res.Outcomes[1].Err; err == nil || err.Error() != "statement missing.json: no such file" {
		t.Errorf("report.b: %v, want the missing path named", err)
	}
	if _, ok := f.store.Get("report.b"); ok {
		t.Error("a report that could not be planned was recorded")
	}
}

// TestPlan_ProblemBlocks: a dropped file whose output can never be
// written is an error of the plan, blocked (the daemon does not retry it),
// recorded nowhere and never sent; the other reports go on.
func TestPlan_ProblemBlocks(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", statement(1))
	writeFile(t, f.dir, "b.json", statement(2))
	bad := desired("b", "b.json")
	bad.Problem = "output out/b.json is an existing directory"
	p, res := f.run(Options{}, desired("a", "a.json"), bad)
	if got, want := actions(p), "report.a=create report.b=error"; got != want {
		t.Fatalf("plan: %s, want %s", got, want)
	}
	o := res.Outcomes[1]
	if o.Err == nil || o.Err.Error() != bad.Problem || o.Verdict != VerdictBlocked {
		t.Errorf("report.b: %v, verdict %v; want the problem, blocked", o.Err, o.Verdict)
	}
	if _, ok := f.store.Get("report.b"); ok {
		t.Error("a report with a problem was recorded")
	}
	if n := f.calls("upload"); n != 1 {
		t.Errorf("%d uploads, want 1 (report.a only)", n)
	}
}

// TestPlan_StatementOverTheLimit: statements over the API's upload limit
// are refused by their size, before they are read or sent, and block.
func TestPlan_StatementOverTheLimit(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", statement(1))
	writeFile(t, f.dir, "b.json", statement(2))
	// Together over the limit: a sparse 1 GiB file costs no disk.
	if err := os.Truncate(filepath.Join(f.dir, "b.json"), 1<<30); err != nil {
		t.Fatal(err)
	}
	p, res := f.run(Options{}, desired("big", "a.json", "b.json"))
	c := p.Changes[0]
	var tl *api.UploadTooLargeError
	if c.Action != Error || !errors.As(c.Err, &tl) || tl.Limit != api.MaxUploadBytes || tl.Size <= 1<<30 {
		t.Fatalf("plan: %s %v, want an error refusing the upload's size", c.Action, c.Err)
	}
	if res.Outcomes[0].Verdict != VerdictBlocked {
		t.Errorf("verdict %v, want blocked", res.Outcomes[0].Verdict)
	}
	if n := f.calls("upload"); n != 0 {
		t.Errorf("%d uploads, want none", n)
	}
}

// TestApply_QuotaIsTransient: the API's quota answer (EXCEEDED_LIMIT) is
// no fault of the report: it is retried, after QuotaBackoff, never blocked.
func TestApply_QuotaIsTransient(t *testing.T) {
	f := newFixture(t, engine.Config{MaxRecords: 1})
	writeFile(t, f.dir, "a.json", statement(1))
	writeFile(t, f.dir, "b.json", statement(2))
	a, b := desired("a", "a.json"), desired("b", "b.json")
	rec := f.applier()
	rec.Parallelism = 1
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{a, b}}, f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rec.Apply(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	o := res.Outcomes[1]
	if !api.IsQuota(o.Err) || o.Verdict != VerdictTransient || o.RetryAfter != QuotaBackoff {
		t.Fatalf("report.b: %v, verdict %v, retry after %v; want the quota, transient, after %v", o.Err, o.Verdict, o.RetryAfter, QuotaBackoff)
	}
	if r, _ := f.store.Get("report.b"); r.LastError == nil || r.LastError.Permanent || r.LastError.Code != api.CodeExceededLimit {
		t.Errorf("record %+v, want a transient EXCEEDED_LIMIT", r.LastError)
	}
	p, _ = NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{a, b}}, f.store, Options{})
	if got, want := actions(p), "report.a=noop report.b=retry"; got != want {
		t.Errorf("plan: %s, want %s", got, want)
	}
}

func TestApply_RecordsEveryTransitionBeforeTheNextCall(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{ProcessingTime: 30 * time.Millisecond}})
	writeFile(t, f.dir, "a.json", statement(1))
	_, res := f.run(Options{}, desired("a", "a.json"))
	if res.Failed() != 0 {
		t.Fatal(res.Outcomes[0].Err)
	}
	var phases []state.Phase
	for _, r := range f.store.history {
		phases = append(phases, r.Phase)
	}
	want := []state.Phase{state.Pending, state.Uploaded, state.Processing, state.Completed}
	if !equal(phases, want) {
		t.Fatalf("transitions %v, want %v", phases, want)
	}
	h := f.store.history
	if h[1].UploadID == "" || h[2].ProcessID == "" || h[3].Output == nil {
		t.Fatalf("ids not recorded: %+v", h)
	}
	b, err := os.ReadFile(filepath.Join(f.dir, "out/a.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fsutil.Hash(b); got != h[3].Output.SHA256 {
		t.Errorf("output hash %s, recorded %s", got, h[3].Output.SHA256)
	}
	fi, _ := os.Stat(filepath.Join(f.dir, "out/a.json"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("output mode %v, want 0600", fi.Mode().Perm())
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A run that died after the PUT was accepted but before the processing
// id was recorded: the upload answers ANALYSIS_ALREADY_REQUESTED, and the
// report starts again from a new upload.
func TestApply_AlreadyRequestedStartsAgain(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", statement(1))
	d := desired("a", "a.json")
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{d}}, f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Changes[0]
	up, err := f.client.Upload(t.Context(), api.File{Name: "a.json", Data: []byte(statement(1))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Process(t.Context(), up.RequestID, api.ProcessRequest{Country: "uk", Operations: []string{"categorisation"}}); err != nil {
		t.Fatal(err)
	}
	f.store.Put(state.Record{Address: c.Address, Spec: *c.Desired, Digest: c.Digest, Files: c.Files, Phase: state.Uploaded, UploadID: up.RequestID})

	uploads := f.calls("upload")
	p, res := f.run(Options{}, d)
	if got, want := actions(p), "report.a=resume"; got != want {
		t.Fatalf("plan: %s, want %s", got, want)
	}
	if res.Failed() != 0 {
		t.Fatal(res.Outcomes[0].Err)
	}
	if got := f.calls("upload") - uploads; got != 1 {
		t.Errorf("%d new uploads, want 1", got)
	}
	r, _ := f.store.Get("report.a")
	if r.Phase != state.Completed || r.UploadID == up.RequestID {
		t.Errorf("record %+v: want completed from a new upload", r)
	}
}

// A processing id that is recorded is polled, never requested again.
func TestApply_ResumeProcessingPollsOnly(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{ProcessingTime: 50 * time.Millisecond}})
	writeFile(t, f.dir, "a.json", statement(1))
	d := desired("a", "a.json")
	p, _ := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{d}}, f.store, Options{})
	c := p.Changes[0]
	up, _ := f.client.Upload(t.Context(), api.File{Name: "a.json", Data: []byte(statement(1))})
	pr, err := f.client.Process(t.Context(), up.RequestID, api.ProcessRequest{Country: "uk", Operations: []string{"categorisation"}})
	if err != nil {
		t.Fatal(err)
	}
	f.store.Put(state.Record{Address: c.Address, Spec: *c.Desired, Digest: c.Digest, Files: c.Files,
		Phase: state.Processing, UploadID: up.RequestID, ProcessID: pr.RequestID})
	uploads, processes := f.calls("upload"), f.calls("process")
	_, res := f.run(Options{}, d)
	if res.Failed() != 0 {
		t.Fatal(res.Outcomes[0].Err)
	}
	if f.calls("upload") != uploads || f.calls("process") != processes {
		t.Errorf("resume sent %d uploads and %d processing requests, want none", f.calls("upload")-uploads, f.calls("process")-processes)
	}
	if r, _ := f.store.Get("report.a"); r.ProcessID != pr.RequestID || r.Phase != state.Completed {
		t.Errorf("record %+v", r)
	}
}

// Processing that fails is a transient failure; the retry starts from a
// new upload and succeeds.
func TestApply_ProcessingFailureIsRetried(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{FailProcessing: 1}})
	writeFile(t, f.dir, "a.json", statement(1))
	d := desired("a", "a.json")
	_, res := f.run(Options{}, d)
	if res.Failed() != 1 {
		t.Fatal("processing that fails did not fail the report")
	}
	r, _ := f.store.Get("report.a")
	if r.Phase != state.Failed || r.LastError == nil || r.LastError.Permanent || r.ProcessID != "" {
		t.Fatalf("record after a processing failure: %+v %+v", r, r.LastError)
	}
	// The failed processing id is spent, so the retry needs nothing of
	// this engine: continue against one whose processing works.
	g := newFixture(t, engine.Config{})
	f.engine, f.client = g.engine, g.client
	p, res := f.run(Options{}, d)
	if got, want := actions(p), "report.a=retry"; got != want {
		t.Fatalf("plan: %s, want %s", got, want)
	}
	if res.Failed() != 0 {
		t.Fatal(res.Outcomes[0].Err)
	}
	if r, _ := f.store.Get("report.a"); r.Phase != state.Completed || r.Attempts != 2 {
		t.Errorf("record %+v, want completed at the second attempt", r)
	}
}

// A statement the API refuses is blocked until it changes.
func TestApply_PermanentFailureBlocks(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", `{"not": "a statement"}`)
	writeFile(t, f.dir, "b.json", statement(2))
	a, b := desired("a", "a.json"), desired("b", "b.json")
	_, res := f.run(Options{}, a, b)
	if res.Outcomes[0].Err == nil || res.Outcomes[1].Err != nil {
		t.Fatalf("outcomes %+v", res.Outcomes)
	}
	uploads := f.calls("upload")
	p, _ := f.run(Options{}, a, b)
	if got, want := actions(p), "report.a=blocked report.b=noop"; got != want {
		t.Fatalf("plan: %s, want %s", got, want)
	}
	if f.calls("upload") != uploads {
		t.Error("a blocked report was uploaded again")
	}
	writeFile(t, f.dir, "a.json", statement(1))
	p, res = f.run(Options{}, a, b)
	if got, want := actions(p), "report.a=replace report.b=noop"; got != want || res.Failed() != 0 {
		t.Fatalf("plan after the fix: %s (want %s), failed %d", got, want, res.Failed())
	}
}

// Cancelling an apply is not a failure: the report stays in its phase
// and the next run resumes it.
func TestApply_CancelLeavesThePhase(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{ProcessingTime: time.Hour}})
	writeFile(t, f.dir, "a.json", statement(1))
	d := desired("a", "a.json")
	p, _ := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{d}}, f.store, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	a := f.applier()
	a.Progress = func(e Event) {
		if e.Step == "process" {
			cancel()
		}
	}
	res, err := a.Apply(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Outcomes[0].Err, context.Canceled) {
		t.Fatalf("outcome %v, want context.Canceled", res.Outcomes[0].Err)
	}
	r, _ := f.store.Get("report.a")
	if r.Phase != state.Processing || r.LastError != nil {
		t.Fatalf("record %+v: want processing, no error", r)
	}
}

// A store that cannot record stops the apply before the next remote call.
func TestApply_StoreFailureStops(t *testing.T) {
	f := newFixture(t, engine.Config{})
	var reports []spec.Report
	for i := range 6 {
		name := fmt.Sprintf("r%d", i)
		writeFile(t, f.dir, name+".json", statement(i))
		reports = append(reports, desired(name, name+".json"))
	}
	f.store.failTogether(len(reports)) // six changes fail to record at once
	p, _ := NewPlan(&spec.Set{Dir: f.dir, Reports: reports}, f.store, Options{})
	rec := f.applier()
	rec.Parallelism = len(reports)
	res, err := rec.Apply(t.Context(), p)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Apply: %v, want the store's failure", err)
	}
	if n := f.calls("upload"); n != 0 {
		t.Errorf("%d uploads with a state that cannot record them", n)
	}
	// The cause is told once; every other change was stopped by it.
	fatal := 0
	for _, o := range res.Outcomes {
		switch o.Verdict {
		case VerdictFatal:
			fatal++
		case VerdictInterrupted:
		default:
			t.Errorf("%s: verdict %v, want fatal or interrupted", o.Address, o.Verdict)
		}
	}
	if fatal != 1 {
		t.Errorf("%d fatal outcomes, want 1", fatal)
	}
}

// A state database that cannot record a transition now (or a lease lost)
// stops that report before its next remote call, as a transient failure,
// not the run; the next run resumes from what was recorded and processes
// the upload once.
func TestApply_StoreUnavailableIsTransient(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", statement(1))
	writeFile(t, f.dir, "b.json", statement(2))
	set := &spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json"), desired("b", "b.json")}}
	f.store.refuse = func(r state.Record) error {
		if r.Address == "report.a" && r.Phase == state.Uploaded {
			return &state.UnavailableError{Err: errors.New("state database postgres://u@db:5432/x: connection refused")}
		}
		return nil
	}
	p, _ := NewPlan(set, f.store, Options{})
	res, err := f.applier().Apply(t.Context(), p)
	if err != nil {
		t.Fatalf("Apply: %v; want the run to go on", err)
	}
	for _, o := range res.Outcomes {
		want := VerdictDone
		if o.Address == "report.a" {
			want = VerdictTransient
		}
		if o.Verdict != want {
			t.Errorf("%s: verdict %v (%v), want %v", o.Address, o.Verdict, o.Err, want)
		}
	}
	if n := f.calls("process"); n != 1 {
		t.Errorf("%d processing requests, want 1 (b's): a's upload was not recorded", n)
	}
	if r, _ := f.store.Get("report.a"); r.Phase != state.Pending {
		t.Errorf("report.a: phase %s, want pending (the last recorded)", r.Phase)
	}
	f.store.refuse = nil
	p, _ = NewPlan(set, f.store, Options{})
	if _, err := f.applier().Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.store.Get("report.a"); r.Phase != state.Completed {
		t.Errorf("report.a after the database is back: %s", r.Phase)
	}
	if n := f.calls("process"); n != 2 {
		t.Errorf("%d processing requests in all, want 2", n)
	}
}

func TestApply_MassDeleteStop(t *testing.T) {
	f := newFixture(t, engine.Config{})
	for _, n := range []string{"a", "b", "c"} {
		writeFile(t, f.dir, n+".json", statement(1))
	}
	f.run(Options{}, desired("a", "a.json"), desired("b", "b.json"), desired("c", "c.json"))
	p, _ := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json")}}, f.store, Options{})
	_, err := f.applier().Apply(t.Context(), p)
	var mde *MassDeleteError
	if !errors.As(err, &mde) || mde.Deletes != 2 || mde.Recorded != 3 {
		t.Fatalf("err %v, want the mass-delete stop for 2 of 3", err)
	}
	if len(f.store.Records()) != 3 {
		t.Fatal("the refused plan deleted something")
	}
	a := f.applier()
	a.AllowMassDelete = true
	if _, err := a.Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if len(f.store.Records()) != 1 {
		t.Fatal("--allow-mass-delete did not delete")
	}
}

// Wrong credentials are not the statement's fault. At the start of an
// apply they stop the run before any report is started (Reach), with the
// token endpoint's answer and nothing recorded; met by a report once work
// has started (Reconcile alone, as the daemon calls it), they fail it
// transiently. Either way the report goes on once the credentials are
// right.
func TestApply_WrongCredentialsDoNotBlock(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", statement(1))
	d := desired("a", "a.json")
	good := f.client
	bad, err := nordigen.New(nordigen.Config{BaseURL: f.engine.URL, ClientID: f.engine.ClientID, ClientSecret: nordigen.NewSecret("not-the-secret-Zq9x"),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.client = bad
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{d}}, f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ce *ConnectError
	res, err := f.applier().Apply(t.Context(), p)
	if !errors.As(err, &ce) || !api.IsPermanent(err) || res != nil {
		t.Fatalf("Apply with a wrong secret = %v, %v; want the token endpoint's refusal and no result", res, err)
	}
	if strings.Contains(err.Error(), "Zq9x") {
		t.Errorf("the secret reached the error: %q", err)
	}
	if n := f.store.Len(); n != 0 {
		t.Fatalf("%d records after a run that could not start, want 0", n)
	}

	o := f.applier().Reconcile(t.Context(), p.Changes[0])
	if o.Verdict != VerdictTransient {
		t.Fatalf("Reconcile with a wrong secret: %v, want transient", o.Verdict)
	}
	r, _ := f.store.Get("report.a")
	if r.LastError == nil || r.LastError.Permanent {
		t.Fatalf("a wrong secret recorded as %+v, want a transient failure", r.LastError)
	}
	if strings.Contains(r.LastError.Message, "Zq9x") {
		t.Errorf("the secret reached the state: %q", r.LastError.Message)
	}
	f.client = good
	p, res = f.run(Options{}, d)
	if got, want := actions(p), "report.a=retry"; got != want || res.Failed() != 0 {
		t.Fatalf("with the right secret: plan %s (want %s), %d failed", got, want, res.Failed())
	}
}

func TestBlocking(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&api.Error{Status: 400, Code: "NO_SUITABLE_PARSERS", Op: "upload"}, true},
		{&api.Error{Status: 400, Code: "PDF_PARSE_FAILURE", Op: "upload"}, true},
		{&api.Error{Status: 400, Code: "UNSUPPORTED_COUNTRY_REQUESTED", Op: "process"}, true},
		{&api.UploadTooLargeError{Size: 11 << 20, Limit: 10 << 20}, true},
		{&api.Error{Status: 401, Code: "AUTHENTICATION_FAILED", Op: "upload"}, false},
		{&api.Error{Status: 403, Code: "FORBIDDEN", Op: "process"}, false},
		{&api.Error{Status: 400, Op: "token"}, false},
		{&api.Error{Status: 429, Code: "RATE_LIMIT"}, false},
		{&api.Error{Status: 503}, false},
		{&api.TransportError{Op: "upload", Err: errors.New("x509: certificate signed by unknown authority")}, false},
		{&localError{code: CodeStatement, err: errors.New("gone")}, false},
		{&ConnectError{Err: errors.New("endpoint needs credentials")}, false},
		{&api.Error{Status: 400, Code: "TIMEOUT_PROCESSING", Op: "result"}, false},
		{&api.Error{Status: 500, Code: "UNKNOWN_ERROR", Op: "result"}, false},
		{&api.ProtocolError{Op: "result", Err: errors.New("bad json")}, false},
		{&pollDeadlineError{id: "x", limit: time.Minute}, false},
		{fmt.Errorf("wrapped: %w", &api.Error{Status: 400, Code: "NO_SUITABLE_PARSERS", Op: "upload"}), true},
	} {
		if got := Blocking(tc.err); got != tc.want {
			t.Errorf("Blocking(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// checkingAPI asserts, at every remote call, that the state already holds
// what the previous call returned.
type checkingAPI struct {
	API
	t     *testing.T
	store *testStore
	addr  report.Address
}

func (c *checkingAPI) Process(ctx context.Context, uploadID string, req api.ProcessRequest) (*api.Processing, error) {
	if r, _ := c.store.Get(c.addr); r.Phase != state.Uploaded || r.UploadID != uploadID {
		c.t.Errorf("processing requested before the upload id was recorded: %s %q", r.Phase, r.UploadID)
	}
	return c.API.Process(ctx, uploadID, req)
}

func (c *checkingAPI) Result(ctx context.Context, id string) (*api.Result, error) {
	if r, _ := c.store.Get(c.addr); r.Phase != state.Processing || r.ProcessID != id {
		c.t.Errorf("result polled before the processing id was recorded: %s %q", r.Phase, r.ProcessID)
	}
	return c.API.Result(ctx, id)
}

func (c *checkingAPI) Upload(ctx context.Context, files ...api.File) (*api.Upload, error) {
	if r, ok := c.store.Get(c.addr); !ok || r.Phase != state.Pending {
		c.t.Errorf("uploaded before the report was recorded pending: %v %s", ok, r.Phase)
	}
	return c.API.Upload(ctx, files...)
}

func TestApply_EachCallFollowsARecordedTransition(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{ProcessingTime: 30 * time.Millisecond}})
	writeFile(t, f.dir, "a.json", statement(1))
	p, _ := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json")}}, f.store, Options{})
	a := f.applier()
	a.API = &checkingAPI{API: f.client, t: t, store: f.store, addr: "report.a"}
	res, err := a.Apply(t.Context(), p)
	if err != nil || res.Failed() != 0 {
		t.Fatalf("apply: %v %+v", err, res)
	}
}

// outageProxy stands in front of the engine and, while down is set,
// answers every poll of a result with 500 UNKNOWN_ERROR, counting the
// refusals per processing id.
type outageProxy struct {
	down    atomic.Bool
	mu      sync.Mutex
	refused map[string]int
}

func (o *outageProxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, isResult := strings.CutPrefix(r.URL.Path, "/v2/report/")
		if isResult && r.Method == http.MethodGet && !strings.Contains(id, "/") && o.down.Load() {
			o.mu.Lock()
			o.refused[id]++
			o.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `[{"title":"Internal Server Error","detail":"outage","error-code":"UNKNOWN_ERROR","source":[]}]`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// minRefused returns the fewest refusals any of n processing ids has had
// (0 until n ids have been refused).
func (o *outageProxy) minRefused(n int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.refused) < n {
		return 0
	}
	least := -1
	for _, c := range o.refused {
		if least < 0 || c < least {
			least = c
		}
	}
	return least
}

// A result endpoint that answers 500 for longer than the client's retries
// while reports are processing is an outage: the recorded processing ids
// are polled through it, and once it is over every report completes with
// no new upload and no new processing request.
func TestReconcile_ResultOutageKeepsProcessingIDs(t *testing.T) {
	f := newFixture(t, engine.Config{})
	proxy := &outageProxy{refused: map[string]int{}}
	proxy.down.Store(true)
	target, _ := url.Parse(f.engine.URL)
	srv := httptest.NewServer(proxy.handler(httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(srv.Close)
	const retryMax = 2
	c, err := nordigen.New(nordigen.Config{BaseURL: srv.URL, ClientID: f.engine.ClientID, ClientSecret: nordigen.NewSecret(f.engine.ClientSecret),
		RateLimit: 1000, RetryMax: retryMax, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	var reports []spec.Report
	for i := range n {
		name := fmt.Sprintf("r%d", i)
		writeFile(t, f.dir, name+".json", statement(i))
		reports = append(reports, desired(name, name+".json"))
	}
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: reports}, f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var outages atomic.Int32
	r := &Reconciler{Dir: f.dir, Store: f.store, API: c, Parallelism: n, PollMin: 5 * time.Millisecond, PollMax: 20 * time.Millisecond,
		Progress: func(e Event) {
			if e.Step == "poll" && e.Status == "retry" {
				outages.Add(1)
			}
			// Each report's client call has given up (retryMax+1 refused
			// attempts) at least twice over: end the outage.
			if proxy.minRefused(n) >= 2*(retryMax+1) {
				proxy.down.Store(false)
			}
		}}
	go func() {
		// The outage also ends if no event comes after the threshold, and
		// after a while in any case: a guard against a hang, which the
		// checks below then report.
		guard := time.Now().Add(30 * time.Second)
		for proxy.down.Load() {
			if proxy.minRefused(n) >= 2*(retryMax+1) || time.Now().After(guard) {
				proxy.down.Store(false)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	res, err := r.Apply(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outcomes {
		if o.Verdict != VerdictDone {
			t.Errorf("%s: %s: %v", o.Address, o.Verdict, o.Err)
		}
	}
	if got := proxy.minRefused(n); got < 2*(retryMax+1) {
		t.Fatalf("the outage refused only %d polls of some report; the test did not test it", got)
	}
	if got := outages.Load(); got < n {
		t.Errorf("%d outage events, want at least one per report (%d)", got, n)
	}
	if got := f.calls("upload"); got != n {
		t.Errorf("%d uploads, want %d: an outage made reports upload again", got, n)
	}
	if got := f.calls("process"); got != n {
		t.Errorf("%d processing requests, want %d: an outage made reports process again", got, n)
	}
	for _, rec := range f.store.Records() {
		if rec.Phase != state.Completed {
			t.Errorf("%s is %s, want completed", rec.Address, rec.Phase)
		}
	}
}

// A processing that failed for good (TIMEOUT_PROCESSING) spends its id:
// the report fails transiently with its ids forgotten, and the retry
// starts from a new upload.
func TestReconcile_ProcessingFailedStartsAgain(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{FailProcessing: 1, Seed: 1}})
	writeFile(t, f.dir, "a.json", statement(1))
	d := desired("a", "a.json")
	var o Outcome
	// The engine fails a processing with TIMEOUT_PROCESSING or a lasting
	// 500; a short deadline gives the second up quickly.
	r := f.applier()
	r.PollDeadline = 200 * time.Millisecond
	p, _ := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{d}}, f.store, Options{})
	o = r.Reconcile(t.Context(), p.Changes[0])
	if o.Verdict != VerdictTransient {
		t.Fatalf("verdict %s (%v), want transient", o.Verdict, o.Err)
	}
	rec, _ := f.store.Get("report.a")
	if rec.Phase != state.Failed || rec.UploadID != "" || rec.ProcessID != "" || rec.LastError == nil || rec.LastError.Permanent {
		t.Fatalf("record %+v: want failed, transient, with its ids forgotten", rec)
	}
	if code := rec.LastError.Code; code != api.CodeTimeoutProcessing && code != CodePollDeadline {
		t.Errorf("code %q, want %s or %s", code, api.CodeTimeoutProcessing, CodePollDeadline)
	}
}

// processing returns a report of f recorded in processing: uploaded and
// its operations requested, with the poll not yet done.
func processing(t *testing.T, f *fixture) (Change, state.Record) {
	t.Helper()
	writeFile(t, f.dir, "a.json", statement(1))
	p, _ := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json")}}, f.store, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	r := f.applier()
	r.Progress = func(e Event) {
		if e.Step == "process" {
			cancel()
		}
	}
	if o := r.Reconcile(ctx, p.Changes[0]); o.Verdict != VerdictInterrupted {
		t.Fatalf("verdict %s, want interrupted after the process step", o.Verdict)
	}
	rec, _ := f.store.Get("report.a")
	if rec.Phase != state.Processing || rec.ProcessID == "" {
		t.Fatalf("record %+v: want processing", rec)
	}
	p, _ = NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json")}}, f.store, Options{})
	return p.Changes[0], rec
}

// At the poll deadline with the API still saying "processing", the
// processing id is kept: the next attempt polls it again, and the report
// is neither uploaded nor processed again.
func TestReconcile_DeadlineWhileProcessingKeepsTheID(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{ProcessingTime: time.Hour}})
	c, before := processing(t, f)
	r := f.applier()
	r.PollDeadline = 100 * time.Millisecond
	o := r.Reconcile(t.Context(), c)
	rec, _ := f.store.Get("report.a")
	if o.Verdict != VerdictTransient || rec.ProcessID != before.ProcessID || rec.UploadID != before.UploadID ||
		rec.LastError == nil || rec.LastError.Code != CodePollDeadline {
		t.Fatalf("verdict %s, record %+v %+v: want transient, POLL_DEADLINE, the ids kept", o.Verdict, rec, rec.LastError)
	}
	if got := actionsOf(t, f); got != "report.a=retry" {
		t.Errorf("next plan %s, want a retry", got)
	}
	if n := f.calls("upload") + f.calls("process"); n != 2 {
		t.Errorf("%d uploads and processing requests, want 1 each", n)
	}
}

// Credentials that stop working while a report is processing (401) are
// transient and keep the recorded ids: nothing is sent twice.
func TestReconcile_UnauthorizedWhilePollingKeepsTheIDs(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{ProcessingTime: time.Hour}})
	c, before := processing(t, f)
	bad, err := nordigen.New(nordigen.Config{BaseURL: f.engine.URL, ClientID: f.engine.ClientID, ClientSecret: nordigen.NewSecret("wrong"),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := f.applier()
	r.API = bad
	o := r.Reconcile(t.Context(), c)
	rec, _ := f.store.Get("report.a")
	if o.Verdict != VerdictTransient || rec.ProcessID != before.ProcessID || rec.UploadID != before.UploadID || rec.LastError.Permanent {
		t.Fatalf("verdict %s, record %+v %+v: want transient with the ids kept", o.Verdict, rec, rec.LastError)
	}
}

func actionsOf(t *testing.T, f *fixture) string {
	t.Helper()
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json")}}, f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return actions(p)
}

// TestPoll_LearnsProcessingTime: once a few reports have shown how long
// this endpoint takes, the first poll of the next comes when its result
// is ready: about one result GET a report, where the fixed schedule (10 ms
// doubling to 50 ms here) takes nine for a 300 ms processing.
func TestPoll_LearnsProcessingTime(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{ProcessingTime: 300 * time.Millisecond}})
	rec := f.applier()
	rec.Parallelism = 1
	run := func(from, to int) int { // applies r<from>…r<to-1>, the earlier ones up to date
		var ds []spec.Report
		for i := range to {
			name := fmt.Sprintf("r%02d", i)
			writeFile(t, f.dir, name+".json", statement(i))
			ds = append(ds, desired(name, name+".json"))
		}
		p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: ds}, f.store, Options{})
		if err != nil {
			t.Fatal(err)
		}
		before := f.calls("result")
		res, err := rec.Apply(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		if n := res.Failed(); n > 0 {
			t.Fatalf("%d of reports %d to %d failed", n, from, to)
		}
		return f.calls("result") - before
	}
	cold := run(0, 1)
	run(1, 6) // learning
	warm := run(6, 12)
	t.Logf("result GETs: %d for the first report, %d for the last 6", cold, warm)
	if cold < 4 {
		t.Errorf("the first report took %d GETs: the fixed schedule is not what this test thinks", cold)
	}
	if warm > 2*6 {
		t.Errorf("%d result GETs for 6 reports once learned, want at most 2 each", warm)
	}
}

// A suspended report is planned as Suspended, with what would be done
// otherwise, and applying it costs no call and touches nothing; a file
// that left a suspended drop's folder keeps its record and output, prune
// on or not. Without suspend, the pending changes come back.
func TestPlan_Suspended(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", statement(1))
	writeFile(t, f.dir, "in/x.json", statement(2))
	drop := spec.Drop{Name: "in", Dir: "in", Pattern: "*.json", Operations: []string{"categorisation"}, Country: "uk", OutputDir: "out/in"}
	a, x := desired("a", "a.json"), drop.Report("x.json")
	set := func(suspended bool, reports ...spec.Report) *spec.Set {
		d := drop
		d.Suspended = suspended
		for i := range reports {
			reports[i].Suspended = suspended
		}
		return &spec.Set{Dir: f.dir, Settings: spec.Settings{Prune: true}, Reports: reports, Drops: []spec.Drop{d}}
	}
	p, err := NewPlan(set(false, a, x), f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.applier().Apply(t.Context(), p); err != nil || res.Failed() != 0 {
		t.Fatalf("first apply: %v %+v", err, res)
	}

	writeFile(t, f.dir, "a.json", statement(11))
	os.Remove(filepath.Join(f.dir, "in/x.json"))
	p, err = NewPlan(set(true, a), f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), `drop.in["x.json"]=suspended report.a=suspended`; got != want {
		t.Fatalf("suspended plan: %s, want %s", got, want)
	}
	wantReasons := []string{"suspended; otherwise: delete (the file left the drop folder in)", "suspended; otherwise: replace (statement a.json changed)"}
	for i, c := range p.Changes {
		if len(c.Reasons) != 1 || c.Reasons[0] != wantReasons[i] {
			t.Errorf("%s: reasons %q, want %q", c.Address, c.Reasons, wantReasons[i])
		}
		if len(c.Effects) != 0 || c.Prune {
			t.Errorf("%s: effects %+v, prune %v; want none", c.Address, c.Effects, c.Prune)
		}
	}
	if p.HasChanges() || p.Remote() || p.MassDelete() != nil {
		t.Errorf("suspended plan: HasChanges %v, Remote %v, MassDelete %v; want none", p.HasChanges(), p.Remote(), p.MassDelete())
	}
	before := f.calls("upload") + f.calls("process") + f.calls("result") + f.calls("token")
	res, err := f.applier().Apply(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outcomes {
		if o.Verdict != VerdictDone || o.Err != nil || o.Started {
			t.Errorf("%s: %+v, want done without starting", o.Address, o)
		}
	}
	if got := f.calls("upload") + f.calls("process") + f.calls("result") + f.calls("token"); got != before {
		t.Errorf("applying a suspended plan made %d calls", got-before)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "out/in/x.json")); err != nil {
		t.Errorf("the suspended drop's output: %v", err)
	}
	if _, ok := f.store.Get(x.Address); !ok {
		t.Error("the suspended drop's record is gone")
	}

	p, _ = NewPlan(set(false, a), f.store, Options{})
	if got, want := actions(p), `drop.in["x.json"]=delete report.a=replace`; got != want {
		t.Fatalf("plan without suspend: %s, want %s", got, want)
	}
}

// brokenResults answers every result of the first processing id it sees
// with 500 UNKNOWN_ERROR, as the engine answers a failed processing, and
// passes everything else through.
type brokenResults struct {
	API
	mu     sync.Mutex
	broken string
}

func (b *brokenResults) Process(ctx context.Context, uploadID string, req api.ProcessRequest) (*api.Processing, error) {
	p, err := b.API.Process(ctx, uploadID, req)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil && b.broken == "" {
		b.broken = p.RequestID
	}
	return p, err
}

func (b *brokenResults) Result(ctx context.Context, id string) (*api.Result, error) {
	b.mu.Lock()
	broken := id == b.broken
	b.mu.Unlock()
	if broken {
		return nil, &api.Error{Status: 500, Code: api.CodeUnknownError, Op: api.OpResult, Title: "Internal Server Error"}
	}
	return b.API.Result(ctx, id)
}

// TestReconcile_BrokenIDIsGivenUp: a processing id whose result answers
// 500 UNKNOWN_ERROR poll after poll, while the API answers the polls of
// the other report, is a failed processing: given up long before the poll
// deadline, its ids forgotten, the report transient (the next attempt
// uploads again). The other report completes.
func TestReconcile_BrokenIDIsGivenUp(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{ProcessingTime: 300 * time.Millisecond}})
	writeFile(t, f.dir, "a.json", statement(1))
	writeFile(t, f.dir, "b.json", statement(2))
	rec := f.applier()
	rec.API = &brokenResults{API: f.client}
	rec.Parallelism = 2
	rec.PollDeadline = time.Hour // only the broken-id rule can end it
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json"), desired("b", "b.json")}}, f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rec.Apply(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	var broken, fine int
	for _, o := range res.Outcomes {
		switch {
		case o.Err == nil:
			fine++
		case o.Verdict == VerdictTransient && errors.As(o.Err, new(*brokenResultError)):
			broken++
			r, _ := f.store.Get(o.Address)
			if r.UploadID != "" || r.ProcessID != "" || r.LastError == nil || r.LastError.Permanent {
				t.Errorf("%s: record %+v, want its ids forgotten and a transient failure", o.Address, r)
			}
		default:
			t.Errorf("%s: %v (%v)", o.Address, o.Err, o.Verdict)
		}
	}
	if broken != 1 || fine != 1 {
		t.Errorf("%d broken and %d fine, want one each", broken, fine)
	}
}

// TestReconcile_BrokenIDAlone: with no other report polling (the last of
// a run), the result of the last id seen completed is asked as a witness:
// it answers, so the id that keeps answering 500 is broken and given up.
func TestReconcile_BrokenIDAlone(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "a.json", statement(1))
	writeFile(t, f.dir, "b.json", statement(2))
	br := &brokenResults{API: f.client}
	rec := f.applier()
	rec.API = br
	rec.PollDeadline = time.Hour // only the broken-id rule can end it
	// First a report that completes: its id is the witness. Then one
	// whose id is broken, alone.
	br.broken = "none yet"
	p, _ := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json")}}, f.store, Options{})
	if o := rec.Reconcile(t.Context(), p.Changes[0]); o.Err != nil {
		t.Fatal(o.Err)
	}
	br.mu.Lock()
	br.broken = ""
	br.mu.Unlock()
	p, _ = NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json"), desired("b", "b.json")}}, f.store, Options{Targets: []report.Address{"report.b"}})
	o := rec.Reconcile(t.Context(), p.Changes[0])
	if o.Verdict != VerdictTransient || !errors.As(o.Err, new(*brokenResultError)) {
		t.Fatalf("report.b: %v (%v), want the broken id given up", o.Err, o.Verdict)
	}
}
