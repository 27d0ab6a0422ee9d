package daemon

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/state"
)

// An editor-style save of a manifest (a temporary file renamed over it)
// reconciles exactly the report it changed, once.
func TestWatch_EditorSaveReconcilesTheAffectedReport(t *testing.T) {
	dir := t.TempDir()
	for i, n := range []string{"a", "b", "c"} {
		write(t, dir, "s/"+n+".json", statement(i))
	}
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation"), reportYAML("b", "categorisation"), reportYAML("c", "categorisation")))
	h := start(t, dir, Config{}, engine.Config{})
	h.eventually("the first full reconcile", h.settled)
	if got := h.metric("ledgerform_reconcile_total", map[string]string{"action": "create", "outcome": "success"}); got != 3 {
		t.Fatalf("%d creates, want 3", got)
	}
	uploads := h.calls("upload")

	saveLikeAnEditor(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation"), reportYAML("b", "categorisation, simple-score"), reportYAML("c", "categorisation")))
	h.eventually("the replace of report.b", func() bool {
		return h.metric("ledgerform_reconcile_total", map[string]string{"action": "replace"}) == 1 && h.settled()
	})
	if got := h.calls("upload") - uploads; got != 1 {
		t.Errorf("%d uploads after the save, want 1", got)
	}
	if got := h.metric("ledgerform_reconcile_total", nil); got != 4 {
		t.Errorf("%d reconciles in all, want 4 (3 creates, 1 replace)", got)
	}
	if got := h.metric("ledgerform_resyncs_total", map[string]string{"reason": "manifest"}); got != 1 {
		t.Errorf("%d manifest reloads for one save, want 1", got)
	}
}

// Rewriting twenty manifests at once is one plan.
func TestWatch_TwentyManifestsOnePlan(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		write(t, dir, fmt.Sprintf("s/r%d.json", i), statement(i))
		write(t, dir, fmt.Sprintf("m%02d.yaml", i), manifest(reportYAML(fmt.Sprintf("r%d", i), "categorisation")))
	}
	h := start(t, dir, Config{}, engine.Config{})
	h.eventually("the first full reconcile", h.settled)
	for i := range 20 {
		write(t, dir, fmt.Sprintf("m%02d.yaml", i), manifest(reportYAML(fmt.Sprintf("r%d", i), "categorisation, insights-risk")))
	}
	h.eventually("20 replaces", func() bool {
		return h.metric("ledgerform_reconcile_total", map[string]string{"action": "replace", "outcome": "success"}) == 20 && h.settled()
	})
	if got := h.metric("ledgerform_resyncs_total", map[string]string{"reason": "manifest"}); got != 1 {
		t.Errorf("%d plans for one checkout of 20 manifests, want 1", got)
	}
}

// A file dropped by slow writes over a second is uploaded once, complete;
// a file dropped by rename is uploaded once.
func TestWatch_DroppedFiles(t *testing.T) { testDroppedFiles(t, 0) }

// The same with --poll: the folder scanned, not watched with fsnotify (as
// on NFS), and the same rule for a complete file.
func TestWatch_DroppedFilesPolled(t *testing.T) { testDroppedFiles(t, 50*time.Millisecond) }

