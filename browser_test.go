package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ledgerform/ledgerform/htmlreport"
	"github.com/ledgerform/ledgerform/internal/browsertest"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/summary"
)

// The browser tests open what ledgerform writes and serves in a real
// headless Chromium (internal/browsertest): the HTML reports of the three
// examples from their files with the network off, and the daemon's page
// over loopback. Screenshots are their artefacts (LEDGERFORM_SCREENSHOTS
// names where they go; the README's are made so).

// hostile is a statement whose descriptions and partner try to run script
// in the page.
const hostile = `{"account_list":[{"account_nr":"GB99<b>","holder_name":"<img src=x onerror=\"window.pwned=1\">","currency":"GBP","start_balance":10,"transaction_list":[
 {"date":"2026-03-01","sum":1200.00,"partner":"ACME LTD","info":"SALARY </script><script>window.pwned=2</script>"},
 {"date":"2026-03-02","sum":-12.50,"partner":"<svg onload=\"window.pwned=3\">","info":"CARD PAYMENT TO TESCO STORES {{.}} \u2028 ${window.pwned=4}"}]}]}`

// examplesWithHTML copies the examples into a new working directory with
// settings.html on and a hostile statement in the drop folder, and applies
// them with the ledgerform binary. It returns the directory.
func examplesWithHTML(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("examples")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "out"))
	os.RemoveAll(filepath.Join(dir, ".ledgerform"))
	m, err := os.ReadFile(filepath.Join(dir, "ledgerform.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m2 := strings.Replace(string(m), "settings:\n", "settings:\n  html: true\n", 1)
	if m2 == string(m) {
		t.Fatal("examples/ledgerform.yaml has no settings block to add html: true to")
	}
	writeFile(t, filepath.Join(dir, "ledgerform.yaml"), m2)
	writeFile(t, filepath.Join(dir, "inbox", "hostile.json"), hostile)
	cmd := exec.Command("ledgerform", "apply", "--dir", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	return dir
}

// summaryOf builds the summary of an output, offline, from the trees the
// apply cached: the numbers the page must show.
func summaryOf(t *testing.T, dir, output, address string) *summary.Summary {
	t.Helper()
	trees := &summary.Trees{Dir: filepath.Join(dir, ".ledgerform", summary.TreesDir)}
	s, err := summary.Load(context.Background(), filepath.Join(dir, output), summary.Options{Address: address, Output: output}, trees)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// drawn is what the page says of one chart it drew.
type drawn struct {
	ID      string      `json:"id"`
	Series  int         `json:"series"`
	Labels  []string    `json:"labels"`
	Values  [][]float64 `json:"values"`
	Painted int         `json:"painted"` // pixels of the canvas not transparent
	Width   int         `json:"width"`
}

const chartsJS = `Array.from(document.querySelectorAll("canvas")).map(function (c) {
  var ch = Chart.getChart(c), ctx = c.getContext("2d"), px = ctx.getImageData(0, 0, c.width, c.height).data, n = 0;
  for (var i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
  return {id: c.id, series: ch ? ch.data.datasets.length : 0, labels: ch ? ch.data.labels : [],
    values: ch ? ch.data.datasets.map(function (d) { return d.data; }) : [], painted: n, width: c.width};
})`

// checkCharts compares the charts the page drew with the summary's.
func checkCharts(t *testing.T, p *browsertest.Page, s *summary.Summary) {
	t.Helper()
	want := htmlreport.Charts(s)
	var got []drawn
	p.MustEval(chartsJS, &got)
	if len(got) != len(want) {
		t.Fatalf("%d charts drawn, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.ID || g.Series != len(w.Series) || len(g.Labels) != len(w.Labels) {
			t.Errorf("chart %d: id %s, %d series, %d labels; want %s, %d, %d", i, g.ID, g.Series, len(g.Labels), w.ID, len(w.Series), len(w.Labels))
			continue
		}
		for j, ws := range w.Series {
			if len(g.Values[j]) != len(ws.Values) {
				t.Errorf("%s series %d: %d values, want %d", w.ID, j, len(g.Values[j]), len(ws.Values))
				continue
			}
			for k, v := range ws.Values {
				if math.Abs(g.Values[j][k]-v) > 0.005 {
					t.Errorf("%s series %d value %d (%s) = %v, want %v", w.ID, j, k, w.Labels[k], g.Values[j][k], v)
				}
			}
		}
		// Drawn: a good part of the canvas is painted (axes, labels,
		// bars or the line), not an empty canvas.
		if g.Width == 0 || g.Painted < 2000 {
			t.Errorf("%s: %d pixels painted on a canvas %d wide: not drawn", w.ID, g.Painted, g.Width)
		}
	}
	// The summary's own figures that the charts come from.
	for _, a := range s.Accounts {
		if len(a.Months) == 0 {
			t.Errorf("account %s has no months: the example should have some", a.Number)
		}
	}
}

func TestHTMLReport_InChromium(t *testing.T) {
	if browsertest.Chromium() == "" && os.Getenv(browsertest.RequireEnv) != "1" {
		t.Skip("chromium is not installed (apt-get install -y chromium)")
	}
	dir := examplesWithHTML(t)
	for _, r := range []struct{ addr, output, shot string }{
		{"report.salaried-alex", "out/salaried-alex.json", "report-salaried-alex"},
		{"report.payday-gambling-jordan", "out/payday-gambling-jordan.json", "report-payday-gambling-jordan"},
		{"report.joint-patel", "out/joint-patel-gbp.json", "report-joint-patel"},
		{`drop.inbox["hostile.json"]`, "out/inbox/hostile.json", "report-hostile"},
	} {
		t.Run(r.shot, func(t *testing.T) {
			s := summaryOf(t, dir, r.output, r.addr)
			pageURL := "file://" + filepath.Join(dir, strings.TrimSuffix(r.output, ".json")+".html")
			p := browsertest.Open(t, pageURL, browsertest.Options{Offline: true, Width: 1100, Height: 1300})
			checkCharts(t, p, s)
			// Nothing but the file itself was asked for.
			for _, u := range p.Requests() {
				if u != pageURL {
					t.Errorf("the page asked for %s", u)
				}
			}
			if errs := p.Errors(); len(errs) > 0 {
				t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
			}
			var facts struct {
				H1, Pwned        string
				H2               []string
				Rows, Shown      int
				In, FirstOut     int
				Sorted           string
				Tables, Captions int
			}
			p.MustEval(`(function () {
  var f = {H1: document.querySelector("h1").textContent, Pwned: String(window.pwned),
    H2: Array.from(document.querySelectorAll("h2")).map(function (h) { return h.textContent; }),
    Tables: document.querySelectorAll("table").length, Captions: document.querySelectorAll("table > caption").length};
  var rows = Array.from(document.querySelectorAll("#tx-table tbody tr"));
  f.Rows = rows.length;
  var dir = document.getElementById("tx-direction"); dir.value = "in"; dir.dispatchEvent(new Event("change"));
  f.In = rows.filter(function (r) { return !r.hidden; }).length;
  dir.value = ""; dir.dispatchEvent(new Event("change"));
  f.Shown = rows.filter(function (r) { return !r.hidden; }).length;
  document.querySelector('#tx-table thead button[data-type="number"]').click();
  f.Sorted = document.querySelector("#tx-table tbody tr").querySelector("[data-v]").dataset.v;
  return f;
})()`, &facts)
			if facts.Pwned != "undefined" {
				t.Errorf("a statement's text ran as script: window.pwned = %s", facts.Pwned)
			}
			if !strings.Contains(facts.H1, r.addr) {
				t.Errorf("h1 %q does not name %s", facts.H1, r.addr)
			}
			if facts.Rows != len(s.Transactions) || facts.Shown != facts.Rows {
				t.Errorf("transactions table: %d rows (%d shown), want %d", facts.Rows, facts.Shown, len(s.Transactions))
			}
			in, low := 0, math.Inf(1)
			for _, tx := range s.Transactions {
				if tx.Amount >= 0 {
					in++
				}
				low = math.Min(low, tx.Amount)
			}
			if facts.In != in {
				t.Errorf("filtered to money in: %d rows, want %d", facts.In, in)
			}
			if facts.Sorted != fmt.Sprintf("%.2f", low) {
				t.Errorf("sorted by amount: first %s, want the lowest %.2f", facts.Sorted, low)
			}
			if facts.Captions != facts.Tables {
				t.Errorf("%d tables, %d with a caption", facts.Tables, facts.Captions)
			}
			// The window's worth from the top (a whole page of every
			// transaction is some 20,000 pixels high; the PDF below has all).
			p.ViewportScreenshot(r.shot)
			if r.shot == "report-payday-gambling-jordan" {
				checkPrint(t, p, r.shot)
			}
		})
	}
	// The hostile texts are shown as text.
	page, err := os.ReadFile(filepath.Join(dir, "out/inbox/hostile.html"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "<script>window.pwned") || strings.Contains(string(page), "<svg onload") {
		t.Errorf("the hostile page holds the statement's markup unescaped")
	}
}

// checkPrint checks the page's print CSS and script, and prints it to an
// A4 PDF (an artefact, beside the screenshots).
func checkPrint(t *testing.T, p *browsertest.Page, name string) {
	t.Helper()
	p.EmulatePrint(true)
	var css struct {
		Nav, Filters, Thead string
		Chart               float64
		Closed, After       int
	}
	p.MustEval(`(function () {
  var st = function (sel) { return getComputedStyle(document.querySelector(sel)).display; };
  var closed = function () { return document.querySelectorAll("details:not([open])").length; };
  var f = {Nav: st("nav"), Filters: st(".filters"), Thead: st("#tx-table thead"),
    Chart: document.querySelector(".canvas-box").getBoundingClientRect().height};
  window.dispatchEvent(new Event("beforeprint")); f.Closed = closed();
  window.dispatchEvent(new Event("afterprint")); f.After = closed();
  return f;
})()`, &css)
	p.EmulatePrint(false)
	// 7 cm at 96 CSS pixels to the inch.
	if css.Nav != "none" || css.Filters != "none" || css.Thead != "table-header-group" || math.Abs(css.Chart-7/2.54*96) > 1 {
		t.Errorf("print CSS: nav %s, filters %s, thead %s, chart %.1fpx high; want none, none, table-header-group, 7cm", css.Nav, css.Filters, css.Thead, css.Chart)
	}
	if css.Closed != 0 || css.After == 0 {
		t.Errorf("printing leaves %d tables of numbers closed (after: %d closed again); want every one open, then as before", css.Closed, css.After)
	}
	pdf := p.PrintPDF(name)
	pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1))
	if !strings.HasPrefix(string(pdf), "%PDF-") || pages < 2 || pages > 80 {
		t.Errorf("the A4 print is %d bytes, %d pages", len(pdf), pages)
	}
	t.Logf("printed on A4: %d pages", pages)
}

var listenRE = regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)

func TestWatchPage_InChromium(t *testing.T) {
	if browsertest.Chromium() == "" && os.Getenv(browsertest.RequireEnv) != "1" {
		t.Skip("chromium is not installed (apt-get install -y chromium)")
	}
	dir := examplesWithHTML(t)
	cmd := exec.Command("ledgerform", "watch", "--dir", dir, "--listen", "127.0.0.1:0")
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := waitFor(t, &out, listenRE)[1]
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch never got ready:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p := browsertest.Open(t, base+"/", browsertest.Options{Width: 1100, Height: 560})
	var facts struct {
		Rows, Links, Shown int
		Refreshed          string
	}
	p.MustEval(`new Promise(function (done) {
  var f = {Rows: document.querySelectorAll("#reports tbody tr[data-text]").length,
    Links: document.querySelectorAll('#reports a[href^="/page?address="]').length};
  var box = document.getElementById("filter"); box.value = "jordan"; box.dispatchEvent(new Event("input"));
  f.Shown = Array.from(document.querySelectorAll("#reports tbody tr[data-text]")).filter(function (r) { return !r.hidden; }).length;
  window.ledgerformRefresh();
  var until = Date.now() + 15000;
  (function poll() {
    f.Refreshed = document.documentElement.dataset.refreshed || "";
    if (f.Refreshed || Date.now() > until) return done(f);
    setTimeout(poll, 50);
  })();
})`, &facts)
	// The three reports and the dropped file, each with its page.
	if facts.Rows != 4 || facts.Links != 4 || facts.Shown != 1 {
		t.Errorf("page: %d rows, %d page links, %d shown after filtering for jordan; want 4, 4, 1", facts.Rows, facts.Links, facts.Shown)
	}
	if facts.Refreshed != "1" {
		t.Errorf("the page did not refresh itself (refreshed = %q)", facts.Refreshed)
	}
	var filterKept string
	p.MustEval(`document.getElementById("filter").value + " " + document.getElementById("shown").textContent`, &filterKept)
	if filterKept != "jordan 1" {
		t.Errorf("after a refresh the filter shows %q, want \"jordan 1\"", filterKept)
	}
	p.MustEval(`(function () { var b = document.getElementById("filter"); b.value = ""; b.dispatchEvent(new Event("input")); return true })()`, new(bool))
	p.Screenshot("watch-page")

	// Follow a report's link: its page, served by the daemon, draws.
	if err := p.Do(chromedp.Click(`a[href="/page?address=report.salaried-alex"]`)); err != nil {
		t.Fatal(err)
	}
	p.WaitLoaded(`location.pathname === "/page" && typeof Chart !== "undefined"`)
	checkCharts(t, p, summaryOf(t, dir, "out/salaried-alex.json", "report.salaried-alex"))
	for _, u := range p.Requests() {
		if !strings.HasPrefix(u, base+"/") {
			t.Errorf("the daemon's page asked for %s, not the daemon", u)
		}
	}
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
