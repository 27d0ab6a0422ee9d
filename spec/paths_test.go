package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoad_ownFiles holds every path rule about ledgerform's own files and
// unwritable outputs to its message and position: none of these may cost
// a remote call, so Load refuses them.
func TestLoad_ownFiles(t *testing.T) {
	long := strings.Repeat("x", 240) + ".json" // 245 bytes: fits 255, not with the temp name
	withOutput := func(out string) string {
		return "reports:\n" + reportYAML + "    output: " + out + "\n"
	}
	drop := func(lines string) string {
		return "drops:\n  - name: in\n    operations: [categorisation]\n    country: uk\n" + lines
	}
	tests := []struct {
		name  string
		files tree
		want  []string
	}{
		{"output is the state", tree{"a.yaml": withOutput(".ledgerform/state.json"), "s.json": "{}"},
			[]string{`a.yaml:6:13: output ".ledgerform/state.json" of report.a is in .ledgerform/, where ledgerform keeps its state`}},
		{"output is the lock", tree{"a.yaml": withOutput(".ledgerform/lock"), "s.json": "{}", ".ledgerform/": ""},
			[]string{`a.yaml:6:13: output ".ledgerform/lock" of report.a is in .ledgerform/, where ledgerform keeps its state`}},
		{"output through a link into the state", tree{"a.yaml": withOutput("out/journal"), "s.json": "{}", ".ledgerform/": "", "out": "->.ledgerform"},
			[]string{`a.yaml:6:13: output "out/journal" of report.a is in .ledgerform/, where ledgerform keeps its state`}},
		{"output is this manifest", tree{"a.yaml": withOutput("a.yaml"), "s.json": "{}"},
			[]string{`a.yaml:6:13: output "a.yaml" of report.a would be read as a manifest`}},
		{"output would become a manifest", tree{"a.yaml": withOutput("new.yml"), "s.json": "{}"},
			[]string{`a.yaml:6:13: output "new.yml" of report.a would be read as a manifest`}},
		{"output is an existing directory", tree{"a.yaml": withOutput("out/a.json"), "s.json": "{}", "out/a.json/": ""},
			[]string{`a.yaml:6:13: output "out/a.json" of report.a is an existing directory`}},
		{"output under a file", tree{"a.yaml": withOutput("out/a.json"), "s.json": "{}", "out": "a file"},
			[]string{`a.yaml:6:13: output "out/a.json" of report.a cannot be written: out (or a directory on the way to it) is a file, not a directory`}},
		{"output name too long for the temp file", tree{"a.yaml": withOutput(long), "s.json": "{}"},
			[]string{`a.yaml:6:13: output "` + long + `" of report.a cannot be written: the name is 245 bytes; with the temporary name written first it must be at most 239`}},
		{"statement in the state", tree{"a.yaml": "reports:\n  - name: a\n    statements: [.ledgerform/state.json]\n    operations: [categorisation]\n    country: uk\n"},
			[]string{`a.yaml:3:18: statement ".ledgerform/state.json" is in .ledgerform/, where ledgerform keeps its state`}},
		{"drop dir is the state", tree{"a.yaml": drop("    dir: .ledgerform\n    pattern: \"*\"\n")},
			[]string{`a.yaml:5:10: dir ".ledgerform" is in .ledgerform/, where ledgerform keeps its state`}},
		{"drop takes the manifests", tree{"a.yaml": drop("    dir: .\n    pattern: \"*\"\n    output_dir: out\n")},
			[]string{`a.yaml:5:10: dir "." is the manifest directory and pattern "*" takes the manifest a.yaml`}},
		{"drop output_dir in the state", tree{"a.yaml": drop("    dir: in\n    output_dir: .ledgerform/out\n")},
			[]string{`a.yaml:6:17: output_dir ".ledgerform/out" is in .ledgerform/, where ledgerform keeps its state`}},
		{"drop output_dir is a file", tree{"a.yaml": drop("    dir: in\n    output_dir: out\n"), "out": "x"},
			[]string{`a.yaml:6:17: output_dir "out" cannot be written: out (or a directory on the way to it) is a file, not a directory`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := loadTree(t, tt.files)
			if diff := cmp.Diff(tt.want, errorLines(t, err, dir)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoad_dropFileProblem: a dropped file whose output can never be
// written is that report's problem; Load and the other files go on.
func TestLoad_dropFileProblem(t *testing.T) {
	long := strings.Repeat("y", 245) + ".json"
	dir := t.TempDir()
	tree{
		"a.yaml":           "drops:\n  - name: in\n    dir: in\n    operations: [categorisation]\n    country: uk\n",
		"in/ok.json":       "{}",
		"in/dir.json":      "{}",
		"out/in/dir.json/": "",
	}.write(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "in", long), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := map[string]string{}
	for _, r := range set.Reports {
		f, _ := r.Address.File()
		got[f] = r.Problem
	}
	want := map[string]string{
		"ok.json":  "",
		"dir.json": "output out/in/dir.json is an existing directory",
		long:       "output out/in/" + long + " cannot be written: the name is 250 bytes; with the temporary name written first it must be at most 239",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestLoad_dropOutputsListed: a drop with many files has its output
// directory listed once instead of an lstat per output; the outputs that
// are directories or symbolic links are found either way.
func TestLoad_dropOutputsListed(t *testing.T) {
	for _, extra := range []int{0, listThreshold} {
		t.Run(fmt.Sprint(extra+4, " files"), func(t *testing.T) {
			dir := t.TempDir()
			tr := tree{
				"a.yaml":                 "drops:\n  - name: in\n    dir: in\n    operations: [categorisation]\n    country: uk\n",
				"in/ok.json":             "{}",
				"in/dir.json":            "{}",
				"in/state.json":          "{}",
				"in/good.json":           "{}",
				"out/in/ok.json":         "{}",
				"out/in/dir.json/":       "",
				"out/in/state.json":      "->../../.ledgerform/state.json",
				"out/in/good.json":       "->ok.json",
				".ledgerform/state.json": "",
			}
			for i := range extra {
				tr[fmt.Sprintf("in/f%03d.json", i)] = "{}"
			}
			tr.write(t, dir)
			set, err := Load(dir)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := map[string]string{}
			for _, r := range set.Reports {
				if f, _ := r.Address.File(); !strings.HasPrefix(f, "f") {
					got[f] = r.Problem
				}
			}
			want := map[string]string{
				"ok.json":    "",
				"good.json":  "",
				"dir.json":   "output out/in/dir.json is an existing directory",
				"state.json": "output out/in/state.json is in .ledgerform/, where ledgerform keeps its state",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