func testDroppedFiles(t *testing.T, poll time.Duration) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "inbox"), 0o700)
	write(t, dir, "m.yaml", "drops:\n  - {name: inbox, dir: inbox, operations: [categorisation], country: uk}\n")
	h := start(t, dir, Config{Quiet: 500 * time.Millisecond, Poll: poll}, engine.Config{})
	h.eventually("ready", h.settled)

	// Slow writes: ten pieces, 100 ms apart, less than the quiet period.
	body := statement(7)
	f, err := os.Create(filepath.Join(dir, "inbox", "slow.json"))
	if err != nil {
		t.Fatal(err)
	}
	step := (len(body) + 9) / 10
	for i := 0; i < len(body); i += step {
		f.WriteString(body[i:min(i+step, len(body))])
		f.Sync()
		time.Sleep(100 * time.Millisecond)
		if h.calls("upload") != 0 {
			t.Fatalf("uploaded while being written (%d of %d bytes)", i+step, len(body))
		}
	}
	f.Close()
	addr := `drop.inbox["slow.json"]`
	h.eventually("the slow file completed", func() bool { return h.phase(addr) == state.Completed && h.settled() })
	if got := h.calls("upload"); got != 1 {
		t.Errorf("%d uploads of the slow file, want 1", got)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out/inbox/slow.json"))
	if err != nil || !strings.Contains(string(out), "Holder 7") {
		t.Errorf("output of the slow file: %v\n%s", err, out)
	}

	// By rename, from a temporary name in the folder itself.
	write(t, dir, "inbox/.fast.json.part", statement(8))
	if err := os.Rename(filepath.Join(dir, "inbox/.fast.json.part"), filepath.Join(dir, "inbox/fast.json")); err != nil {
		t.Fatal(err)
	}
	h.eventually("the renamed file completed", func() bool { return h.phase(`drop.inbox["fast.json"]`) == state.Completed && h.settled() })
	if got := h.calls("upload"); got != 2 {
		t.Errorf("%d uploads in all, want 2", got)
	}
	for _, r := range h.status().Reports {
		if strings.Contains(r.Address, "part") {
			t.Errorf("a temporary name became a report: %s", r.Address)
		}
	}
}

// A manifest saved half-written deletes nothing and keeps the last good
// manifests in force; fixing it applies the change. The broken file holds
// 2 of 10 reports, too few for the mass-delete stop to hide a daemon that
// dropped them: only the last-good rule keeps them.
func TestWatch_HalfWrittenManifestDeletesNothing(t *testing.T) {
	dir := t.TempDir()
	var kept []string
	for i := range 8 {
		n := fmt.Sprintf("k%d", i)
		write(t, dir, "s/"+n+".json", statement(10+i))
		kept = append(kept, reportYAML(n, "categorisation"))
	}
	for i, n := range []string{"a", "b"} {
		write(t, dir, "s/"+n+".json", statement(i))
	}
	write(t, dir, "kept.yaml", "settings:\n  prune: true\n"+manifest(kept...))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation"), reportYAML("b", "categorisation")))
	hup := make(chan os.Signal, 1)
	h := start(t, dir, Config{Hup: hup}, engine.Config{})
	h.eventually("ready", h.settled)

	half := "reports:\n  - {name: a, statements: [s/a.json], operations: [categ"
	write(t, dir, "m.yaml", half)
	h.eventually("the manifest error on /status", func() bool { return len(h.status().Manifests.Errors) > 0 })
	// A resync plans everything with the manifests in force: were the
	// broken file's reports dropped, this is where they would go.
	hup <- syscall.SIGHUP
	h.eventually("the resync", func() bool {
		return h.metric("ledgerform_resyncs_total", map[string]string{"reason": "sighup"}) == 1 && h.settled()
	})
	s := h.status()
	if !strings.Contains(s.Manifests.Errors[0], "m.yaml:") {
		t.Errorf("manifest error without its position: %q", s.Manifests.Errors[0])
	}
	if len(s.Reports) != 10 {
		t.Errorf("%d reports recorded after a half-written manifest, want 10", len(s.Reports))
	}
	if n := h.metric("ledgerform_reconcile_total", map[string]string{"action": "delete"}); n != 0 {
		t.Errorf("%d deletes after a half-written manifest, want 0", n)
	}
	for _, n := range []string{"a", "b"} {
		if _, err := os.Stat(filepath.Join(dir, "out", n+".json")); err != nil {
			t.Errorf("output of %s: %v", n, err)
		}
	}
	if s.Manifests.Held != "" {
		t.Errorf("deletions held back (%s): the mass-delete stop, not the last good manifests, kept them", s.Manifests.Held)
	}
	if h.metric("ledgerform_manifests_valid", nil) != 0 {
		t.Error("ledgerform_manifests_valid is not 0")
	}

	// Fixed, with report b removed on purpose: now it goes (prune on).
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation"), reportYAML("c", "categorisation"))+"\n")
	write(t, dir, "s/c.json", statement(3))
	h.eventually("the fix applied", func() bool {
		s := h.status()
		return len(s.Manifests.Errors) == 0 && h.phase("report.c") == state.Completed && h.phase("report.b") == "" && h.settled()
	})
	if _, err := os.Stat(filepath.Join(dir, "out/b.json")); !os.IsNotExist(err) {
		t.Errorf("report b's output after it was removed with prune on: %v", err)
	}
}

