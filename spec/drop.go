package spec

import (
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ledgerform/ledgerform/report"
)

// defaultPattern is a drop's pattern when the manifest gives none:
// statements are JSON, and anything else landing in a drop folder (a
// README, a checksum) is more likely a mistake than a statement.
const defaultPattern = "*.json"

// IsTemporary reports whether the base name of a file marks it as
// temporary or hidden: ".*", "*~", "*.tmp", "*.part" or "*.swp" (the
// suffixes in any case). Such files are never manifests, drop-folder
// statements or glob matches: editors, downloads and copies write them
// before the real file appears.
func IsTemporary(name string) bool {
	base := filepath.Base(name)
	if strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") {
		return true
	}
	lower := strings.ToLower(base)
	for _, suffix := range []string{".tmp", ".part", ".swp"} {
		if strings.HasSuffix(lower, suffix) {
			return true
		}
	}
	return false
}

// IsManifest reports whether a file named name, directly in the working
// directory, is read as a manifest: it ends in ".yaml" or ".yml" (in any
// case) and is not temporary.
func IsManifest(name string) bool {
	base := filepath.Base(name)
	lower := strings.ToLower(base)
	return (strings.HasSuffix(lower, ".yaml") || strings.HasSuffix(lower, ".yml")) && !IsTemporary(base)
}

// Matches reports whether a file named name (a base name) directly in
// d.Dir is one of d's statements, provided it is a regular file: name
// matches d.Pattern and is not temporary.
func (d Drop) Matches(name string) bool {
	if name == "" || strings.ContainsRune(name, '/') || name != filepath.Base(name) || IsTemporary(name) {
		return false
	}
	ok, err := filepath.Match(d.Pattern, name)
	return ok && err == nil
}

// Report returns the report for file, a file name relative to d.Dir
// (drops take only the files directly in Dir, so a base name): address
// drop.NAME["file"] with file quoted as strconv.Quote does, the file as
// its one statement, and OutputDir/file as its output. Report does not
// check that file exists or matches; see Matches. The report is
// suspended when the drop is.
func (d Drop) Report(file string) Report {
	return Report{
		Address:    DropAddress(d.Name, file),
		Name:       d.Name,
		Statements: []string{path.Join(d.Dir, filepath.ToSlash(file))},
		Operations: slices.Clone(d.Operations),
		Country:    d.Country,
		Params:     d.Params.Clone(),
		Output:     path.Join(d.OutputDir, filepath.ToSlash(file)),
		Suspended:  d.Suspended,
		HTML:       d.HTML,
		Pos:        d.Pos,
	}
}

// ReportAddress returns the address of the report named name.
func ReportAddress(name string) report.Address { return report.ReportAddress(name) }

// DropAddress returns the address of the report of file in the drop
// named name.
func DropAddress(name, file string) report.Address { return report.DropAddress(name, file) }

// checkPattern returns what is wrong with a drop's pattern, or "".
func checkPattern(p string) string {
	switch {
	case p == "":
		return "pattern must not be empty"
	case strings.ContainsRune(p, '/'):
		return "pattern matches file names in the drop's dir and cannot contain /"
	}
	if _, err := filepath.Match(p, ""); err != nil {
		return "invalid pattern " + strconv.Quote(clip(p)) + ": " + err.Error()
	}
	return ""
}
