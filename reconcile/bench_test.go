package reconcile

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// benchFiles is the size of the no-op plan benchmark: DESIGN.md's target
// is 100k statement files. LEDGERFORM_BENCH_FILES overrides it.
func benchFiles() int {
	if n, err := strconv.Atoi(os.Getenv("LEDGERFORM_BENCH_FILES")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// noopTree builds a working directory with n statements in a drop folder,
// each with its output, and a state (recorded through package state) that
// records them all as completed: the tree after
// an apply, so that a plan has nothing to do.
func noopTree(b testing.TB, n int) string {
	b.Helper()
	return noopTreeIn(b, b.TempDir(), n)
}

// noopTreeIn is noopTree in dir.
func noopTreeIn(b testing.TB, dir string, n int) string {
	b.Helper()
	os.WriteFile(filepath.Join(dir, "ledgerform.yaml"), []byte(
		"drops:\n  - {name: inbox, dir: inbox, pattern: \"*.json\", operations: [categorisation], country: uk}\n"), 0o600)
	for _, d := range []string{"inbox", "out/inbox"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	for i := range n {
		name := fmt.Sprintf("s%06d.json", i)
		os.WriteFile(filepath.Join(dir, "inbox", name), []byte(statement(i)), 0o600)
		os.WriteFile(filepath.Join(dir, "out/inbox", name), []byte(`{"data":{}}`), 0o600)
	}
	set, err := spec.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	var recs []state.Record
	for _, d := range set.Reports {
		s := SpecOf(d)
		f, err := fingerprint(dir, d.Statements[0], nil, 0)
		if err != nil {
			b.Fatal(err)
		}
		out, err := fingerprint(dir, d.Output, nil, 0)
		if err != nil {
			b.Fatal(err)
		}
		files := []state.File{f}
		recs = append(recs, state.Record{Address: d.Address, Spec: s, Files: files, Digest: Digest(s, files),
			Phase: state.Completed, Output: &out, Updated: time.Now().UTC()})
	}
	// Through the state package, as apply would record them; many writers
	// share each fsync, and Close writes the snapshot.
	st, err := state.Open(filepath.Join(dir, ".ledgerform"))
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(recs); i = int(next.Add(1)) - 1 {
				if err := st.Put(recs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

// TestMakeNoopTree builds the no-op tree of LEDGERFORM_BENCH_FILES files
// in the directory LEDGERFORM_BENCH_TREE, to time ledgerform plan and
// watch on it as processes (BENCHMARKS.md); without it, it is skipped.
//
//	LEDGERFORM_BENCH_TREE=/tmp/tree go test -run TestMakeNoopTree -timeout 30m ./reconcile/
func TestMakeNoopTree(t *testing.T) {
	dir := os.Getenv("LEDGERFORM_BENCH_TREE")
	if dir == "" {
		t.Skip("LEDGERFORM_BENCH_TREE is not set")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	noopTreeIn(t, dir, benchFiles())
}

// BenchmarkPlan_Noop is `ledgerform plan` on a tree where nothing
// changed, less the printing: load the manifests (listing the drop
// folder), load the state, plan n unchanged reports (a stat of each
// statement and output, no file read). Compare with BenchmarkGitStatus on
// the same tree. BenchmarkPlan_NoopPlanOnly leaves out the state load.
func BenchmarkPlan_Noop(b *testing.B) {
	dir := noopTree(b, benchFiles())
	b.ResetTimer()
	for b.Loop() {
		set, st := loadTree(b, dir)
		p, err := NewPlan(set, st, Options{})
		st.Close()
		if err != nil {
			b.Fatal(err)
		}
		if p.HasChanges() {
			b.Fatal("the no-op plan has changes")
		}
	}
}

// BenchmarkPlan_NoopPlanOnly is NewPlan alone, the state already loaded.
func BenchmarkPlan_NoopPlanOnly(b *testing.B) {
	dir := noopTree(b, benchFiles())
	set, st := loadTree(b, dir)
	b.ResetTimer()
	for b.Loop() {
		p, err := NewPlan(set, st, Options{})
		if err != nil || p.HasChanges() {
			b.Fatal("the no-op plan has changes", err)
		}
	}
}

// BenchmarkGitStatus runs `git status --porcelain` on the same kind of
// tree, committed, with a warm index: the yardstick of the no-op plan.
func BenchmarkGitStatus(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("no git")
	}
	dir := noopTree(b, benchFiles())
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@b", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@b")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-qm", "tree")
	git("status", "--porcelain")
	b.ResetTimer()
	for b.Loop() {
		git("status", "--porcelain")
	}
}

// BenchmarkApply_Throughput applies 64 new reports with 8 workers against
// an engine that adds 20 ms to every answer, with the real state. A
// report needs at least three answers (upload, process, one GET), so 8
// workers can finish at most 8 / 60 ms ≈ 133 reports a second; the
// metric "of-limit" is the measured rate over that limit (target ≥ 0.9).
func BenchmarkApply_Throughput(b *testing.B) {
	const (
		reports     = 64
		parallelism = 8
		latency     = 20 * time.Millisecond
	)
	e, err := engine.StartEmbedded(engine.Config{Faults: engine.Faults{Latency: latency}})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c, err := nordigen.New(nordigen.Config{BaseURL: e.URL, ClientID: e.ClientID, ClientSecret: nordigen.NewSecret(e.ClientSecret), RateLimit: 10000})
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		dir, st, p := newReports(b, reports)
		a := &Reconciler{Dir: dir, Store: st, API: c, Parallelism: parallelism, PollMin: 10 * time.Millisecond}
		b.StartTimer()
		t0 := time.Now()
		res, err := a.Apply(context.Background(), p)
		total += time.Since(t0)
		b.StopTimer()
		if err != nil || res.Failed() > 0 {
			b.Fatalf("apply: %v, %d failed", err, res.Failed())
		}
		st.Close()
		b.StartTimer()
	}
	rate := float64(reports*b.N) / total.Seconds()
	limit := float64(parallelism) / (3 * latency).Seconds()
	b.ReportMetric(rate, "reports/s")
	b.ReportMetric(rate/limit, "of-limit")
	if os.Getenv("LEDGERFORM_BENCH_VERBOSE") != "" {
		for _, ep := range []string{"token", "upload", "process", "result"} {
			n, _ := testutil.MetricSum(e.URL+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": ep})
			b.Logf("%s: %.0f requests for %d reports", ep, n, reports*b.N)
		}
	}
}

// loadTree loads the manifests and, read-only, the state of dir.
func loadTree(b testing.TB, dir string) (*spec.Set, *state.Store) {
	b.Helper()
	set, err := spec.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	st, err := state.OpenReadOnly(filepath.Join(dir, ".ledgerform"))
	if err != nil {
		b.Fatal(err)
	}
	return set, st
}