// A statement edited in place replaces its report.
func TestWatch_EditedStatement(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "s/b.json", statement(2))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation"), reportYAML("b", "categorisation")))
	h := start(t, dir, Config{}, engine.Config{})
	h.eventually("ready", h.settled)
	write(t, dir, "s/a.json", statement(11))
	h.eventually("the replace", func() bool {
		return h.metric("ledgerform_reconcile_total", map[string]string{"action": "replace", "outcome": "success"}) == 1 && h.settled()
	})
	if got := h.calls("upload"); got != 3 {
		t.Errorf("%d uploads, want 3", got)
	}
}

// Transient failures are retried with backoff until they succeed. The
// engine reports a failed processing as TIMEOUT_PROCESSING or as a lasting
// 500 UNKNOWN_ERROR; the second is given up only at the poll deadline,
// kept short here.
func TestWatch_TransientFailuresAreRetried(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation")))
	h := start(t, dir, Config{BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, PollDeadline: 500 * time.Millisecond},
		engine.Config{Faults: engine.Faults{FailProcessing: 0.6, Seed: 3}})
	h.eventually("report.a completed despite failures", func() bool { return h.phase("report.a") == state.Completed })
	if h.metric("ledgerform_queue_retries_total", nil) == 0 && h.calls("process") > 1 {
		t.Error("processed more than once without a retry counted")
	}
}

// SIGHUP and the periodic timer each run a full resync; a resync that
// finds nothing changed reconciles nothing.
func TestWatch_HupAndPeriodicResync(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", manifest(reportYAML("a", "categorisation")))
	hup := make(chan os.Signal, 1)
	h := start(t, dir, Config{Hup: hup, Resync: time.Hour}, engine.Config{})
	h.eventually("ready", h.settled)
	hup <- syscall.SIGHUP
	h.eventually("a resync on SIGHUP", func() bool {
		return h.metric("ledgerform_resyncs_total", map[string]string{"reason": "sighup"}) == 1
	})
	if got := h.metric("ledgerform_reconcile_total", nil); got != 1 {
		t.Errorf("%d reconciles after a resync with nothing changed, want still 1", got)
	}

	dir2 := t.TempDir()
	write(t, dir2, "s/a.json", statement(1))
	write(t, dir2, "m.yaml", manifest(reportYAML("a", "categorisation")))
	h2 := start(t, dir2, Config{Resync: 300 * time.Millisecond}, engine.Config{})
	h2.eventually("periodic resyncs", func() bool {
		return h2.metric("ledgerform_resyncs_total", map[string]string{"reason": "periodic"}) >= 2
	})
}

// A change of settings.endpoint or settings.parallelism, which a running
// daemon cannot take, is logged as needing a restart, once; prune is
// taken at once.
func TestWatch_SettingsThatNeedARestart(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "m.yaml", "settings:\n  parallelism: 2\n"+manifest(reportYAML("a", "categorisation")))
	h := start(t, dir, Config{}, engine.Config{})
	h.eventually("ready", h.settled)
	if strings.Contains(h.logs.String(), "restart") {
		t.Fatalf("a restart asked for before any change:\n%s", h.logs.String())
	}
	saveLikeAnEditor(t, dir, "m.yaml", "settings:\n  parallelism: 3\n  endpoint: http://127.0.0.1:9\n"+manifest(reportYAML("a", "categorisation")))
	h.eventually("the warnings", func() bool {
		l := h.logs.String()
		return strings.Contains(l, "settings.endpoint changed; restart") && strings.Contains(l, "settings.parallelism changed; restart")
	})
	saveLikeAnEditor(t, dir, "m.yaml", "settings:\n  parallelism: 3\n  endpoint: http://127.0.0.1:9\n"+manifest(reportYAML("a", "categorisation"))+"\n")
	h.eventually("the second reload", func() bool {
		return h.metric("ledgerform_resyncs_total", map[string]string{"reason": "manifest"}) == 2
	})
	if n := strings.Count(h.logs.String(), "settings.endpoint changed"); n != 1 {
		t.Errorf("the endpoint warning logged %d times, want once", n)
	}
}

