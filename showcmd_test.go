package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/summary"
)

// appliedExamples is a copy of examples/ in a temporary directory, applied
// with its own settings (endpoint: embedded: the engine inside the
// process, on loopback).
func appliedExamples(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "examples")
	if err := os.CopyFS(dir, os.DirFS("examples")); err != nil {
		t.Fatal(err)
	}
	for _, gen := range []string{"out", ".ledgerform"} { // a developer's own run of the quick start
		os.RemoveAll(filepath.Join(dir, gen))
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"apply", "--dir", dir}, &out, &errb); err != nil {
		t.Fatalf("apply: %v\n%s%s", err, out.String(), errb.String())
	}
	return dir
}

// show runs show with args in dir and returns its stdout and stderr.
func show(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"show", "--dir", dir}, args...), &out, &errb)
	return out.String(), errb.String(), err
}

// checkGolden compares got with testdata/NAME; -update rewrites it.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", golden, got)
	}
}

var exampleReports = []string{"salaried-alex", "payday-gambling-jordan", "joint-patel"}

// TestShow_Golden holds show's text, JSON and CSV of the three examples
// in testdata/show/. The examples are applied twice, in two working
// directories, and both must give the golden bytes: the engine is
// deterministic, and so must show be.
func TestShow_Golden(t *testing.T) {
	for run := range 2 {
		dir := appliedExamples(t)
		for _, name := range exampleReports {
			for _, format := range []struct{ flag, ext string }{{"", "txt"}, {"--json", "json"}, {"--csv", "csv"}} {
				args := []string{"report." + name}
				if format.flag != "" {
					args = append(args, format.flag)
				}
				out, errb, err := show(t, dir, args...)
				if err != nil {
					t.Fatalf("run %d: show %v: %v\n%s", run, args, err, errb)
				}
				if run > 0 && *update {
					continue
				}
				checkGolden(t, filepath.Join("show", name+"."+format.ext), []byte(out))
			}
		}
	}
}

// The summary's JSON is the same summary as the text: titles, the months
// and their arithmetic, only the products asked for.
func TestShow_JSON(t *testing.T) {
	dir := appliedExamples(t)
	out, _, err := show(t, dir, "report.joint-patel", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Products []string        `json:"products"`
		Loans    json.RawMessage `json:"loans"`
		Risk     json.RawMessage `json:"risk"`
		Titles   struct{ Available bool }
		Accounts []struct {
			Currency     string
			StartBalance float64 `json:"start_balance"`
			EndBalance   float64 `json:"end_balance"`
			Months       []struct {
				MoneyIn    float64 `json:"money_in"`
				MoneyOut   float64 `json:"money_out"`
				Net        float64
				EndBalance float64 `json:"end_balance"`
			}
		}
		Transactions []struct {
			Category   string
			CategoryID int `json:"category_id"`
		}
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Products, ",") != "categorisation,insights-income,simple-score" || s.Loans != nil || s.Risk != nil {
		t.Errorf("products %v, loans %s, risk %s: want only what joint-patel asks for", s.Products, s.Loans, s.Risk)
	}
	if len(s.Accounts) != 2 || s.Accounts[0].Currency != "GBP" || s.Accounts[1].Currency != "EUR" {
		t.Fatalf("accounts = %+v; want the GBP and the EUR side of the joint account", s.Accounts)
	}
	for _, a := range s.Accounts {
		bal := a.StartBalance
		for i, m := range a.Months {
			if d := m.MoneyIn - m.MoneyOut - m.Net; d > 0.005 || d < -0.005 {
				t.Errorf("%s month %d: net %v, in %v, out %v", a.Currency, i, m.Net, m.MoneyIn, m.MoneyOut)
			}
			bal += m.Net
			if d := bal - m.EndBalance; d > 0.005 || d < -0.005 {
				t.Errorf("%s month %d: end balance %v, want %v", a.Currency, i, m.EndBalance, bal)
			}
		}
		if d := bal - a.EndBalance; d > 0.005 || d < -0.005 {
			t.Errorf("%s: the last month ends at %v, the account at %v", a.Currency, bal, a.EndBalance)
		}
	}
	if !s.Titles.Available || len(s.Transactions) == 0 {
		t.Fatalf("titles %+v, %d transactions", s.Titles, len(s.Transactions))
	}
	for _, tx := range s.Transactions {
		if tx.Category == "" {
			t.Errorf("transaction of category %d has no title", tx.CategoryID)
		}
	}
}

