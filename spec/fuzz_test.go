package spec

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load as a manifest, next to a few
// statement files and a drop folder. Load must never panic, and must
// return either a Set that keeps the package's promises or Errors that
// each name a file.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("reports:\n" + reportYAML))
	f.Add([]byte("settings: {endpoint: 'https://h', parallelism: 3, prune: true}\nreports:\n" + reportYAML +
		"    params: {period: 6, currency: gbp, income_definition: [3, 1], drop_joint_accounts: true}\n    output: o/x.json\n"))
	f.Add([]byte("drops:\n  - name: d\n    dir: in\n    pattern: '*'\n    operations: [simple-score, categorisation]\n    country: UK\n    output_dir: o\n"))
	f.Add([]byte("reports:\n  - name: g\n    statements: [s/*.json, '../*', '/nonexistent-ledgerform/*.json', s/a.json]\n    operations: [insights-risk]\n    country: uk\n"))
	f.Add([]byte("a: &a [x, x]\nb: [*a, *a]\n"))
	f.Add([]byte("reports: []\n---\n"))
	// The one absolute glob of the seeds names no real directory:
	// "/*/*/*/*" is a legal manifest that walks /proc for minutes.
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(""))
	f.Add([]byte("reports:\n  - <<: {name: a}\n"))
	f.Add([]byte("{a: [b: {c: d}]}: x\n"))

	// Fuzz workers run the body below one call at a time, so one
	// directory per process does.
	dir, err := os.MkdirTemp("", "FuzzLoad")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	tree{
		"s/a.json":  "{}",
		"s/b.json":  "{}",
		"in/x.json": "{}",
		"in/y":      "{}",
		"o/":        "",
	}.write(f, dir)
	manifest := filepath.Join(dir, "m.yaml")

	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(manifest, data, 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := Load(dir)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is %T %v, not a non-empty Errors", err, err)
			}
			if set != nil {
				t.Fatal("a Set and an error")
			}
			for _, e := range es {
				if e.Pos.File == "" || e.Pos.Line < 0 || e.Pos.Col < 0 || e.Msg == "" {
					t.Fatalf("error without a file or message: %#v", e)
				}
			}
			return
		}
		if !slices.IsSortedFunc(set.Reports, func(a, b Report) int { return strings.Compare(string(a.Address), string(b.Address)) }) {
			t.Fatal("reports not sorted")
		}
		outputs := make(map[string]bool)
		for i, r := range set.Reports {
			if i > 0 && set.Reports[i-1].Address == r.Address {
				t.Fatalf("address %s twice", r.Address)
			}
			if !nameRE.MatchString(r.Name) || len(r.Statements) == 0 || r.Output == "" || r.Pos.File == "" {
				t.Fatalf("incomplete report %+v", r)
			}
			if len(r.Operations) == 0 || !slices.IsSorted(r.Operations) || len(slices.Compact(slices.Clone(r.Operations))) != len(r.Operations) {
				t.Fatalf("operations not normalised: %q", r.Operations)
			}
			for _, op := range r.Operations {
				if !slices.Contains(operations, op) {
					t.Fatalf("unknown operation %q", op)
				}
			}
			if len(r.Country) != 2 || strings.ToLower(r.Country) != r.Country {
				t.Fatalf("country %q", r.Country)
			}
			for _, p := range append(slices.Clone(r.Statements), r.Output) {
				if !filepath.IsAbs(p) && (p == ".." || strings.HasPrefix(p, "../")) {
					t.Fatalf("path %q leaves the directory", p)
				}
			}
			if outputs[r.Output] {
				t.Fatalf("output %q twice", r.Output)
			}
			outputs[r.Output] = true
		}
	})
}