// A file still being written when the daemon starts is held back (by the
// first resync, which plans everything and then drops the changes of
// files not complete yet, and again by the worker) and uploaded once,
// complete.
func TestWatch_ResyncHoldsAFileBeingWritten(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "inbox"), 0o700)
	write(t, dir, "m.yaml", "drops:\n  - {name: inbox, dir: inbox, operations: [categorisation], country: uk}\n")
	body := statement(9)
	f, err := os.Create(filepath.Join(dir, "inbox", "early.json"))
	if err != nil {
		t.Fatal(err)
	}
	step := (len(body) + 9) / 10
	f.WriteString(body[:step])
	f.Sync()
	h := start(t, dir, Config{Quiet: 500 * time.Millisecond}, engine.Config{})
	for i := step; i < len(body); i += step {
		time.Sleep(100 * time.Millisecond)
		if h.calls("upload") != 0 {
			t.Fatalf("uploaded while being written (%d of %d bytes)", i, len(body))
		}
		f.WriteString(body[i:min(i+step, len(body))])
		f.Sync()
	}
	f.Close()
	addr := `drop.inbox["early.json"]`
	h.eventually("the file completed", func() bool { return h.phase(addr) == state.Completed && h.settled() })
	if got := h.calls("upload"); got != 1 {
		t.Errorf("%d uploads, want 1", got)
	}
}

// With the endpoint fixed (Config.Endpoint, watch --endpoint), a file
// dropped again under a new name reuses the first one's result: no
// upload, the same output bytes, the record naming its source. Without
// it nothing is reused (the manifests name the endpoint).
func TestWatch_RedroppedFileReusesTheResult(t *testing.T) {
	for _, endpoint := range []string{"http://engine.test", ""} {
		t.Run(cmp.Or(endpoint, "no endpoint"), func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "inbox"), 0o700)
			write(t, dir, "m.yaml", "drops:\n  - {name: inbox, dir: inbox, operations: [categorisation], country: uk}\n")
			h := start(t, dir, Config{Quiet: 200 * time.Millisecond, Endpoint: endpoint}, engine.Config{})
			h.eventually("ready", h.settled)
			write(t, dir, "inbox/.a.part", statement(5))
			os.Rename(filepath.Join(dir, "inbox/.a.part"), filepath.Join(dir, "inbox/a.json"))
			h.eventually("a completed", func() bool { return h.phase(`drop.inbox["a.json"]`) == state.Completed && h.settled() })
			write(t, dir, "inbox/.b.part", statement(5))
			os.Rename(filepath.Join(dir, "inbox/.b.part"), filepath.Join(dir, "inbox/b.json"))
			h.eventually("b completed", func() bool { return h.phase(`drop.inbox["b.json"]`) == state.Completed && h.settled() })
			want := 1
			if endpoint == "" {
				want = 2
			}
			if got := h.calls("upload"); got != want {
				t.Errorf("%d uploads, want %d", got, want)
			}
			rec, _ := h.store.Get(`drop.inbox["b.json"]`)
			if (rec.ReusedFrom == `drop.inbox["a.json"]`) != (endpoint != "") || rec.Endpoint != endpoint {
				t.Errorf("b's record: reused from %q, endpoint %q", rec.ReusedFrom, rec.Endpoint)
			}
			a, _ := os.ReadFile(filepath.Join(dir, "out/inbox/a.json"))
			b, _ := os.ReadFile(filepath.Join(dir, "out/inbox/b.json"))
			if len(a) == 0 || string(a) != string(b) {
				t.Errorf("the outputs differ")
			}
		})
	}
}
