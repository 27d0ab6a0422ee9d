package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/state"
)

const gitReportA = "  - {name: a, statements: [s/a.json], operations: [categorisation], country: uk}\n"
const gitReportB = "  - {name: b, statements: [s/b.json], operations: [categorisation], country: uk}\n"

// engineWithCredentials starts an engine on loopback for the test, with
// its credentials in the environment.
func engineWithCredentials(t *testing.T) *engine.Running {
	t.Helper()
	e, err := engine.StartEmbedded(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	t.Setenv("NORDIGEN_CLIENT_ID", e.ClientID)
	t.Setenv("NORDIGEN_CLIENT_SECRET", e.ClientSecret)
	return e
}

// plan --git --ref on a ref that adds a report shows exactly that create,
// against the state of --dir, whose statements the paths resolve against.
func TestPlanGit_RefThatAddsAReport(t *testing.T) {
	e := engineWithCredentials(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "s"), 0o700)
	writeFile(t, filepath.Join(dir, "s", "a.json"), goodStatement)
	writeFile(t, filepath.Join(dir, "s", "b.json"), goodStatement)
	// report.a applied, as a watch of main would have.
	writeFile(t, filepath.Join(dir, "m.yaml"), "reports:\n"+gitReportA)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"apply", "--dir", dir, "--endpoint", e.URL}, &out, &errb); err != nil {
		t.Fatalf("apply: %v\n%s%s", err, out.String(), errb.String())
	}
	os.Remove(filepath.Join(dir, "m.yaml"))

	repo := testutil.NewGitRepo(t)
	repo.Commit("a", map[string]string{"deploy/m.yaml": "reports:\n" + gitReportA})
	repo.Git("checkout", "--quiet", "-b", "add-b")
	c2 := repo.Commit("b", map[string]string{"deploy/m.yaml": "reports:\n" + gitReportA + gitReportB})
	repo.Git("checkout", "--quiet", "main")

	out.Reset()
	errb.Reset()
	if err := run(context.Background(), []string{"plan", "--dir", dir, "--git", repo.URL(), "--path", "deploy", "--ref", "add-b", "--json"}, &out, &errb); err != nil {
		t.Fatalf("plan: %v\n%s", err, errb.String())
	}
	var doc struct {
		Changes []struct{ Address, Action string }
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var changes []string
	for _, c := range doc.Changes {
		if c.Action != "noop" {
			changes = append(changes, c.Action+" "+c.Address)
		}
	}
	if strings.Join(changes, ", ") != "create report.b" {
		t.Errorf("changes %q, want exactly the create of report.b\n%s", changes, out.String())
	}

	out.Reset()
	if err := run(context.Background(), []string{"plan", "--dir", dir, "--git", repo.URL(), "--path", "deploy", "--ref", "add-b"}, &out, &errb); err != nil {
		t.Fatalf("plan: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "revision "+c2) || !strings.Contains(out.String(), "report.b will be created") || strings.Contains(out.String(), "report.a will") {
		t.Errorf("plan text:\n%s", out.String())
	}
	// Without --ref: the remote's HEAD (main), which has no change.
	out.Reset()
	if err := run(context.Background(), []string{"plan", "--dir", dir, "--git", repo.URL(), "--path", "deploy", "--detailed-exitcode"}, &out, &errb); err != nil {
		t.Fatalf("plan of main: %v\n%s", err, out.String())
	}
	if fi, err := os.Stat(filepath.Join(dir, ".ledgerform", "git")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the cache: %v %v", fi, err)
	}

	// why names the revision a report was applied from.
	st, err := state.Open(filepath.Join(dir, ".ledgerform"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := st.Get("report.a")
	r.Revision = c2
	if err := st.Put(r); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out.Reset()
	if err := run(context.Background(), []string{"why", "report.a", "--dir", dir, "--git", repo.URL(), "--path", "deploy", "--addr", ""}, &out, &errb); err != nil {
		t.Fatalf("why: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "applied from revision "+c2) || !strings.Contains(out.String(), ":deploy/m.yaml:2:5") {
		t.Errorf("why:\n%s", out.String())
	}
}

func TestValidateGit_errorsNameTheCommit(t *testing.T) {
	repo := testutil.NewGitRepo(t)
	c := repo.Commit("typo", map[string]string{"m.yaml": "reports:\n  - name: a\n    operatons: [categorisation]\n"})
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"validate", "--dir", t.TempDir(), "--git", repo.URL()}, &out, &errb)
	if err == nil || !strings.Contains(errb.String()+err.Error(), c[:12]+`:m.yaml:3:5: unknown key "operatons"`) {
		t.Fatalf("validate: %v\n%s", err, errb.String())
	}

	good := repo.Commit("fixed", map[string]string{"m.yaml": "reports: []\n"})
	out.Reset()
	if err := run(context.Background(), []string{"validate", "--dir", t.TempDir(), "--git", repo.URL()}, &out, &errb); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if !strings.Contains(out.String(), "Revision "+good) {
		t.Errorf("validate says %q", out.String())
	}
}

func TestGitFlags_needGit(t *testing.T) {
	for _, args := range [][]string{{"plan", "--ref", "x"}, {"validate", "--path", "p"}, {"watch", "--branch", "main"}} {
		var out, errb bytes.Buffer
		err := run(context.Background(), append(args, "--dir", t.TempDir()), &out, &errb)
		if err == nil || !strings.Contains(errb.String()+err.Error(), "needs --git") {
			t.Errorf("%q: %v %s", args, err, errb.String())
		}
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"plan", "--dir", t.TempDir(), "--git", "https://u:hunter2@example.com/r.git"}, &out, &errb)
	if err == nil || strings.Contains(errb.String()+err.Error(), "hunter2") {
		t.Errorf("a URL with a password: %v %s", err, errb.String())
	}
}
