package spec

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Manifests read from elsewhere (a revision of a git repository) resolve
// their paths against the working directory, and their positions carry
// the name the caller gives them.
func TestLoadFrom_pathsResolveAgainstDir(t *testing.T) {
	data, repo := t.TempDir(), t.TempDir()
	tree{"statements/a.json": "{}", "statements/b.json": "{}", "inbox/c.json": "{}"}.write(t, data)
	tree{"reports.yaml": `reports:
  - name: a
    statements: [statements/*.json]
    operations: [categorisation]
    country: uk
drops:
  - name: inbox
    dir: inbox
    pattern: "*.json"
    operations: [categorisation]
    country: uk
`}.write(t, repo)
	set, err := LoadFrom(data, Manifests{Dir: repo, Name: "0123456789ab:deploy", Revision: "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if set.Dir != data || set.Revision != "0123456789abcdef" {
		t.Errorf("Dir %q, Revision %q", set.Dir, set.Revision)
	}
	a, ok := set.Lookup(ReportAddress("a"))
	if !ok || !slices.Equal(a.Statements, []string{"statements/a.json", "statements/b.json"}) {
		t.Errorf("report a: %+v", a)
	}
	if _, ok := set.Lookup(DropAddress("inbox", "c.json")); !ok {
		t.Errorf("the drop's file in the data directory is not a report: %+v", set.Reports)
	}
	if !slices.Equal(set.Files, []string{filepath.Join(repo, "reports.yaml")}) {
		t.Errorf("Files = %q", set.Files)
	}
}

func TestLoadFrom_errorsNameTheRevision(t *testing.T) {
	data, repo := t.TempDir(), t.TempDir()
	tree{"reports.yaml": "reports:\n  - name: a\n    operatons: [categorisation]\n"}.write(t, repo)
	_, err := LoadFrom(data, Manifests{Dir: repo, Name: "0123456789ab:deploy"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, "0123456789ab:deploy/reports.yaml:") {
			t.Errorf("line %q does not start with the revision and the file", line)
		}
	}
	if !strings.Contains(err.Error(), "0123456789ab:deploy/reports.yaml:3:5: unknown key \"operatons\"") {
		t.Errorf("error: %v", err)
	}
}

// An output named like a manifest at the top of the working directory is
// no manifest when the manifests come from elsewhere.
func TestLoadFrom_outputAtTheTopIsNoManifest(t *testing.T) {
	data, repo := t.TempDir(), t.TempDir()
	tree{"s.json": "{}"}.write(t, data)
	tree{"reports.yaml": "reports:\n  - name: a\n    statements: [s.json]\n    operations: [categorisation]\n    country: uk\n    output: a.yaml\n"}.write(t, repo)
	if _, err := LoadFrom(data, Manifests{Dir: repo, Name: "r"}); err != nil {
		t.Fatal(err)
	}
	tree{"reports.yaml": "reports:\n  - name: a\n    statements: [s.json]\n    operations: [categorisation]\n    country: uk\n    output: a.yaml\n"}.write(t, data)
	if _, err := Load(data); err == nil {
		t.Fatal("Load took an output that would be read as a manifest")
	}
}
