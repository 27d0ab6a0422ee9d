package reconcile

import (
	"context"
	"html"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// prePages renders a page as the output in a <pre>: enough to see that
// the page follows the output it was given.
type prePages struct{ calls int }

func (p *prePages) RenderPage(_ context.Context, a report.Address, _ state.Spec, raw []byte) ([]byte, error) {
	p.calls++
	return []byte("<html><title>" + a.String() + "</title><pre>" + html.EscapeString(string(raw)) + "</pre></html>\n"), nil
}

// runSet plans set against the store and applies the plan with pages.
func (f *fixture) runSet(set *spec.Set, pages PageRenderer) (*Plan, *Result) {
	f.t.Helper()
	p, err := NewPlan(set, f.store, Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	r := f.applier()
	r.Pages, r.AllowMassDelete = pages, true
	res, err := r.Apply(f.t.Context(), p)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, o := range res.Outcomes {
		if o.Err != nil {
			f.t.Fatalf("%s: %v", o.Address, o.Err)
		}
	}
	return p, res
}

func (f *fixture) readFile(name string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) gone(name string) bool {
	_, err := os.Lstat(filepath.Join(f.dir, name))
	return os.IsNotExist(err)
}

func effectsOf(p *Plan) []string {
	var s []string
	for _, c := range p.Changes {
		for _, e := range c.Effects {
			s = append(s, string(e.Effect)+" "+e.Path+map[bool]string{true: " -> " + e.To}[e.To != ""])
		}
	}
	return s
}

// An HTML page follows its output through every action, with no remote
// call of its own, and never loses a file ledgerform did not write.
func TestPages_FollowTheOutput(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "s.json", statement(1))
	d := desired("a", "s.json")
	d.HTML = true
	set := func(prune bool, reports ...spec.Report) *spec.Set {
		return &spec.Set{Dir: f.dir, Settings: spec.Settings{Prune: prune}, Reports: reports}
	}
	pages := &prePages{}

	// Create: the page beside the output, 0600, tied to the output.
	f.runSet(set(false, d), pages)
	page := f.readFile("out/a.html")
	out := f.readFile("out/a.json")
	if fi, _ := os.Stat(filepath.Join(f.dir, "out/a.html")); fi.Mode().Perm() != 0o600 {
		t.Errorf("page mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>\n"+pageMarker+fsutil.Hash([]byte(out))+", page sha256 ") ||
		!strings.Contains(page, "completed") {
		t.Fatalf("page does not name or hold its output:\n%.300s", page)
	}
	if p, _ := f.runSet(set(false, d), pages); p.HasChanges() {
		t.Fatalf("second plan: %s, want nothing to do", actions(p))
	}
	calls := f.calls("result") + f.calls("upload")

	// The page alone missing: rendered again from the output, no call.
	os.Remove(filepath.Join(f.dir, "out/a.html"))
	p, _ := f.runSet(set(false, d), pages)
	if got := actions(p); got != "report.a=render" || !strings.Contains(p.Changes[0].Reasons[0], "missing") {
		t.Fatalf("page missing: %s %q, want render", got, p.Changes[0].Reasons)
	}
	if f.readFile("out/a.html") != page {
		t.Errorf("the page rendered again differs from the first")
	}

	// A file put at the page's path after the output was written is left
	// alone (the plan takes one lstat: it is newer than the output)...
	writeFile(t, f.dir, "out/a.html", "my notes")
	if p, _ = f.runSet(set(false, d), pages); p.HasChanges() || f.readFile("out/a.html") != "my notes" {
		t.Errorf("a newer file at the page's path: %s; want it left alone", actions(p))
	}
	// ... but one older than the output is read, found not to be
	// ledgerform's, and the plan says it is overwritten.
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	os.Chtimes(filepath.Join(f.dir, "out/a.html"), old, old)
	p, _ = f.runSet(set(false, d), pages)
	if got := effectsOf(p); !slices.Equal(got, []string{"overwrite out/a.html"}) {
		t.Errorf("foreign page: effects %q", got)
	}
	if f.readFile("out/a.html") != page {
		t.Errorf("the foreign file was not replaced by the page")
	}

	// Output edited: restored, and the page written again for it.
	writeFile(t, f.dir, "out/a.json", "{}")
	if p, _ = f.runSet(set(false, d), pages); actions(p) != "report.a=restore" {
		t.Fatalf("output edited: %s, want restore", actions(p))
	}
	if f.readFile("out/a.html") != page {
		t.Errorf("page after restore differs")
	}

	// Output moved: the page moves with it; the plan names both renames.
	moved := d
	moved.Output = "archive/a.json"
	p, _ = f.runSet(set(false, moved), pages)
	if got := effectsOf(p); !slices.Equal(got, []string{"rename out/a.json -> archive/a.json", "rename out/a.html -> archive/a.html"}) {
		t.Errorf("move: effects %q", got)
	}
	if !f.gone("out/a.html") || f.readFile("archive/a.html") != page {
		t.Errorf("the page did not move with its output")
	}

	// html turned off: without prune the page stays; with prune it goes.
	off := moved
	off.HTML = false
	if p, _ = f.runSet(set(false, off), pages); p.HasChanges() || f.gone("archive/a.html") {
		t.Errorf("html off, prune off: %s, page gone %v; want nothing done", actions(p), f.gone("archive/a.html"))
	}
	p, _ = f.runSet(set(true, off), pages)
	if got := effectsOf(p); actions(p) != "report.a=render" || !slices.Equal(got, []string{"remove archive/a.html"}) {
		t.Errorf("html off, prune on: %s %q", actions(p), got)
	}
	if !f.gone("archive/a.html") || f.gone("archive/a.json") {
		t.Errorf("html off, prune on: the page should go and the output stay")
	}

	// On again, then the page edited: deleting the report with prune
	// removes the output and leaves the edited page, saying so.
	f.runSet(set(false, moved), pages)
	edited := strings.Replace(f.readFile("archive/a.html"), "<pre>", "<pre>my note ", 1)
	writeFile(t, f.dir, "archive/a.html", edited)
	p, _ = f.runSet(set(true), pages)
	if got := effectsOf(p); !slices.Equal(got, []string{"remove archive/a.json", "keep archive/a.html"}) {
		t.Errorf("delete with an edited page: effects %q", got)
	}
	if !f.gone("archive/a.json") || f.readFile("archive/a.html") != edited {
		t.Errorf("delete: the output should go and the edited page stay")
	}
	if n := f.calls("result") + f.calls("upload"); n != calls+1 {
		t.Errorf("remote calls after the first apply: %d, want 1 (the restore's GET)", n-calls)
	}
}

// Deleting a report with prune removes its unedited page with it.
func TestPages_PrunedWithTheOutput(t *testing.T) {
	f := newFixture(t, engine.Config{})
	writeFile(t, f.dir, "s.json", statement(2))
	d := desired("b", "s.json")
	d.HTML = true
	f.runSet(&spec.Set{Dir: f.dir, Reports: []spec.Report{d}}, &prePages{})
	p, _ := f.runSet(&spec.Set{Dir: f.dir, Settings: spec.Settings{Prune: true}}, &prePages{})
	if got := effectsOf(p); !slices.Equal(got, []string{"remove out/b.json", "remove out/b.html"}) {
		t.Errorf("effects %q", got)
	}
	if !f.gone("out/b.json") || !f.gone("out/b.html") {
		t.Errorf("output and page should both be pruned")
	}
}

func TestPageHeader_Foreign(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"plain.html": "<!DOCTYPE html>\n<html></html>",
		"short.html": "<!DOCTYPE html>\n" + pageMarker + "abc, page sha256 def -->\n",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
		if st := readPage(dir, name, "abc"); st != pageForeign {
			t.Errorf("%s: state %v, want foreign", name, st)
		}
	}
	if st := readPage(dir, "none.html", ""); st != pageMissing {
		t.Errorf("missing: %v", st)
	}
}