// The tree is fetched once, kept in .ledgerform/trees/ (0600), and used
// offline afterwards; without it, show takes the result's own titles and
// says so and why.
func TestShow_TreeCacheAndOffline(t *testing.T) {
	dir := appliedExamples(t)
	out, errb, err := show(t, dir, "report.salaried-alex", "--offline")
	if err != nil {
		t.Fatal(err)
	}
	// No tree: the titles the result carries (its transactions' and
	// definitions'), and a note that says so and why.
	if !strings.Contains(out, "note: category titles are the result's own") ||
		!strings.Contains(out, "no category tree: no cached category tree for uk uk_") ||
		!regexp.MustCompile(`(?m)^  Salary\s+85\s+6\s`).MatchString(out) || !strings.Contains(out, "Supermarkets") ||
		regexp.MustCompile(`(?m)^  -\s+\d+\s`).MatchString(out) || strings.Contains(errb, "fetching") {
		t.Errorf("offline without a cache:\n%s\nstderr: %s", out, errb)
	}
	var js struct {
		Titles struct {
			Available bool
			Source    string
		}
	}
	out, _, err = show(t, dir, "report.salaried-alex", "--offline", "--json")
	if err != nil || json.Unmarshal([]byte(out), &js) != nil || js.Titles.Available || js.Titles.Source != "result" {
		t.Errorf("offline --json titles = %+v (%v)", js.Titles, err)
	}

	// An API that cannot be reached: the summary all the same, by ids,
	// and why.
	t.Setenv("NORDIGEN_CLIENT_ID", "id")
	t.Setenv("NORDIGEN_CLIENT_SECRET", "secret")
	out, _, err = show(t, dir, "report.salaried-alex", "--endpoint", "http://127.0.0.1:9")
	if err != nil || !strings.Contains(out, "and fetching it failed: cannot reach the API at http://127.0.0.1:9") || !strings.Contains(out, "Score: 10 of 10") {
		t.Errorf("show with the API down: %v\n%s", err, out)
	}

	_, errb, err = show(t, dir, "report.salaried-alex")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(errb, "fetching the uk category tree") != 1 {
		t.Errorf("first show's stderr %q; want one fetch", errb)
	}
	trees, _ := filepath.Glob(filepath.Join(dir, ".ledgerform", "trees", "tree-uk-*.json"))
	if len(trees) != 1 {
		t.Fatalf("cached trees = %v, want one", trees)
	}
	if fi, err := os.Stat(trees[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cached tree: %v, %v; want 0600", fi.Mode(), err)
	}

	for _, name := range exampleReports {
		for _, args := range [][]string{{"report." + name}, {"report." + name, "--offline"}} {
			out, errb, err := show(t, dir, args...)
			if err != nil || errb != "" || strings.Contains(out, "unavailable") || !strings.Contains(out, "Supermarkets") {
				t.Errorf("show %v after the fetch: %v, stderr %q:\n%s", args, err, errb, out)
			}
		}
	}
}

func TestShow_Errors(t *testing.T) {
	dir := appliedExamples(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"typo", []string{"report.salaried-alx"}, []string{"show report.salaried-alx: no such report", "did you mean report.salaried-alex?"}},
		{"whole drop", []string{"drop.inbox"}, []string{"names every file of a drop"}},
		{"two formats", []string{"report.salaried-alex", "--json", "--csv"}, []string{"choose one"}},
		{"csv of a plan", []string{"nowhere.plan", "--csv"}, []string{"--csv is for a report"}},
		{"not a plan", []string{"nowhere.plan"}, []string{"plan file nowhere.plan"}},
		{"unquoted drop file", []string{`drop.inbox[may.json]`}, []string{`show: address "drop.inbox[may.json]": the file must be a double-quoted`, "no plan file has that name"}},
		{"bad report name", []string{"report.Alex"}, []string{`show: address "report.Alex": "Alex" is not a valid name`}},
		{"no state", []string{"report.salaried-alex", "--dir", t.TempDir()}, []string{"has no state: nothing was applied there"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := show(t, dir, tc.args...)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("show %v = %v; want %q", tc.args, err, w)
				}
			}
			if out != "" {
				t.Errorf("stdout %q on an error", out)
			}
		})
	}

	// Declared but not applied.
	manifest := filepath.Join(dir, "ledgerform.yaml")
	yaml, _ := os.ReadFile(manifest)
	writeFile(t, manifest, strings.Replace(string(yaml), "reports:\n", "reports:\n  - {name: later, statements: [statements/salaried-alex-2026.json], operations: [categorisation], country: uk}\n", 1))
	if _, _, err := show(t, dir, "report.later"); err == nil || !strings.Contains(err.Error(), "has not been applied yet") {
		t.Errorf("show of a report not applied = %v", err)
	}

	// Not completed: the phase, and the last error.
	st, err := state.Open(filepath.Join(dir, ".ledgerform"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := st.Get("report.joint-patel")
	r.Phase = state.Failed
	r.LastError = &state.Failure{Code: "SERVICE_UNAVAILABLE", Message: "503 Service Unavailable", Step: "poll"}
	if err := st.Put(r); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, _, err := show(t, dir, "report.joint-patel"); err == nil ||
		!strings.Contains(err.Error(), "report.joint-patel is not completed: its phase is failed (last error, transient: 503 Service Unavailable)") {
		t.Errorf("show of a failed report = %v", err)
	}

	// The output edited (still a result), damaged, missing: each names the file.
	out := filepath.Join(dir, "out", "salaried-alex.json")
	data, _ := os.ReadFile(out)
	writeFile(t, out, strings.Replace(string(data), `"simple-score": 10`, `"simple-score": 9`, 1))
	text, errb, err := show(t, dir, "report.salaried-alex")
	if err != nil || !strings.Contains(text, "Score: 9 of 10") || !strings.Contains(errb, "warning: out/salaried-alex.json was changed since ledgerform wrote it") {
		t.Errorf("show of an edited output: %v, stderr %q", err, errb)
	}
	writeFile(t, out, string(data[:len(data)/2]))
	if _, _, err := show(t, dir, "report.salaried-alex"); err == nil || !strings.Contains(err.Error(), "output file "+out+":") ||
		!strings.Contains(err.Error(), "not a result of the API") {
		t.Errorf("show of a damaged output = %v", err)
	}
	os.Remove(out)
	if _, _, err := show(t, dir, "report.salaried-alex"); err == nil || !strings.Contains(err.Error(), "output file "+out+": no such file or directory") {
		t.Errorf("show of a missing output = %v", err)
	}
}

// show FILE still prints a saved plan; a plan file whose name reads as an
// address is a plan file when no report of that address is recorded.
func TestShow_SavedPlan(t *testing.T) {
	dir := appliedExamples(t)
	writeFile(t, filepath.Join(dir, "statements", "salaried-alex-2026.json"), goodStatement)
	for _, name := range []string{filepath.Join(dir, "tfplan"), filepath.Join(dir, "report.plan")} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"plan", "--dir", dir, "--out", name}, &out, &errb); err != nil {
			t.Fatalf("plan: %v\n%s", err, errb.String())
		}
		text, errs, err := show(t, dir, name)
		if err != nil || !strings.Contains(text, "Saved plan of") || !strings.Contains(text, "report.salaried-alex will be replaced") {
			t.Errorf("show %s: %v %s\n%s", name, err, errs, text)
		}
	}
	// From inside dir, so that "report.plan" is the argument as typed.
	t.Chdir(dir)
	text, _, err := show(t, ".", "report.plan", "--json")
	if err != nil || !json.Valid([]byte(text)) || !strings.Contains(text, `"format_version"`) {
		t.Errorf("show report.plan --json: %v\n%s", err, text)
	}
}

