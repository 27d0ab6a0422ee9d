package spec

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// reportYAML is a valid report for building manifests in tests; its lines
// are 2 to 5 when it follows "reports:" on line 1.
const reportYAML = `  - name: a
    statements: [s.json]
    operations: [categorisation]
    country: uk
`

// TestLoad_errors holds every rule to its message and position.
func TestLoad_errors(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files tree
		want  []string
	}{
		{
			name:  "unknown top-level key",
			files: tree{"a.yaml": "reprots: []\n"},
			want:  []string{`a.yaml:1:1: unknown key "reprots" in the manifest; did you mean "reports"?`},
		},
		{
			name:  "unknown key in a report",
			files: tree{"a.yaml": "reports:\n" + reportYAML + "    colour: red\n"},
			want:  []string{`a.yaml:6:5: unknown key "colour" in report; the keys are name, statements, operations, country, params, output, suspend and html`},
		},
		{
			name:  "unknown key in params, block",
			files: tree{"a.yaml": "reports:\n" + reportYAML + "    params:\n      period: 6\n      perod: 7\n"},
			want:  []string{`a.yaml:8:7: unknown key "perod" in params; did you mean "period"?`},
		},
		{
			name:  "unknown key in params, flow",
			files: tree{"a.yaml": "reports:\n" + reportYAML + "    params: {period: 6, colour: red}\n"},
			want:  []string{`a.yaml:6:25: unknown key "colour" in params; the keys are period, currency, drop_shared_accounts, drop_joint_accounts, income_definition and expense_definition`},
		},
		{
			name:  "unknown key in settings and in a drop",
			files: tree{"a.yaml": "settings:\n  prun: true\ndrops:\n  - name: d\n    dir: in\n    operations: [categorisation]\n    country: uk\n    outputdir: o\n"},
			want: []string{
				`a.yaml:2:3: unknown key "prun" in settings; did you mean "prune"?`,
				`a.yaml:8:5: unknown key "outputdir" in drop; did you mean "output_dir"?`,
			},
		},
		{
			name:  "duplicate top-level key",
			files: tree{"a.yaml": "reports: []\nreports: []\n"},
			want:  []string{`a.yaml:2:1: duplicate key "reports" (first at a.yaml:1:1)`},
		},
		{
			name:  "duplicate key in a report",
			files: tree{"a.yaml": "reports:\n" + reportYAML + "    name: b\n"},
			want:  []string{`a.yaml:6:5: duplicate key "name" (first at a.yaml:2:5)`},
		},
		{
			name:  "operations as a scalar",
			files: tree{"a.yaml": "reports:\n  - name: a\n    statements: [s.json]\n    operations: categorisation\n    country: uk\n"},
			want:  []string{`a.yaml:4:17: operations must be a list, not the string "categorisation" (write [categorisation])`},
		},
		{
			name:  "parallelism as a string",
			files: tree{"a.yaml": "settings:\n  parallelism: \"x\"\n"},
			want:  []string{`a.yaml:2:16: parallelism must be a whole number from 1 to 1024, not the string "x"`},
		},
		{
			name:  "parallelism quoted number is a string",
			files: tree{"a.yaml": "settings:\n  parallelism: '8'\n"},
			want:  []string{`a.yaml:2:16: parallelism must be a whole number from 1 to 1024, not the string "8"`},
		},
		{
			name:  "parallelism out of range",
			files: tree{"a.yaml": "settings: {parallelism: 0}\n"},
			want:  []string{`a.yaml:1:25: parallelism must be from 1 to 1024, not 0`},
		},
		{
			name:  "rate_limit negative",
			files: tree{"a.yaml": "settings: {rate_limit: -1}\n"},
			want:  []string{`a.yaml:1:24: rate_limit must be from 0 to 100000, not -1`},
		},
		{
			name:  "rate_limit as a string",
			files: tree{"a.yaml": "settings:\n  rate_limit: fast\n"},
			want:  []string{`a.yaml:2:15: rate_limit must be a number from 0 to 100000, not the string "fast"`},
		},
		{
			name:  "prune yes is not a boolean",
			files: tree{"a.yaml": "settings:\n  prune: yes\n"},
			want:  []string{`a.yaml:2:10: prune must be true or false, not the string "yes"`},
		},
		{
			name:  "suspend is a strict boolean",
			files: tree{"a.yaml": "reports:\n  - {name: a, statements: [s.json], operations: [categorisation], country: uk, suspend: yes}\ndrops:\n  - {name: d, dir: in, operations: [categorisation], country: uk, suspend: 'true'}\n"},
			want: []string{
				`a.yaml:2:89: suspend must be true or false, not the string "yes"`,
				`a.yaml:4:76: suspend must be true or false, not the string "true"`,
			},
		},
		{
			name:  "wrong shapes",
			files: tree{"a.yaml": "reports:\n  - name: true\n    statements: s.json\n    operations: [[categorisation]]\n    country: [uk]\n    params: [period]\n"},
			want: []string{
				`a.yaml:2:11: name must be a string, not the boolean true`,
				`a.yaml:3:17: statements must be a list, not the string "s.json" (write [s.json])`,
				`a.yaml:4:18: an operation must be a string, not a list`,
				`a.yaml:5:14: country must be a string, not a list`,
				`a.yaml:6:13: params must be a mapping of keys to values, not a list`,
			},
		},
		{
			name:  "the manifest is a list",
			files: tree{"a.yaml": "- name: a\n"},
			want:  []string{`a.yaml:1:1: the manifest must be a mapping of keys to values, not a list`},
		},
		{
			name:  "reports is a mapping, a report a string",
			files: tree{"a.yaml": "reports: {a: 1}\ndrops: [x]\n"},
			want: []string{
				`a.yaml:1:10: reports must be a list, not a mapping`,
				`a.yaml:2:9: drop must be a mapping of keys to values, not the string "x"`,
			},
		},
		{
			name:  "missing and empty required keys",
			files: tree{"a.yaml": "reports:\n  - name: a\n    country:\ndrops:\n  - {}\n"},
			want: []string{
				`a.yaml:2:5: report "a" has no statements`,
				`a.yaml:2:5: report "a" has no operations`,
				`a.yaml:3:5: country has no value`,
				`a.yaml:5:5: drop has no name`,
				`a.yaml:5:5: drop has no dir`,
				`a.yaml:5:5: drop has no operations`,
				`a.yaml:5:5: drop has no country`,
			},
		},
		{
			name:  "invalid names",
			files: tree{"a.yaml": "reports:\n  - name: Alex\n    statements: [s.json]\n    operations: [categorisation]\n    country: uk\n  - name: -x\n    statements: [s.json]\n    operations: [categorisation]\n    country: uk\n  - name: " + strings.Repeat("a", 101) + "\n    statements: [s.json]\n    operations: [categorisation]\n    country: uk\n"},
			want: []string{
				`a.yaml:2:11: invalid name "Alex": a name is 1 to 100 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit`,
				`a.yaml:6:11: invalid name "-x": a name is 1 to 100 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit`,
				`a.yaml:10:11: invalid name "` + strings.Repeat("a", 40) + `…": a name is 1 to 100 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit`,
			},
		},
		{
			name: "duplicate names across files, reports and drops",
			files: tree{
				"a.yaml": "reports:\n" + reportYAML,
				"b.yaml": "drops:\n  - name: a\n    dir: in\n    operations: [categorisation]\n    country: uk\nreports:\n" + reportYAML,
			},
			want: []string{
				`b.yaml:2:11: duplicate name "a" (first at a.yaml:2:11)`,
				`b.yaml:7:11: duplicate name "a" (first at a.yaml:2:11)`,
			},
		},
		{
			name: "settings in two manifests",
			files: tree{
				"a.yaml": "settings: {prune: true}\n",
				"b.yml":  "reports: []\nsettings:\n  endpoint: embedded\n",
			},
			want: []string{`b.yml:2:1: settings are already set at a.yaml:1:1; only one manifest may set them`},
		},
		{
			name:  "bad endpoints",
			files: tree{"a.yaml": "settings: {endpoint: ftp://x}\n", "b.yaml": "settings: {endpoint: 'https://'}\n", "c.yaml": "settings: {endpoint: 'https://id:secret@api.example'}\n", "d.yaml": "settings: {endpoint: 'https://h/?q=1'}\n"},
			want: []string{
				`a.yaml:1:22: endpoint "ftp://x" must be "embedded" or an http(s) URL such as https://api.nordigen.com`,
				`b.yaml:1:1: settings are already set at a.yaml:1:1; only one manifest may set them`,
				`b.yaml:1:22: endpoint "https://" must be "embedded" or an http(s) URL such as https://api.nordigen.com`,
				`c.yaml:1:1: settings are already set at a.yaml:1:1; only one manifest may set them`,
				`c.yaml:1:22: endpoint must not hold credentials; set NORDIGEN_CLIENT_ID and NORDIGEN_CLIENT_SECRET instead`,
				`d.yaml:1:1: settings are already set at a.yaml:1:1; only one manifest may set them`,
				`d.yaml:1:22: endpoint "https://h/?q=1" must not have a query or fragment`,
			},
		},
		{
			name:  "unknown and missing operations",
			files: tree{"a.yaml": "reports:\n  - name: a\n    statements: [s.json]\n    operations: [categorization, insights]\n    country: uk\n  - name: b\n    statements: [s.json]\n    operations: []\n    country: uk\n"},
			want: []string{
				`a.yaml:4:18: unknown operation "categorization"; did you mean "categorisation"?`,
				`a.yaml:4:34: unknown operation "insights"; the operations are categorisation, insights-income, insights-loans, insights-risk and simple-score`,
				`a.yaml:8:17: operations must list at least one of categorisation, insights-income, insights-loans, insights-risk, simple-score`,
			},
		},
		{
			name:  "bad country",
			files: tree{"a.yaml": "reports:\n  - name: a\n    statements: [s.json]\n    operations: [categorisation]\n    country: gbr\n"},
			want:  []string{`a.yaml:5:14: invalid country "gbr": want a two-letter code such as uk`},
		},
		{
			name:  "bad params",
			files: tree{"a.yaml": "reports:\n" + reportYAML + "    params:\n      currency: £\n      period: 1201\n      drop_joint_accounts: 1\n      income_definition: []\n      expense_definition: [0, x]\n"},
			want: []string{
				`a.yaml:7:17: invalid currency "£": want a three-letter ISO 4217 code such as GBP`,
				`a.yaml:8:15: period must be from 1 to 1200, not 1201`,
				`a.yaml:9:28: drop_joint_accounts must be true or false, not the number 1`,
				`a.yaml:10:26: income_definition must list at least one category id (leave it out for the API's default)`,
				`a.yaml:11:28: a category id must be from 1 to 2147483647, not 0`,
				`a.yaml:11:31: a category id must be a whole number from 1 to 2147483647, not the string "x"`,
			},
		},
		{
			name:  "glob matching nothing, bad glob",
			files: tree{"a.yaml": "reports:\n  - name: a\n    statements: [none/*.json, 's/[.json', s/*.json]\n    operations: [categorisation]\n    country: uk\n", "s/": "", "s/.hidden.json": "{}", "s/b.json/": ""},
			want: []string{
				`a.yaml:3:18: glob "none/*.json" matches no files`,
				`a.yaml:3:31: invalid glob "s/[.json": syntax error in pattern`,
				`a.yaml:3:43: glob "s/*.json" matches no files`,
			},
		},
		{
			name:  "dot-dot escapes",
			files: tree{"a.yaml": "reports:\n  - name: a\n    statements: [../x.json, a/../../x.json, ../*.json]\n    operations: [categorisation]\n    country: uk\n    output: ../out.json\ndrops:\n  - name: d\n    dir: ..\n    operations: [categorisation]\n    country: uk\n    output_dir: o/../..\n"},
			want: []string{
				`a.yaml:3:18: statement "../x.json" leaves the manifest directory; write an absolute path to use a file outside it`,
				`a.yaml:3:29: statement "a/../../x.json" leaves the manifest directory; write an absolute path to use a file outside it`,
				`a.yaml:3:45: glob "../*.json" leaves the manifest directory; write an absolute path to use files outside it`,
				`a.yaml:6:13: output "../out.json" leaves the manifest directory; write an absolute path to use a file outside it`,
				`a.yaml:9:10: dir ".." leaves the manifest directory; write an absolute path to use a file outside it`,
				`a.yaml:12:17: output_dir "o/../.." leaves the manifest directory; write an absolute path to use a file outside it`,
			},
		},
		{
			name: "symbolic link escapes",
			files: tree{
				"a.yaml":       "reports:\n  - name: a\n    statements: [link.json, ext/secret.json, s/*.json]\n    operations: [categorisation]\n    country: uk\n    output: ext/new/out.json\ndrops:\n  - name: d\n    dir: ext\n    operations: [categorisation]\n    country: uk\n",
				"link.json":    "->" + filepath.Join(outside, "secret.json"),
				"ext":          "->" + outside,
				"s/ok.json":    "{}",
				"s/x.json":     "->" + filepath.Join(outside, "secret.json"),
				"broken.json":  "->nowhere",
				"b.yaml":       "reports:\n  - name: b\n    statements: [broken.json]\n    operations: [categorisation]\n    country: uk\n",
				"c.yaml":       "drops:\n  - name: c\n    dir: in\n    operations: [categorisation]\n    country: uk\n",
				"out/":         "",
				"out/c":        "->" + outside,
				"in/":          "",
				"in/file.json": "{}",
			},
			want: []string{
				`a.yaml:3:18: statement "link.json" leads outside the manifest directory through a symbolic link (to ` + filepath.Join(outside, "secret.json") + `); write an absolute path to use a file outside it`,
				`a.yaml:3:29: statement "ext/secret.json" leads outside the manifest directory through a symbolic link (to ` + filepath.Join(outside, "secret.json") + `); write an absolute path to use a file outside it`,
				`a.yaml:3:46: statement "s/x.json" matched by glob "s/*.json" leads outside the manifest directory through a symbolic link (to ` + filepath.Join(outside, "secret.json") + `); write an absolute path to use a file outside it`,
				`a.yaml:6:13: output "ext/new/out.json" leads outside the manifest directory through a symbolic link (to ` + filepath.Join(outside, "new", "out.json") + `); write an absolute path to use a file outside it`,
				`a.yaml:9:10: dir "ext" leads outside the manifest directory through a symbolic link (to ` + outside + `); write an absolute path to use a file outside it`,
				`b.yaml:3:18: statement "broken.json" goes through a broken symbolic link: lstat nowhere: no such file or directory`,
				`c.yaml:2:5: the default output_dir "out/c" leads outside the manifest directory through a symbolic link (to ` + outside + `); write an absolute path to use a file outside it`,
			},
		},
		{
			name: "outputs that clash",
			files: tree{
				"a.yaml": "reports:\n" + reportYAML + "    output: out/x.json\n" +
					"  - name: b\n    statements: [s.json]\n    operations: [categorisation]\n    country: uk\n    output: ./out//x.json\n" +
					"  - name: c\n    statements: [s.json]\n    operations: [categorisation]\n    country: uk\n    output: s.json\n" +
					"  - name: e\n    statements: [s.json]\n    operations: [categorisation]\n    country: uk\n    output: in/e.json\n" +
					"drops:\n  - name: d\n    dir: in\n    operations: [categorisation]\n    country: uk\n    output_dir: ./in\n" +
					"  - name: f\n    dir: in2\n    operations: [categorisation]\n    country: uk\n    output_dir: in\n",
			},
			want: []string{
				`a.yaml:11:13: output "out/x.json" of report.b is also the output of report.a (at a.yaml:6:13)`,
				`a.yaml:16:13: output "s.json" of report.c would overwrite a statement of report.a`,
				`a.yaml:21:13: output "in/e.json" of report.e is in the dir of drop "d" and matches its pattern; it would be taken for a new statement`,
				`a.yaml:27:17: output_dir "in" is the drop's own dir; its outputs would be taken for new statements`,
				`a.yaml:32:17: output_dir "in" is the dir of drop "d"; the outputs would be taken for its statements`,
			},
		},
		{
			name:  "drop pattern and dir",
			files: tree{"a.yaml": "drops:\n  - name: d\n    dir: f\n    pattern: 'x/*.json'\n    operations: [categorisation]\n    country: uk\n  - name: e\n    dir: f\n    pattern: '[a'\n    operations: [categorisation]\n    country: uk\n  - name: g\n    dir: f\n    operations: [categorisation]\n    country: uk\n", "f": "a file"},
			want: []string{
				`a.yaml:4:14: pattern matches file names in the drop's dir and cannot contain /`,
				`a.yaml:9:14: invalid pattern "[a": syntax error in pattern`,
				`a.yaml:13:10: dir "f" is not a directory`,
			},
		},
		{
			name:  "paths that name the directory or are empty",
			files: tree{"a.yaml": "reports:\n  - name: a\n    statements: [., '']\n    operations: [categorisation]\n    country: uk\n    output: x/..\n"},
			want: []string{
				`a.yaml:3:18: statement "." names the manifest directory, not a file`,
				`a.yaml:3:21: a statement must not be empty`,
				`a.yaml:6:13: output "x/.." names the manifest directory, not a file`,
			},
		},
		{
			name:  "empty file",
			files: tree{"a.yaml": ""},
			want:  []string{`a.yaml: empty manifest; write at least one of settings, reports or drops ("reports: []" declares none)`},
		},
		{
			name:  "only comments",
			files: tree{"a.yaml": "# reports:\n#  - name: a\n\n"},
			want:  []string{`a.yaml: empty manifest; write at least one of settings, reports or drops ("reports: []" declares none)`},
		},
		{
			name:  "only a null document",
			files: tree{"a.yaml": "---\n~\n"},
			want:  []string{`a.yaml:2:1: empty manifest; write at least one of settings, reports or drops ("reports: []" declares none)`},
		},
		{
			name:  "two documents",
			files: tree{"a.yaml": "reports: []\n---\ndrops: []\n"},
			want:  []string{`a.yaml:3:1: a second YAML document; a manifest holds exactly one (remove the "---" or split the file)`},
		},
		{
			name:  "syntax error",
			files: tree{"a.yaml": "reports:\n  - name: a\n\tcountry: uk\n"},
			// The parser gives a line only, and for this error the line
			// before the tab.
			want: []string{`a.yaml:2: invalid YAML: found a tab character that violates indentation`},
		},
		{
			name:  "not UTF-8",
			files: tree{"a.yaml": "reports:\n  - name: caf\xe9\n"},
			want:  []string{`a.yaml:2:14: not UTF-8: invalid byte 0xe9`},
		},
		{
			name:  "UTF-16",
			files: tree{"a.yaml": "\xff\xfer\x00e\x00"},
			want:  []string{`a.yaml:1:1: not UTF-8: manifests must be UTF-8, this file looks like UTF-16 0xff`},
		},
		{
			name:  "control character",
			files: tree{"a.yaml": "reports: []\x01\n"},
			want:  []string{`a.yaml:1:12: control character U+0001 is not allowed in YAML`},
		},
		{
			name:  "oversize",
			files: tree{"a.yaml": "reports: []\n" + strings.Repeat("#", maxManifestSize)},
			want:  []string{`a.yaml: manifest is 1048588 bytes, over the limit of 1048576`},
		},
		{
			name: "alias bomb",
			files: tree{"a.yaml": `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`},
			want: []string{`a.yaml:1:4: anchors and aliases are not allowed in manifests`},
		},
		{
			name:  "merge key",
			files: tree{"a.yaml": "reports:\n  - <<: {name: a}\n    statements: [s.json]\n"},
			want: []string{
				`a.yaml:2:5: unknown key "<<" in report; the keys are name, statements, operations, country, params, output, suspend and html`,
				`a.yaml:2:5: report has no name`,
				`a.yaml:2:5: report has no operations`,
				`a.yaml:2:5: report has no country`,
			},
		},
		{
			name: "every error of every file at once",
			files: tree{
				"a.yaml":     "reports:\n  - name: a\n    statements: [none/*.json]\n    operations: [categorisation]\n    country: uk\n    params: {period: x}\n",
				"b.yml":      "drops:\n  - name: a\n    dir: ../in\n    operations: [x]\n    country: uk\n",
				"c.yaml":     "",
				"d.yaml":     "settings: [x]\n",
				"skip.txt":   "not a manifest",
				".e.yaml":    "hidden: true",
				"f.yaml~":    "backup: true",
				"sub/":       "",
				"sub/g.yaml": "nested: true",
			},
			want: []string{
				`a.yaml:3:18: glob "none/*.json" matches no files`,
				`a.yaml:6:22: period must be a whole number from 1 to 1200, not the string "x"`,
				`b.yml:2:11: duplicate name "a" (first at a.yaml:2:11)`,
				`b.yml:3:10: dir "../in" leaves the manifest directory; write an absolute path to use a file outside it`,
				`b.yml:4:18: unknown operation "x"; the operations are categorisation, insights-income, insights-loans, insights-risk and simple-score`,
				`c.yaml: empty manifest; write at least one of settings, reports or drops ("reports: []" declares none)`,
				`d.yaml:1:11: settings must be a mapping of keys to values, not a list`,
			},
		},
	}
	tests = append(tests, []struct {
		name  string
		files tree
		want  []string
	}{
		{
			name: "html pages that collide",
			files: tree{
				"a.yaml": `settings: {html: yes}
reports:
  - {name: a, statements: [s.json], operations: [categorisation], country: uk, html: true}
  - {name: b, statements: [s.json], operations: [categorisation], country: uk, output: out/a.html}
  - {name: c, statements: [s.json], operations: [categorisation], country: uk, output: out/c, html: true}
  - {name: d, statements: [s.json], operations: [categorisation], country: uk, output: out/c.json, html: true}
  - {name: e, statements: [s.json], operations: [categorisation], country: uk, output: in/e.json, html: true}
  - {name: f, statements: [f.html], operations: [categorisation], country: uk, output: f.json, html: true}
drops:
  - {name: in, dir: in, pattern: "*.html", operations: [categorisation], country: uk}
`,
				"s.json": "{}",
				"f.html": "{}",
				"in/":    "",
			},
			want: []string{
				`a.yaml:1:18: html must be true or false, not the string "yes"`,
				`a.yaml:3:5: HTML page "out/a.html" of report.a is also the output of report.b`,
				`a.yaml:6:88: HTML page "out/c.html" of report.d is also the HTML page of report.c`,
				`a.yaml:7:88: HTML page "in/e.html" of report.e is in the dir of drop "in" and matches its pattern; it would be taken for a new statement`,
				`a.yaml:8:88: HTML page "f.html" of report.f is also a statement of report.f`,
			},
		},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set, dir, err := loadTree(t, tt.files)
			if err == nil {
				t.Fatalf("Load succeeded with %+v; want errors", set)
			}
			if set != nil {
				t.Errorf("Load returned a Set and an error")
			}
			got := errorLines(t, err, dir)
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoad_tooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("reports:\n")
	for range 2 * maxErrorsPerFile {
		b.WriteString("  - x\n")
	}
	_, dir, err := loadTree(t, tree{"a.yaml": b.String()})
	got := errorLines(t, err, dir)
	if len(got) != maxErrorsPerFile+1 {
		t.Fatalf("got %d errors, want %d", len(got), maxErrorsPerFile+1)
	}
	if want := "a.yaml:52:5: too many errors in this file; not reporting more"; got[maxErrorsPerFile] != want {
		t.Errorf("last error = %q, want %q", got[maxErrorsPerFile], want)
	}
}

func TestLoad_missingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Load(dir)
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Pos.File != dir || !strings.Contains(es[0].Msg, "cannot read the manifest directory") {
		t.Fatalf("Load(missing) = %v", err)
	}
}

func TestErrors_Error(t *testing.T) {
	es := Errors{
		{Pos{"b.yaml", 1, 1}, "b"},
		{Pos{"a.yaml", 10, 1}, "a10"},
		{Pos{"a.yaml", 2, 7}, "a2.7"},
		{Pos{"a.yaml", 2, 3}, "a2.3"},
		{Pos{"a.yaml", 0, 0}, "a"},
	}
	want := "a.yaml: a\na.yaml:2:3: a2.3\na.yaml:2:7: a2.7\na.yaml:10:1: a10\nb.yaml:1:1: b"
	if got := es.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if es[0].Msg != "b" {
		t.Error("Error() reordered its receiver")
	}
	var e *Error
	if !errors.As(error(es), &e) || e.Msg != "b" {
		t.Errorf("errors.As(Errors, *Error) = %v", e)
	}
	if got, want := (&Error{Pos{"a.yaml", 3, 0}, "x"}).Error(), "a.yaml:3: x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
