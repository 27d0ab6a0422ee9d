package daemon

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// prePages renders a report's page as its output in a <pre>.
type prePages struct{}

func (prePages) RenderPage(_ context.Context, a report.Address, _ state.Spec, raw []byte) ([]byte, error) {
	return []byte("<html><title>" + html.EscapeString(a.String()) + "</title><pre>" + html.EscapeString(string(raw)) + "</pre></html>\n"), nil
}

// pageFixture is a daemon with a completed report with a page (a), one
// without (plain), and one whose statement outside the working directory
// is missing (outside).
func pageFixture(t *testing.T) (*harness, string) {
	t.Helper()
	dir, elsewhere := t.TempDir(), t.TempDir()
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "s/plain.json", statement(2))
	write(t, dir, "m.yaml", "settings: {html: true}\n"+manifest(
		reportYAML("a", "categorisation"),
		"  - {name: plain, statements: [s/plain.json], operations: [categorisation], country: uk, html: false}",
		"  - {name: outside, statements: ["+filepath.Join(elsewhere, "secret-statement.json")+"], operations: [categorisation], country: uk}",
	))
	write(t, elsewhere, "secret-statement.json", statement(3))
	h := start(t, dir, Config{Pages: func(func(context.Context) (reconcile.API, error)) reconcile.PageRenderer { return prePages{} }}, engine.Config{})
	h.eventually("report.a completed", func() bool {
		return h.phase("report.a") == state.Completed && h.phase("report.outside") == state.Completed
	})
	os.Remove(filepath.Join(elsewhere, "secret-statement.json"))
	saveLikeAnEditor(t, dir, "m.yaml", h.readFile("m.yaml")+"\n")
	h.eventually("report.outside's statement seen missing", func() bool {
		for _, r := range h.status().Reports {
			if r.Address == "report.outside" && r.LastError != nil {
				return true
			}
		}
		return false
	})
	return h, elsewhere
}

func (h *harness) readFile(name string) string {
	b, err := os.ReadFile(filepath.Join(h.dir, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

func getResp(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// The status page lists every report with its phase and a link to its
// page, and shows no path outside the working directory, nor the working
// directory itself.
func TestStatusPage(t *testing.T) {
	h, elsewhere := pageFixture(t)
	resp, body := getResp(t, h.url+"/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	for _, want := range []string{"report.a", "report.plain", "report.outside", ">completed<", `href="/page?address=report.a"`,
		"STATEMENT_UNREADABLE", "statement [outside the working directory]: no such file"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, "/page?address=report.plain") {
		t.Errorf("report.plain (html: false) links to a page")
	}
	for _, never := range []string{elsewhere, "secret-statement", h.dir, "<script src", "<link", "http://", "https://"} {
		if strings.Contains(body, never) {
			t.Errorf("the page shows %q", never)
		}
	}
}

// /page serves a report's page from its output's place, and nothing
// that is not such a page inside the working directory.
func TestReportPage_ServesOnlyPagesInside(t *testing.T) {
	h, elsewhere := pageFixture(t)
	page := func(addr string) (int, string) {
		resp, body := getResp(t, h.url+"/page?address="+url.QueryEscape(addr))
		return resp.StatusCode, body
	}
	code, body := page("report.a")
	if code != 200 || !strings.HasPrefix(body, "<!DOCTYPE html>\n<!-- ledgerform page: output sha256 ") || !strings.Contains(body, "<title>report.a</title>") {
		t.Fatalf("report.a's page: %d %.200q", code, body)
	}
	if code, _ := page("report.plain"); code != 404 {
		t.Errorf("report.plain has no page: %d, want 404", code)
	}
	for _, addr := range []string{"report.nope", "../m.yaml", "/etc/passwd", `report.a"]`} {
		if code, _ := page(addr); code != 404 {
			t.Errorf("address %q: %d, want 404", addr, code)
		}
	}
	// The page replaced by a symbolic link out of the working directory,
	// to a file that looks like a page: refused.
	outside := filepath.Join(elsewhere, "a.html")
	os.WriteFile(outside, []byte(body), 0o600)
	pagePath := filepath.Join(h.dir, "out", "a.html")
	os.Remove(pagePath)
	if err := os.Symlink(outside, pagePath); err != nil {
		t.Fatal(err)
	}
	if code, b := page("report.a"); code != 404 || strings.Contains(b, "ledgerform page") {
		t.Errorf("a page linked out of the working directory: %d %.100q, want 404", code, b)
	}
	// A symbolic link to a page inside is served; a directory link that
	// leads out is not.
	os.Remove(pagePath)
	os.WriteFile(filepath.Join(h.dir, "out", "real.html"), []byte(body), 0o600)
	os.Symlink("real.html", pagePath)
	if code, _ := page("report.a"); code != 200 {
		t.Errorf("a page linked inside: %d, want 200", code)
	}
	// A FIFO at the page's path: refused at once, not waited on.
	os.Remove(pagePath)
	if err := syscall.Mkfifo(pagePath, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _ := page("report.a"); code != 404 {
		t.Errorf("a FIFO at the page's path: %d, want 404", code)
	}
	// A file that is not one ledgerform wrote: refused.
	os.Remove(pagePath)
	os.WriteFile(pagePath, []byte("<!DOCTYPE html>\n<p>someone else's</p>\n"), 0o600)
	if code, _ := page("report.a"); code != 404 {
		t.Errorf("a foreign file at the page's path: %d, want 404", code)
	}
}

func TestScrub(t *testing.T) {
	d := &Daemon{cfg: Config{Dir: "/work/dir"}}
	for in, want := range map[string]string{
		"statement /work/dir/s/a.json: no such file":    "statement s/a.json: no such file",
		"statement /home/x/secret.json: no such file":   "statement [outside the working directory]: no such file",
		`open "/etc/passwd": denied`:                    `open "[outside the working directory]": denied`,
		"Post \"http://127.0.0.1:9/oauth/token\": nope": "Post \"http://127.0.0.1:9/oauth/token\": nope",
		"dir /work/dir":     "dir .",
		"/work/dirt/x.json": "[outside the working directory]",
	} {
		if got := d.scrub(in); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
}