// The CSV is every categorised transaction of the report, with a header,
// as the output file lists them.
func TestShow_CSV(t *testing.T) {
	dir := appliedExamples(t)
	out, _, err := show(t, dir, "report.payday-gambling-jordan", "--csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Data struct {
			Attributes struct {
				Categorisation struct {
					Accounts []struct {
						Currencies []struct {
							Transactions []struct {
								CategoryID int `json:"category_id"`
								Date       string
							}
						}
					}
				}
			}
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "out", "payday-gambling-jordan.json"))
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	txs := res.Data.Attributes.Categorisation.Accounts[0].Currencies[0].Transactions
	if len(rows) != len(txs)+1 || strings.Join(rows[0], ",") != "date,account,currency,amount,category_id,category,partner,description,transaction_id" {
		t.Fatalf("%d rows for %d transactions; header %v", len(rows), len(txs), rows[0])
	}
	for i, tx := range txs {
		if rows[i+1][0] != tx.Date || rows[i+1][4] != strconv.Itoa(tx.CategoryID) || rows[i+1][5] == "" {
			t.Errorf("row %d = %v; want %s, category %d with a title", i+1, rows[i+1], tx.Date, tx.CategoryID)
		}
	}
}

// A dropped file's report is shown by its address; it asked for the
// categorisation alone, so that is all its summary has.
func TestShow_DropFile(t *testing.T) {
	dir := appliedExamples(t)
	data, err := os.ReadFile(filepath.Join(dir, "statements", "salaried-alex-2026.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "inbox", "may.json"), string(data))
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"apply", "--dir", dir}, &out, &errb); err != nil {
		t.Fatalf("apply: %v\n%s", err, errb.String())
	}
	text, _, err := show(t, dir, `drop.inbox["may.json"]`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "drop.inbox[\"may.json\"]  (out/inbox/may.json)\nproducts: categorisation\n") ||
		strings.Contains(text, "Score") || strings.Contains(text, "Income") || strings.Contains(text, "Risk") ||
		!strings.Contains(text, "Top spending categories") {
		t.Errorf("show of a dropped file:\n%s", text)
	}
	if _, _, err := show(t, dir, `drop.inbox["mya.json"]`); err == nil || !strings.Contains(err.Error(), `did you mean drop.inbox["may.json"]?`) {
		t.Errorf("typo of a dropped file = %v", err)
	}
}

// BenchmarkShow is show of the gambling example (284 transactions, every
// product) from a warm tree cache, against reading and decoding its
// output file alone (the floor: what any view of the result costs).
func BenchmarkShow(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "examples")
	if err := os.CopyFS(dir, os.DirFS("examples")); err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "out"))
	os.RemoveAll(filepath.Join(dir, ".ledgerform"))
	ctx := context.Background()
	if err := run(ctx, []string{"apply", "--dir", dir}, io.Discard, io.Discard); err != nil {
		b.Fatal(err)
	}
	if err := run(ctx, []string{"show", "--dir", dir, "report.payday-gambling-jordan"}, io.Discard, io.Discard); err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := summary.ReadResult(filepath.Join(dir, "out", "payday-gambling-jordan.json")); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, format := range []string{"text", "--json", "--csv"} {
		b.Run(strings.TrimPrefix(format, "--"), func(b *testing.B) {
			args := []string{"show", "--dir", dir, "report.payday-gambling-jordan"}
			if format != "text" {
				args = append(args, format)
			}
			for b.Loop() {
				if err := run(ctx, args, io.Discard, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
