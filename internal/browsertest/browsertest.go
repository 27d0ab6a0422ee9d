// Package browsertest drives a real headless Chromium (Debian's chromium
// package) from Go tests, through the DevTools protocol (chromedp).
//
// A test opens a page with Open; the Page records every network request
// the page makes and every console error, uncaught exception and log
// entry of level error, evaluates JavaScript, emulates print media and
// prints to PDF, and saves screenshots (and PDFs) as the test's artefacts. Screenshots are never a pass condition: tests
// assert on what the page's DOM and scripts say, and keep the picture for
// people.
//
// Where Chromium is not installed the tests that need it are skipped,
// with a message saying how to install it, unless LEDGERFORM_REQUIRE_CHROMIUM=1
// (CI sets it), when they fail. Screenshots go to the directory named by
// LEDGERFORM_SCREENSHOTS, or to the test's t.TempDir().
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Environment variables the harness reads.
const (
	RequireEnv     = "LEDGERFORM_REQUIRE_CHROMIUM" // "1": a missing Chromium fails the test instead of skipping it
	ScreenshotsEnv = "LEDGERFORM_SCREENSHOTS"      // where screenshots go; default t.TempDir()
)

// Chromium returns the path of the Chromium binary, or "" if none is
// installed.
func Chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Page is one tab of a fresh headless Chromium, closed at the end of the
// test.
type Page struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	requests []string
	errs     []string
}

// Options change how Open opens a page.
type Options struct {
	// Offline disables the network of the page (DevTools network
	// emulation): any request other than to file: and data: URLs fails.
	Offline bool
	// Width and Height are the window's size in CSS pixels; default 1280×900.
	Width, Height int
}

// Open starts Chromium with a fresh profile in t.TempDir(), opens url and
// waits until the page has loaded. It skips the test when Chromium is
// missing (fails it under LEDGERFORM_REQUIRE_CHROMIUM=1).
func Open(t testing.TB, url string, o Options) *Page {
	t.Helper()
	bin := Chromium()
	if bin == "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("chromium is not installed and %s=1: apt-get install -y chromium", RequireEnv)
		}
		t.Skipf("chromium is not installed (apt-get install -y chromium); set %s=1 to make this a failure", RequireEnv)
	}
	if o.Width == 0 {
		o.Width, o.Height = 1280, 900
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	p := &Page{t: t}
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(p.observe))
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	p.ctx = ctx
	var actions []chromedp.Action[chromedp.Void]
	if o.Offline {
		actions = append(actions, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
				MatchedNetworkConditions: []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
			})
			return err
		}))
	}
	actions = append(actions, chromedp.Navigate(url), chromedp.WaitReady("body"))
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("chromium: open %s: %v", url, err)
	}
	return p
}

// observe records what the page does; it runs on chromedp's event
// goroutine.
func (p *Page) observe(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		p.requests = append(p.requests, ev.Request.URL)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			p.errs = append(p.errs, "console."+string(ev.Type)+": "+strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		p.errs = append(p.errs, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			p.errs = append(p.errs, fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

// Requests returns the URL of every request the page has made so far,
// the page itself first.
func (p *Page) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// Errors returns the console errors, uncaught exceptions and error log
// entries so far.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// Eval evaluates a JavaScript expression in the page and decodes its
// value (JSON-serialisable) into out. A promise is awaited.
func (p *Page) Eval(js string, out any) error {
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[json.RawMessage](js, func(e *runtime.EvaluateParams) {
		e.AwaitPromise = new(true)
	}))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// MustEval is Eval, failing the test on an error.
func (p *Page) MustEval(js string, out any) {
	p.t.Helper()
	if err := p.Eval(js, out); err != nil {
		p.t.Fatalf("evaluate %q: %v", js, err)
	}
}

// WaitLoaded waits until the document in the tab (after a click that
// navigates, say) has loaded and run its scripts: its readyState is
// complete and expr, a JavaScript expression, is true. A check that a
// navigation interrupts is tried again, up to 30 seconds.
func (p *Page) WaitLoaded(expr string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ok bool
		err := p.Eval(`document.readyState === "complete" && Boolean(`+expr+`)`, &ok)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the page never loaded with %s (last error: %v)", expr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Do runs chromedp actions on the page (clicks, typing, waits).
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) error {
	return chromedp.Do(p.ctx, actions...)
}

// Screenshot saves a PNG of the whole page as name (a file name, ".png"
// added) in the screenshots directory and returns its path; see shot.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	return p.shot(name, chromedp.FullScreenshot(100))
}

// ViewportScreenshot is Screenshot of the window only (Options.Width and
// Height), from the top of the page.
func (p *Page) ViewportScreenshot(name string) string {
	p.t.Helper()
	return p.shot(name, chromedp.CaptureScreenshot())
}

// PrintPDF prints the page as Chromium would on A4 paper (the page's own
// @page size preferred), saves the PDF as name (".pdf" added) beside the
// screenshots and returns it.
func (p *Page) PrintPDF(name string) []byte {
	p.t.Helper()
	res, err := chromedp.Run(p.ctx, chromedp.Action[*page.PrintToPDFResult](func(ctx context.Context, t *chromedp.Target) (*page.PrintToPDFResult, error) {
		r, err := cdp.Call(ctx, t, page.PrintToPDF, page.PrintToPDFParams{PaperWidth: 8.27, PaperHeight: 11.69, PreferCSSPageSize: new(true)})
		return &r, err
	}))
	if err != nil {
		p.t.Fatalf("print to PDF: %v", err)
	}
	p.save(name+".pdf", res.Data)
	return res.Data
}

// EmulatePrint makes the page's CSS that of print (media print), or of
// the screen again.
func (p *Page) EmulatePrint(on bool) {
	p.t.Helper()
	media := ""
	if on {
		media = "print"
	}
	err := chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media})
		return err
	}))
	if err != nil {
		p.t.Fatalf("emulate media %q: %v", media, err)
	}
}

// shot saves a PNG as name (a file name, ".png" added) in the
// screenshots directory and returns its path. It is the
// test's artefact, for people; nothing is asserted on its pixels.
func (p *Page) shot(name string, capture chromedp.Action[[]byte]) string {
	p.t.Helper()
	buf, err := chromedp.Run(p.ctx, capture)
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	return p.save(name+".png", buf)
}

// save writes an artefact into the screenshots directory.
func (p *Page) save(name string, data []byte) string {
	p.t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		dir = p.t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatalf("screenshots: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		p.t.Fatalf("artefact: %v", err)
	}
	p.t.Logf("artefact: %s (%d bytes)", path, len(data))
	return path
}
