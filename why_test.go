package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerform/ledgerform/state"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

const goodStatement = `{"account_list":[{"account_nr":"GB01","transaction_list":[{"date":"2026-01-05","sum":100.5,"partner":"ACME"}]}]}`

// applied is a working directory with three reports applied against an
// engine on loopback: completed, blocked (a statement the API refuses)
// and backing-off (its record made a transient failure at the poll, as a
// 503 leaves it).
func applied(t *testing.T) string {
	t.Helper()
	e := engineWithCredentials(t)
	dir := t.TempDir()
	for name, body := range map[string]string{"completed": goodStatement, "blocked": `{"not": "a statement"}`, "backing-off": goodStatement} {
		os.MkdirAll(filepath.Join(dir, "s"), 0o700)
		writeFile(t, filepath.Join(dir, "s", name+".json"), body)
	}
	writeFile(t, filepath.Join(dir, "ledgerform.yaml"), `reports:
  - {name: completed, statements: [s/completed.json], operations: [categorisation], country: uk}
  - {name: blocked, statements: [s/blocked.json], operations: [categorisation], country: uk}
  - name: backing-off
    statements: [s/backing-off.json]
    operations: [categorisation]
    country: uk
`)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"apply", "--dir", dir, "--endpoint", e.URL}, &out, &errb); err == nil {
		t.Fatalf("apply succeeded with a statement the API refuses\n%s%s", out.String(), errb.String())
	}
	st, err := state.Open(filepath.Join(dir, ".ledgerform"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, ok := st.Get("report.backing-off")
	if !ok {
		t.Fatal("report.backing-off not recorded")
	}
	r.Phase, r.Attempts = state.Failed, 3
	r.LastError = &state.Failure{Code: "SERVICE_UNAVAILABLE", Message: "503 Service Unavailable", Step: "poll"}
	if err := st.Put(r); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestWhy_Golden holds why's text for a blocked, a backing-off and a
// completed report to testdata/why-*.golden; -update rewrites them.
func TestWhy_Golden(t *testing.T) {
	dir := applied(t)
	for _, name := range []string{"blocked", "backing-off", "completed"} {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if err := run(context.Background(), []string{"why", "report." + name, "--dir", dir, "--addr", ""}, &out, &errb); err != nil {
				t.Fatalf("why: %v\n%s", err, errb.String())
			}
			checkGolden(t, "why-"+name+".golden", out.Bytes())
		})
	}
}

// why names a mistyped address's likely meaning, and without a daemon
// says so.
func TestWhy_Errors(t *testing.T) {
	dir := applied(t)
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"why", "report.complted", "--dir", dir}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "did you mean report.completed?") {
		t.Errorf("why of a typo = %v, want did you mean", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"why", "report.completed", "--dir", dir, "--addr", "127.0.0.1:9"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "daemon: none answers at 127.0.0.1:9") {
		t.Errorf("why without a daemon:\n%s", out.String())
	}
}
