package daemon

import (
	_ "embed"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// The daemon's web page (GET / on --listen): read-only, one
// self-contained HTML document (its style and script inline, nothing
// fetched from anywhere but this daemon), the same facts as /status, for
// people. It lists every report with its phase, readiness, work, last
// error, next retry and revision (the record's digest), filterable by
// text and phase, and refreshes itself every few seconds by fetching
// itself again (without JavaScript, a meta refresh does). A report with
// an HTML page (html: true) links to it at /page?address=ADDR.
//
// What it shows is scrubbed: paths inside the working directory are
// shown relative to it, and any other absolute path (a statement outside
// it, say) as "[outside the working directory]". The working directory
// itself is never shown. Secrets never reach the daemon's status in the
// first place (nordigen.Secret, spec's notification rules).
//
// /page serves a report's HTML page and nothing else: the page path is
// derived from the report's recorded output (spec.PagePath), opened
// inside the working directory through os.Root (so neither "..", nor an
// absolute path, nor a symbolic link can leave it), and served only if
// it is a regular file that starts with the line ledgerform writes at the
// top of every page (reconcile.PageHeader).

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12]
		}
		return s
	},
	"when": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	// short16 is an RFC 3339 time to the minute, for a narrow column (the
	// datetime attribute has it whole).
	"short16": func(s string) string {
		if len(s) >= 16 {
			return strings.Replace(s[:16], "T", " ", 1)
		}
		return s
	},
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
}).Parse(pageHTML))

// pageCSP is the Content-Security-Policy of both pages: inline style and
// script only; the status page may fetch itself; nothing else loads.
const (
	statusCSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	reportCSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

// pageView is what the template shows.
type pageView struct {
	Status
	Now     string
	Phases  []state.Phase
	Reports []pageReport
	Daemon  []Condition
}

type pageReport struct {
	ReportStatus
	Ready     *Condition
	Error     string
	Page      string // the link to its HTML page, "" for none
	ShownText string // what the filter matches
}

func (d *Daemon) serveStatusPage(w http.ResponseWriter, r *http.Request) {
	s := d.Status()
	v := pageView{Status: s, Now: time.Now().UTC().Format(time.RFC3339), Daemon: s.Conditions}
	d.mu.Lock()
	set := d.set
	d.mu.Unlock()
	phases := map[state.Phase]bool{}
	for _, rs := range s.Reports {
		pr := pageReport{ReportStatus: rs}
		phases[rs.Phase] = true
		for i := range rs.Conditions {
			if rs.Conditions[i].Type == "Ready" {
				c := rs.Conditions[i]
				c.Message = d.scrub(c.Message)
				pr.Ready = &c
			}
		}
		if e := rs.LastError; e != nil {
			pr.Error = d.scrub(e.Message)
			if e.Code != "" && !strings.Contains(pr.Error, e.Code) {
				pr.Error = e.Code + ": " + pr.Error
			}
		}
		if set != nil && rs.Phase == state.Completed {
			if want, ok := set.Lookup(report.Address(rs.Address)); ok && want.HTML {
				pr.Page = "/page?address=" + url.QueryEscape(rs.Address)
			}
		}
		pr.ShownText = strings.ToLower(strings.Join([]string{rs.Address, string(rs.Phase), rs.Work, pr.Error}, " "))
		v.Reports = append(v.Reports, pr)
	}
	for p := range phases {
		v.Phases = append(v.Phases, p)
	}
	slices.Sort(v.Phases)
	v.Status.Manifests.Errors = slices.Clone(s.Manifests.Errors)
	for i, e := range v.Status.Manifests.Errors {
		v.Status.Manifests.Errors[i] = d.scrub(e)
	}
	v.Status.Manifests.Held = d.scrub(s.Manifests.Held)
	if s.Source != nil {
		src := *s.Source
		src.Error = d.scrub(src.Error)
		v.Status.Source = &src
	}
	if s.Endpoint != nil {
		e := *s.Endpoint
		e.Error = d.scrub(e.Error)
		v.Status.Endpoint = &e
	}
	v.Daemon = slices.Clone(s.Conditions)
	for i := range v.Daemon {
		v.Daemon[i].Message = d.scrub(v.Daemon[i].Message)
	}
	secureHeaders(w, statusCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, v); err != nil {
		d.log.Warn("status page", "error", err)
	}
}

func secureHeaders(w http.ResponseWriter, csp string) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
}

// serveReportPage serves the HTML page of ?address=ADDR: see the top of
// this file for what it refuses.
func (d *Daemon) serveReportPage(w http.ResponseWriter, r *http.Request) {
	addr := r.URL.Query().Get("address")
	rec, ok := d.cfg.Store.Get(report.Address(addr))
	if !ok || rec.Phase != state.Completed || rec.Output == nil {
		http.Error(w, "no completed report with that address", http.StatusNotFound)
		return
	}
	page := spec.PagePath(rec.Spec.Output)
	f, err := openInside(d.cfg.Dir, page)
	if err != nil {
		d.log.Info("report page refused", "address", addr, "reason", err)
		http.Error(w, "this report has no HTML page in the working directory", http.StatusNotFound)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.Error(w, "this report has no HTML page in the working directory", http.StatusNotFound)
		return
	}
	if _, ok := reconcile.PageHeader(f); !ok {
		http.Error(w, "the file beside this report's output is not a page ledgerform wrote", http.StatusNotFound)
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		http.Error(w, "cannot read the page", http.StatusInternalServerError)
		return
	}
	secureHeaders(w, reportCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// errOutside is openInside's refusal of a path that leaves the working
// directory.
var errOutside = errors.New("the page is not inside the working directory")

// openInside opens the relative, slash-separated path inside dir; an
// absolute path, "..", or a symbolic link that leads out is refused.
func openInside(dir, path string) (*os.File, error) {
	if filepath.IsAbs(filepath.FromSlash(path)) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(abs, filepath.FromSlash(path))
		if err != nil || !filepath.IsLocal(rel) {
			return nil, errOutside
		}
		path = filepath.ToSlash(rel)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// Without blocking on a FIFO; the caller serves only a regular file.
	f, err := root.OpenFile(filepath.FromSlash(path), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, errors.Join(errOutside, err)
	}
	return f, err
}

// absPath is an absolute path in a message: it follows the start, a space
// or one of ( " ' = : , and its first character after the slash is not a
// slash (a URL's //host is not a path). It ends before a space, a quote,
// a colon or a comma.
var absPath = regexp.MustCompile(`(^|[\s("'=:,])(/[^/\s"'):,][^\s"'):,]*)`)

// scrub makes what a message says of paths fit for the page: the working
// directory's own paths relative to it, any other absolute path hidden.
func (d *Daemon) scrub(s string) string {
	if s == "" {
		return s
	}
	abs, err := filepath.Abs(d.cfg.Dir)
	if err != nil {
		abs = ""
	}
	return absPath.ReplaceAllStringFunc(s, func(m string) string {
		lead := ""
		if m[0] != '/' {
			lead, m = m[:1], m[1:]
		}
		switch rel, ok := strings.CutPrefix(m, abs+"/"); {
		case abs != "" && m == abs:
			return lead + "."
		case abs != "" && ok:
			return lead + rel
		}
		return lead + "[outside the working directory]"
	})
}
