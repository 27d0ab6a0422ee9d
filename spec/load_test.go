package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"
	"testing"

	"github.com/ledgerform/ledgerform/report"
)

// show renders v for a failure message.
func show(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestLoad_example(t *testing.T) {
	set, dir := mustLoad(t, tree{
		"reports.yaml": `# The example of DESIGN.md.
settings:
  endpoint: embedded
  parallelism: 8
  prune: false
reports:
  - name: alex-watson-2019-08
    statements: [statements/alex-2019-08.json]
    operations: [categorisation, insights-income, simple-score]
    country: uk
    params: {period: 6, currency: GBP}
    output: out/alex-watson-2019-08.json
drops:
  - name: inbox
    dir: inbox
    pattern: "*.json"
    operations: [categorisation]
    country: uk
    output_dir: out/inbox
`,
		"inbox/b.json": "{}",
		"inbox/a.json": "{}",
	})
	file := filepath.Join(dir, "reports.yaml")
	want := &Set{
		Dir:      dir,
		Files:    []string{file},
		Settings: Settings{Endpoint: "embedded", Parallelism: 8, Pos: Pos{file, 2, 1}},
		Reports: []Report{
			{
				Address: `drop.inbox["a.json"]`, Name: "inbox",
				Statements: []string{"inbox/a.json"}, Operations: []string{"categorisation"},
				Country: "uk", Output: "out/inbox/a.json", Pos: Pos{file, 14, 5},
			},
			{
				Address: `drop.inbox["b.json"]`, Name: "inbox",
				Statements: []string{"inbox/b.json"}, Operations: []string{"categorisation"},
				Country: "uk", Output: "out/inbox/b.json", Pos: Pos{file, 14, 5},
			},
			{
				Address: "report.alex-watson-2019-08", Name: "alex-watson-2019-08",
				Statements: []string{"statements/alex-2019-08.json"},
				Operations: []string{"categorisation", "insights-income", "simple-score"},
				Country:    "uk", Params: &report.Params{Period: ptr(6), Currency: ptr("GBP")},
				Output: "out/alex-watson-2019-08.json", Pos: Pos{file, 7, 5},
			},
		},
		Drops: []Drop{{
			Name: "inbox", Dir: "inbox", Pattern: "*.json", Operations: []string{"categorisation"},
			Country: "uk", OutputDir: "out/inbox", Pos: Pos{file, 14, 5},
		}},
	}
	if !reflect.DeepEqual(set, want) {
		t.Errorf("Load =\n%s\nwant\n%s", show(set), show(want))
	}
}

func TestLoad_normalises(t *testing.T) {
	set, _ := mustLoad(t, tree{
		"a.yaml": `reports:
  - name: "2019"
    statements: [./s//a.json]
    operations: [simple-score, categorisation, simple-score, insights-risk]
    country: UK
    params:
      currency: gbp
      period: 0x0c
      drop_shared_accounts: true
      drop_joint_accounts: false
      income_definition: [20, 5, 20, 6]
      expense_definition: [1]
  - name: b
    statements: [s/a.json]
    operations: [categorisation]
    country: uk
    params: {}
    output:
  - name: c
    statements: [s/a.json]
    operations: [categorisation]
    country: uk
    params:
settings:
drops:
`,
	})
	if got, want := len(set.Reports), 3; got != want {
		t.Fatalf("%d reports, want %d", got, want)
	}
	r := set.Reports[0]
	want := Report{
		Address: "report.2019", Name: "2019", Statements: []string{"s/a.json"},
		Operations: []string{"categorisation", "insights-risk", "simple-score"},
		Country:    "uk",
		Params: &report.Params{
			Period: ptr(12), Currency: ptr("GBP"), DropSharedAccounts: ptr(true), DropJointAccounts: ptr(false),
			IncomeDefinition: []int{5, 6, 20}, ExpenseDefinition: []int{1},
		},
		Output: "out/2019.json", Pos: r.Pos,
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("report =\n%s\nwant\n%s", show(r), show(want))
	}
	for _, r := range set.Reports[1:] {
		if r.Params != nil {
			t.Errorf("%s: Params = %+v, want nil for empty params", r.Address, r.Params)
		}
		if want := "out/" + r.Name + ".json"; r.Output != want {
			t.Errorf("%s: Output = %q, want the default %q", r.Address, r.Output, want)
		}
	}
	if !reflect.DeepEqual(set.Settings, Settings{}) {
		t.Errorf("Settings = %+v, want zero for a blank block", set.Settings)
	}
}

func TestLoad_globs(t *testing.T) {
	set, _ := mustLoad(t, tree{
		"a.yaml": `reports:
  - name: a
    statements:
      - s/b/*.json
      - s/a.json
      - s/?/*.json
      - s/a.json
      - s/[ab].json
      - s/missing.json
      - .data/x.json
      - s/*/9.json
    operations: [categorisation]
    country: uk
`,
		"s/a.json":      "{}",
		"s/b.json":      "{}",
		"s/c.json":      "{}",
		"s/b/2.json":    "{}",
		"s/b/1.json":    "{}",
		"s/b/.3.json":   "{}",
		"s/b/4.json~":   "{}",
		"s/b/5.json":    "->1.json",
		"s/b/dir.json/": "",
		"s/a/9.json":    "{}",
		"s/.h/9.json":   "{}",
	})
	want := []string{
		"s/b/1.json", "s/b/2.json", "s/b/5.json", // first glob, sorted; temporary names and directories left out
		"s/a.json",       // plain path
		"s/a/9.json",     // s/?/*.json: s/a/9.json, s/b/1.json, ... (repeats dropped); not s/.h
		"s/b.json",       // s/[ab].json: s/a.json again, then s/b.json
		"s/missing.json", // a plain path need not exist
		".data/x.json",   // a hidden name written out is taken
	}
	if got := set.Reports[0].Statements; !slices.Equal(got, want) {
		t.Errorf("Statements = %q, want %q", got, want)
	}
}

func TestLoad_absolutePaths(t *testing.T) {
	outside := t.TempDir()
	for _, name := range []string{"x.json", "y.json"} {
		if err := os.WriteFile(filepath.Join(outside, name), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs := filepath.ToSlash(outside)
	set, _ := mustLoad(t, tree{
		"a.yaml": `reports:
  - name: a
    statements: [` + abs + `/x.json, ` + abs + `/*.json, ` + abs + `/../` + filepath.Base(outside) + `/x.json]
    operations: [categorisation]
    country: uk
    output: ` + abs + `/out/a.json
drops:
  - name: d
    dir: ` + abs + `
    operations: [categorisation]
    country: uk
    output_dir: ` + abs + `/out
`,
		"link.json": "->" + filepath.Join(outside, "x.json"),
	})
	r := set.Reports[2]
	if got, want := r.Statements, []string{abs + "/x.json", abs + "/y.json"}; !slices.Equal(got, want) {
		t.Errorf("Statements = %q, want %q", got, want)
	}
	if got, want := r.Output, abs+"/out/a.json"; got != want {
		t.Errorf("Output = %q, want %q", got, want)
	}
	if got, want := set.Reports[0].Statements, []string{abs + "/x.json"}; !slices.Equal(got, want) {
		t.Errorf("drop statements = %q, want %q", got, want)
	}
	if got, want := set.Reports[0].Output, abs+"/out/x.json"; got != want {
		t.Errorf("drop output = %q, want %q", got, want)
	}
}

func TestLoad_symlinksInside(t *testing.T) {
	set, _ := mustLoad(t, tree{
		"a.yaml": `reports:
  - name: a
    statements: [alias/x.json, l.json]
    operations: [categorisation]
    country: uk
    output: results/a.json
`,
		"real/x.json": "{}",
		"alias":       "->real",
		"l.json":      "->real/x.json",
		"store/":      "",
		"results":     "->store",
	})
	if got, want := set.Reports[0].Statements, []string{"alias/x.json", "l.json"}; !slices.Equal(got, want) {
		t.Errorf("Statements = %q, want %q (links inside the tree are fine)", got, want)
	}
}

func TestLoad_drops(t *testing.T) {
	dir := t.TempDir()
	tree{
		"a.yaml": `drops:
  - name: inbox
    dir: ./inbox/
    operations: [insights-income, categorisation]
    country: uk
    params: {period: 3}
  - name: all
    dir: other
    pattern: "*"
    operations: [categorisation]
    country: uk
    output_dir: results/all
  - name: later
    dir: not-yet
    operations: [categorisation]
    country: uk
`,
		"inbox/a.json":         "{}",
		"inbox/we\"ird ü.json": "{}",
		"inbox/.hidden.json":   "{}",
		"inbox/b.json.tmp":     "{}",
		"inbox/c.json.part":    "{}",
		"inbox/d.json~":        "{}",
		"inbox/e.json.swp":     "{}",
		"inbox/notes.txt":      "x",
		"inbox/sub.json/":      "",
		"inbox/sub/f.json":     "{}",
		"inbox/link.json":      "->a.json",
		"other/x":              "x",
		"other/y.csv":          "x",
	}.write(t, dir)
	if err := syscall.Mkfifo(filepath.Join(dir, "inbox", "fifo.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []report.Address
	for _, r := range set.Reports {
		addrs = append(addrs, r.Address)
	}
	want := []report.Address{
		`drop.all["x"]`,
		`drop.all["y.csv"]`,
		`drop.inbox["a.json"]`,
		`drop.inbox["we\"ird ü.json"]`,
	}
	if !slices.Equal(addrs, want) {
		t.Errorf("addresses = %q, want %q", addrs, want)
	}
	odd := set.Reports[3]
	if got, want := odd.Statements, []string{`inbox/we"ird ü.json`}; !slices.Equal(got, want) {
		t.Errorf("Statements = %q, want %q", got, want)
	}
	if got, want := odd.Output, `out/inbox/we"ird ü.json`; got != want {
		t.Errorf("Output = %q, want %q", got, want)
	}
	if got, want := odd.Operations, []string{"categorisation", "insights-income"}; !slices.Equal(got, want) {
		t.Errorf("Operations = %q, want %q", got, want)
	}
	if odd.Params == nil || *odd.Params.Period != 3 {
		t.Errorf("Params = %+v, want period 3", odd.Params)
	}
	if odd.Params == set.Reports[2].Params {
		t.Error("two reports of a drop share one *report.Params")
	}
	if got, want := set.Reports[0].Output, "results/all/x"; got != want {
		t.Errorf("Output = %q, want %q", got, want)
	}
	var names []string
	for _, d := range set.Drops {
		names = append(names, d.Name+"="+d.Dir+">"+d.OutputDir+":"+d.Pattern)
	}
	if want := []string{"all=other>results/all:*", "inbox=inbox>out/inbox:*.json", "later=not-yet>out/later:*.json"}; !slices.Equal(names, want) {
		t.Errorf("drops = %q, want %q", names, want)
	}
}

func TestLoad_manifestFiles(t *testing.T) {
	set, dir := mustLoad(t, tree{
		"b.yml":        "reports: []\n",
		"a.YAML":       "{}\n",
		"c.yaml.bak":   "broken: [",
		".d.yaml":      "broken: [",
		"e.yaml~":      "broken: [",
		"f.yaml.swp":   "broken: [",
		"dir.yaml/":    "",
		"sub/g.yaml":   "broken: [",
		"notes.txt":    "broken: [",
		"linked.yaml":  "->sub/h.txt",
		"sub/h.txt":    "drops: []\n",
		"dirlink.yaml": "->sub",
	})
	want := []string{filepath.Join(dir, "a.YAML"), filepath.Join(dir, "b.yml"), filepath.Join(dir, "linked.yaml")}
	if !slices.Equal(set.Files, want) {
		t.Errorf("Files = %q, want %q", set.Files, want)
	}
}

func TestLoad_fifoManifest(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "a.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir) // must not block
	got := errorLines(t, err, dir)
	if want := []string{"a.yaml: manifest is a named pipe, not a regular file"}; !slices.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

func TestLoad_fifoDropDir(t *testing.T) {
	dir := t.TempDir()
	tree{"a.yaml": "drops:\n  - name: d\n    dir: in\n    operations: [categorisation]\n    country: uk\n"}.write(t, dir)
	if err := syscall.Mkfifo(filepath.Join(dir, "in"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir) // must not block
	got := errorLines(t, err, dir)
	if want := []string{`a.yaml:3:10: dir "in" is not a directory`}; !slices.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

func TestLoad_empty(t *testing.T) {
	dir := t.TempDir()
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Files) != 0 || len(set.Reports) != 0 || len(set.Drops) != 0 {
		t.Errorf("Load(empty dir) = %+v, want an empty Set", set)
	}
}

func TestLoad_dot(t *testing.T) {
	dir := t.TempDir()
	tree{
		"reports.yaml": "reports:\n" + reportYAML,
		"b.yaml":       "reports: [}\n",
	}.write(t, dir)
	t.Chdir(dir)
	_, err := Load(".")
	// The parser gives no line for an error on the first line.
	want := "b.yaml: invalid YAML: did not find expected node content"
	if err == nil || err.Error() != want {
		t.Errorf("Load(\".\") error = %v, want %q", err, want)
	}
	if err := os.Remove("b.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".", ""} {
		set, err := Load(d)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := set.Files, []string{"reports.yaml"}; !slices.Equal(got, want) {
			t.Errorf("Load(%q).Files = %q, want %q", d, got, want)
		}
		if got, want := set.Reports[0].Pos.String(), "reports.yaml:2:5"; got != want {
			t.Errorf("Pos = %q, want %q", got, want)
		}
		if set.Dir != "." {
			t.Errorf("Dir = %q, want \".\"", set.Dir)
		}
	}
}

func TestIsTemporary(t *testing.T) {
	for name, want := range map[string]bool{
		"a.json": false, "a": false, "a.tmp.json": false, "a~b": false,
		".a.json": true, ".": true, "a.json~": true, "a.tmp": true, "A.TMP": true,
		"a.part": true, "a.swp": true, "dir/.a": true, "dir/a.json": false, ".dir/a.json": false,
	} {
		if got := IsTemporary(name); got != want {
			t.Errorf("IsTemporary(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIsManifest(t *testing.T) {
	for name, want := range map[string]bool{
		"a.yaml": true, "a.yml": true, "A.YAML": true, "a.json": false, ".a.yaml": false,
		"a.yaml~": false, "a.yaml.swp": false, "yaml": false, ".yaml": false,
	} {
		if got := IsManifest(name); got != want {
			t.Errorf("IsManifest(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestDrop_Report(t *testing.T) {
	d := Drop{
		Name: "inbox", Dir: "in", Pattern: "*.json", Operations: []string{"categorisation"},
		Country: "uk", Params: &report.Params{Period: ptr(3)}, OutputDir: "out/inbox", Pos: Pos{"a.yaml", 2, 5},
	}
	r := d.Report("a b.json")
	want := Report{
		Address: `drop.inbox["a b.json"]`, Name: "inbox", Statements: []string{"in/a b.json"},
		Operations: []string{"categorisation"}, Country: "uk", Params: &report.Params{Period: ptr(3)},
		Output: "out/inbox/a b.json", Pos: Pos{"a.yaml", 2, 5},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Report =\n%s\nwant\n%s", show(r), show(want))
	}
	*r.Params.Period = 4
	r.Operations[0] = "x"
	if *d.Params.Period != 3 || d.Operations[0] != "categorisation" {
		t.Error("the report shares memory with its drop")
	}
	if got, want := (Drop{Name: "d", Dir: ".", OutputDir: "."}).Report("x").Statements[0], "x"; got != want {
		t.Errorf("statement in dir \".\" = %q, want %q", got, want)
	}
}

func TestDrop_Matches(t *testing.T) {
	d := Drop{Pattern: "*.json"}
	for name, want := range map[string]bool{
		"a.json": true, "a.csv": false, ".a.json": false, "a.json.tmp": false, "sub/a.json": false, "": false,
	} {
		if got := d.Matches(name); got != want {
			t.Errorf("Matches(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestLoad_rateLimit(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want float64
	}{{"settings: {rate_limit: 2.5}\n", 2.5}, {"settings: {rate_limit: 40}\n", 40}, {"settings: {prune: true}\n", 0}} {
		set, _ := mustLoad(t, tree{"a.yaml": tc.yaml})
		if got := set.Settings.RateLimit; got != tc.want {
			t.Errorf("%q: rate limit %v, want %v", tc.yaml, got, tc.want)
		}
	}
}

// suspend: true on a report suspends it; on a drop, every file's report.
// Set.Suspended also answers for a file that left the suspended drop.
func TestLoad_suspend(t *testing.T) {
	set, _ := mustLoad(t, tree{
		"a.yaml": `reports:
  - {name: on, statements: [s.json], operations: [categorisation], country: uk, suspend: true}
  - {name: off, statements: [s.json], operations: [categorisation], country: uk, suspend: false}
  - {name: unset, statements: [s.json], operations: [categorisation], country: uk}
drops:
  - {name: paused, dir: in, operations: [categorisation], country: uk, suspend: true}
  - {name: live, dir: live, operations: [categorisation], country: uk}
`,
		"s.json":      "{}",
		"in/a.json":   "{}",
		"live/b.json": "{}",
	})
	for _, tc := range []struct {
		addr report.Address
		want bool
	}{
		{"report.on", true},
		{"report.off", false},
		{"report.unset", false},
		{`drop.paused["a.json"]`, true},
		{`drop.paused["gone.json"]`, true},
		{`drop.live["b.json"]`, false},
		{`drop.live["gone.json"]`, false},
		{"report.gone", false},
	} {
		if got := set.Suspended(tc.addr); got != tc.want {
			t.Errorf("Suspended(%s) = %v, want %v", tc.addr, got, tc.want)
		}
		if r, ok := set.Lookup(tc.addr); ok && r.Suspended != tc.want {
			t.Errorf("%s: Report.Suspended = %v, want %v", tc.addr, r.Suspended, tc.want)
		}
	}
}

func TestLoad_html(t *testing.T) {
	set, _ := mustLoad(t, tree{
		"a.yaml": `settings: {html: true}
reports:
  - {name: default, statements: [s.json], operations: [categorisation], country: uk}
  - {name: off, statements: [s.json], operations: [categorisation], country: uk, html: false, output: out/off.txt}
drops:
  - {name: live, dir: live, operations: [categorisation], country: uk}
  - {name: quiet, dir: quiet, operations: [categorisation], country: uk, html: false}
`,
		"b.yaml": `reports:
  - {name: other, statements: [s.json], operations: [categorisation], country: uk, output: out/other}
`,
		"s.json":       "{}",
		"live/b.json":  "{}",
		"quiet/c.json": "{}",
	})
	for _, tc := range []struct {
		addr report.Address
		page string
	}{
		{"report.default", "out/default.html"},
		{"report.off", ""},
		{"report.other", "out/other.html"},
		{`drop.live["b.json"]`, "out/live/b.html"},
		{`drop.quiet["c.json"]`, ""},
	} {
		r, ok := set.Lookup(tc.addr)
		if !ok {
			t.Fatalf("no %s", tc.addr)
		}
		if got := r.Page(); got != tc.page {
			t.Errorf("%s: Page() = %q, want %q", tc.addr, got, tc.page)
		}
	}
}

func TestPagePath(t *testing.T) {
	for in, want := range map[string]string{
		"out/a.json": "out/a.html", "out/a.JSON": "out/a.html", "a": "a.html", "out/a.txt": "out/a.txt.html",
		"out/.json": "out/.json.html", "/abs/x.json": "/abs/x.html", "a.json.json": "a.json.html",
	} {
		if got := PagePath(in); got != want {
			t.Errorf("PagePath(%q) = %q, want %q", in, got, want)
		}
	}
}
