package htmlreport

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/summary"
)

func ptr[T any](v T) *T { return &v }

// hostile is a result whose every text from the statement (and a title
// from the category tree) tries to break out of the page.
func hostile(t *testing.T) *summary.Summary {
	t.Helper()
	txs := []api.Transaction{
		{Date: "2026-01-05", Amount: 2000, CategoryID: 85, Info: ptr("SALARY </script><script>alert(1)</script>")},
		{Date: "2026-01-06", Amount: -45.10, CategoryID: 26, Partner: ptr(`<img src=x onerror="alert(2)">`), Info: ptr(`" onmouseover="alert(3)`)},
		{Date: "2026-02-07", Amount: -300, CategoryID: 44, Info: ptr("{{.}} ${alert(4)} \u2028")},
	}
	res := &api.Result{Status: "completed", SimpleScore: ptr(7), Categorisation: &api.Categorisation{
		CategoryTreeVersion: ptr("uk_1"),
		Accounts: []api.Account{{AccountNumber: ptr(`GB01"><b>`), Bank: ptr("<i>Bank</i>"), Country: ptr("uk"),
			Holders:    []api.Holder{{Name: ptr("<script>alert(5)</script>")}},
			Currencies: []api.Currency{{Code: ptr("GBP"), StartBalance: ptr(100.00), Transactions: txs}}}},
	}}
	tree := &api.CategoryTree{Version: "uk_1", Categories: []api.Category{
		{ID: 85, ReadableTitle: "Salary", Type: "income"},
		{ID: 26, ReadableTitle: "Groceries </script><script>alert(6)</script>", Type: "expense"},
		{ID: 44, ReadableTitle: "Restaurants", Type: "expense"},
	}}
	s, err := summary.Build(res, summary.Options{Address: `drop.inbox["<x>.json"]`, Output: "out/inbox/<x>.json", Tree: tree})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func render(t *testing.T, s *summary.Summary) string {
	t.Helper()
	var b bytes.Buffer
	if err := WritePage(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Every text from a statement or the tree is escaped for where it goes:
// the page has exactly its own two scripts, and the texts are there as
// text.
func TestRender_EscapesUntrustedText(t *testing.T) {
	page := render(t, hostile(t))
	if n := strings.Count(strings.ToLower(page), "<script"); n != 2 {
		t.Errorf("%d <script elements, want the page's own 2", n)
	}
	if n := strings.Count(strings.ToLower(page), "</script"); n != 2 {
		t.Errorf("%d </script, want the page's own 2", n)
	}
	for _, never := range []string{"alert(1)</script>", `<img src=x`, `"alert(3)`, "<i>Bank</i>", `GB01"><b>`, `onerror="alert(2)"`} {
		if strings.Contains(page, never) {
			t.Errorf("the page holds %q unescaped", never)
		}
	}
	for _, want := range []string{
		"SALARY &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;", // text in a cell
		"&lt;img src=x onerror=&#34;alert(2)&#34;&gt;",                // the partner
		`Groceries \u003c/script\u003e\u003cscript\u003ealert(6)`,     // a title in the charts' JSON
		"{{.}} ${alert(4)}", // template and JS syntax stay text
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// The page loads nothing: no src or href but to its own fragments, a
// policy that forbids loading, no source map.
func TestRender_SelfContained(t *testing.T) {
	page := render(t, hostile(t))
	markup := regexp.MustCompile(`(?s)<script>.*?</script>`).ReplaceAllString(page, "")
	attr := regexp.MustCompile(`(?i)\s(src|href|action|srcset|poster|data|formaction)\s*=\s*["']?([^"'\s>]*)`)
	for _, tag := range regexp.MustCompile(`<[a-zA-Z][^>]*>`).FindAllString(markup, -1) {
		for _, m := range attr.FindAllStringSubmatch(tag, -1) {
			if !strings.HasPrefix(m[2], "#") {
				t.Errorf("the page refers to %s=%q in %s", m[1], m[2], tag)
			}
		}
	}
	if strings.Contains(page, "sourceMappingURL") || strings.Contains(page, "@import") || strings.Contains(page, "url(") {
		t.Errorf("the page names a file to load")
	}
	if !strings.Contains(page, `content="default-src 'none';`) {
		t.Errorf("no Content-Security-Policy that forbids loading")
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>\n<html lang=\"en\">") {
		t.Errorf("the page starts %.40q", page)
	}
}

// The same summary gives the same bytes (reconcile renders a missing page
// again and compares nothing but its first line; a page that changed with
// the clock would be rewritten for nothing by nobody, but would differ in
// archives).
func TestRender_Deterministic(t *testing.T) {
	if a, b := render(t, hostile(t)), render(t, hostile(t)); a != b {
		t.Errorf("two renderings of one summary differ")
	}
}

// Every chart is a figure with a heading and a canvas described by the
// table of its numbers; every table has a caption; the headings are in
// order.
func TestRender_Accessible(t *testing.T) {
	s := hostile(t)
	page := render(t, s)
	charts := Charts(s)
	if len(charts) != 3 { // spending, months, balance: no income insights
		t.Fatalf("%d charts, want 3", len(charts))
	}
	for _, c := range charts {
		for _, want := range []string{`<canvas id="` + c.ID + `" role="img"`, `aria-describedby="` + c.ID + `-table"`, `<table id="` + c.ID + `-table">`, `<h3 id="` + c.ID + `-title">`} {
			if !strings.Contains(page, want) {
				t.Errorf("chart %s: the page lacks %q", c.ID, want)
			}
		}
	}
	if n, c := strings.Count(page, "<table"), strings.Count(page, "<caption>"); n != c || n == 0 {
		t.Errorf("%d tables, %d captions", n, c)
	}
	if strings.Count(page, "<h1") != 1 {
		t.Errorf("want one h1")
	}
	if !strings.Contains(page, `<th scope="col"`) || !strings.Contains(page, `<th scope="row"`) {
		t.Errorf("tables without header cells")
	}
}

// The charts are the summary's numbers: the largest spending categories,
// money in and out by month, the daily balance.
func TestCharts_FromTheSummary(t *testing.T) {
	s := hostile(t)
	cs := Charts(s)
	sp, mo, ba := cs[0], cs[1], cs[2]
	if sp.ID != "spending-0" || len(sp.Series) != 1 || sp.Labels[0] != "Restaurants" || sp.Series[0].Values[0] != 300 {
		t.Errorf("spending chart %+v", sp)
	}
	if mo.ID != "months-0" || len(mo.Series) != 2 || !mo.Series[1].Outline || len(mo.Labels) != 2 ||
		mo.Series[0].Values[0] != 2000 || mo.Series[1].Values[0] != 45.10 || mo.Series[1].Values[1] != 300 {
		t.Errorf("months chart %+v", mo)
	}
	if ba.ID != "balance-0" || ba.Kind != "line" || len(ba.Labels) != 3 || ba.Series[0].Values[2] != 1754.90 {
		t.Errorf("balance chart %+v", ba)
	}
}

// The vendored Chart.js is the file its VENDORED.md names.
func TestVendoredChartJS(t *testing.T) {
	sum := sha256.Sum256([]byte(chartJS))
	if got := hex.EncodeToString(sum[:]); got != chartJSSHA256 {
		t.Errorf("assets/chartjs/chart.umd.min.js has SHA-256 %s, want %s (see VENDORED.md)", got, chartJSSHA256)
	}
	if !strings.Contains(chartJS, "Chart.js v"+ChartJSVersion) || !strings.Contains(chartJSLicense, "MIT License") {
		t.Errorf("the vendored file or licence is not Chart.js %s under MIT", ChartJSVersion)
	}
}
