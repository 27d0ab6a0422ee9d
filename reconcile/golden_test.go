package reconcile

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// TestPlan_Golden renders a plan with every action, for people and as
// JSON, and compares both with testdata/plan.golden.*. Run with -update
// to rewrite them after a deliberate change of the format.
func TestPlan_Golden(t *testing.T) {
	f := newFixture(t, engine.Config{})
	names := []string{"edited", "moved", "restored", "deleted", "blocked", "same", "resumed", "retried", "suspended"}
	var reports []spec.Report
	for i, n := range names {
		body := statement(i)
		if n == "blocked" {
			body = `{"not": "a statement"}`
		}
		writeFile(t, f.dir, "statements/"+n+".json", body)
		reports = append(reports, desired(n, "statements/"+n+".json"))
	}
	f.run(Options{}, reports...)

	// Make one report of each kind.
	writeFile(t, f.dir, "statements/edited.json", statement(100))
	reports[0].Operations = []string{"categorisation", "insights-income"}
	p := int(6)
	reports[0].Params = &report.Params{Period: &p}
	reports[1].Output = "archive/moved.json"
	os.Remove(filepath.Join(f.dir, "out/restored.json"))
	for _, a := range []report.Address{"report.resumed", "report.retried"} {
		r, _ := f.store.Get(a)
		if a == "report.resumed" {
			r.Phase = state.Processing
		} else {
			r.Phase, r.LastError = state.Failed, &state.Failure{Code: "SERVICE_UNAVAILABLE", Message: "503 Service Unavailable", Step: "poll"}
		}
		f.store.Put(r)
	}
	writeFile(t, f.dir, "statements/suspended.json", statement(101))
	reports[8].Suspended = true
	writeFile(t, f.dir, "statements/new.json", statement(50))
	desiredNow := []spec.Report{reports[0], reports[1], reports[2], reports[4], reports[5], reports[6], reports[7], reports[8],
		desired("created", "statements/new.json"), desired("unreadable", "statements/nowhere.json"),
		desired("copied", "statements/same.json")} // what report.same asks: its result is reused

	plan, err := NewPlan(&spec.Set{Dir: f.dir, Reports: desiredNow}, f.store, Options{Endpoint: testEndpoint})
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	if err := plan.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := plan.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/plan.golden.txt", text.Bytes())
	golden(t, "testdata/plan.golden.json", js.Bytes())

	// And the plan of nothing to do.
	var none bytes.Buffer
	(&Plan{Changes: []Change{{Address: "report.a", Action: Noop}}}).WriteText(&none)
	golden(t, "testdata/plan-nochanges.golden.txt", none.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update after a deliberate change):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
