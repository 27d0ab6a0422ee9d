package spec

import (
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/ledgerform/ledgerform/report"
)

// Pos is a position in a manifest file, for error messages.
type Pos struct {
	File string // the manifest's path as given (relative to the working directory where possible)
	Line int    // 1-based; 0 when unknown
	Col  int    // 1-based; 0 when unknown
}

// String formats p as file:line:col (or file:line, or file).
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Set is the desired state read from every manifest of a directory.
// Lookup may be called from several goroutines; the fields are not to be
// changed once a Set is in use.
type Set struct {
	Dir   string   // the working directory: relative paths of the manifests resolve against it
	Files []string // the manifest files read, sorted
	// Revision is the revision the manifests were read from (a git
	// commit, Manifests.Revision); "" for manifests in Dir.
	Revision string
	Settings Settings
	Reports  []Report // every report, drop files expanded, sorted by Address
	Drops    []Drop   // the drop folders, sorted by Name (for the watcher)

	indexOnce sync.Once
	index     map[report.Address]int // Address → position in Reports
}

// Lookup returns the report with the address, if there is one. The first
// call indexes Reports.
func (s *Set) Lookup(address report.Address) (Report, bool) {
	s.indexOnce.Do(func() {
		s.index = make(map[report.Address]int, len(s.Reports))
		for i, r := range s.Reports {
			s.index[r.Address] = i
		}
	})
	i, ok := s.index[address]
	if !ok {
		return Report{}, false
	}
	return s.Reports[i], true
}

// Suspended reports whether nothing may be done to the report at address
// for now: a desired report that is suspended, or a report of a suspended
// drop (desired or not: a file that left a suspended drop's folder is
// kept as it is, not deleted).
func (s *Set) Suspended(address report.Address) bool {
	if r, ok := s.Lookup(address); ok {
		return r.Suspended
	}
	if address.Kind() != report.KindDrop {
		return false
	}
	for _, d := range s.Drops {
		if d.Name == address.Name() {
			return d.Suspended
		}
	}
	return false
}

// MaxParallelism bounds settings.parallelism, and the --parallelism flags
// with it.
const MaxParallelism = 1024

// MaxRateLimit bounds settings.rate_limit.
const MaxRateLimit = 100_000

// Settings is the settings block; at most one manifest has one.
type Settings struct {
	Endpoint    string // "" when unset, "embedded", or an http(s) URL
	Parallelism int    // 0 when unset
	Prune       bool
	// RateLimit is the requests per second the client may send, all
	// workers together; 0 (unset) is no client-side limit: the client
	// then slows down only when the API answers 429.
	RateLimit float64
	// Notifications are the daemon's webhooks (settings.notifications).
	Notifications []Notification
	// HTML is settings.html: every report whose manifest entry does not
	// say otherwise gets an HTML page beside its output (see PagePath).
	HTML bool
	Pos  Pos // where the block is; zero when no manifest has one
}

// Report is one desired report: statements to upload together and the
// operations to request on them.
type Report struct {
	Address report.Address // report.NAME, or drop.NAME["file"]
	Name    string         // the report's or the drop's name
	// Statements are the statement files, in upload order: each glob's
	// matches sorted, globs in the order written, duplicates removed.
	// Paths are slash-separated and relative to Set.Dir, or absolute when
	// written absolute in the manifest.
	Statements []string
	Operations []string       // sorted, deduplicated, each one of the five keywords
	Country    string         // lower case
	Params     *report.Params // nil when the manifest has none (a nil field: not written)
	Output     string         // relative to Set.Dir, or absolute; slash-separated
	// Suspended is the manifest's suspend: true (a drop's, for its
	// files): the report is planned, to show what would be done, but
	// nothing is done to it or its record and output.
	Suspended bool
	// HTML is whether the report gets an HTML page (PagePath of Output):
	// the report's or drop's html, or else settings.html.
	HTML bool
	Pos  Pos // the report's (or the drop's) entry
	// Problem, when not empty, says why a dropped file's report can never
	// be carried out (its output name is too long, say). It is the file's
	// fault, not the manifest's: Load succeeds, validate lists it, and
	// the plan shows that one report as an error while the others go on.
	Problem string
}

// Drop is a drop folder: every file in Dir matching Pattern is a report.
type Drop struct {
	Name       string
	Dir        string // relative to Set.Dir, or absolute; slash-separated
	Pattern    string
	Operations []string
	Country    string
	Params     *report.Params
	OutputDir  string // relative to Set.Dir, or absolute; slash-separated
	// Suspended is the drop's suspend: true, passed to every file's
	// report; the reports of files that left the folder are kept, not
	// deleted, while it is set.
	Suspended bool
	// HTML is the drop's html, or else settings.html, passed to every
	// file's report.
	HTML bool
	Pos  Pos
	// Missing is true when Dir did not exist at load: the drop has no
	// reports then, but its recorded ones are not to be deleted (a
	// folder that is unmounted or moved away is not "no files").
	Missing bool
}

// Page returns the path of the report's HTML page, or "" when it has
// none (HTML is false).
func (r Report) Page() string {
	if !r.HTML || r.Output == "" {
		return ""
	}
	return PagePath(r.Output)
}

// PagePath returns the path of the HTML page that goes with an output:
// the output with its .json extension (any case) replaced by .html, or
// with .html appended when it has no .json extension
// (out/alex.json -> out/alex.html, out/alex -> out/alex.html,
// out/alex.txt -> out/alex.txt.html).
func PagePath(output string) string {
	if ext := path.Ext(output); strings.EqualFold(ext, ".json") && len(output) > len(ext) && !strings.HasSuffix(output, "/"+ext) {
		return output[:len(output)-len(ext)] + ".html"
	}
	return output + ".html"
}
