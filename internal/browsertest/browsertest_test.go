package browsertest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The harness sees what a page does: the requests it makes, its console
// errors and exceptions, and values computed in it.
func TestPage_RecordsRequestsErrorsAndValues(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!doctype html><title>t</title><body><p id=p>hello</p>
<script>fetch("/second"); console.error("boom", 42); setTimeout(function(){ throw new Error("late") }, 0)</script>`))
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	p := Open(t, srv.URL+"/", Options{})
	var text string
	// Wait for the fetch and the thrown error by asking the page.
	p.MustEval(`new Promise(r => setTimeout(() => r(document.getElementById("p").textContent), 200))`, &text)
	if text != "hello" {
		t.Errorf("Eval = %q, want hello", text)
	}
	reqs := p.Requests()
	if !slices.Contains(reqs, srv.URL+"/") || !slices.Contains(reqs, srv.URL+"/second") {
		t.Errorf("Requests = %q, want the page and /second", reqs)
	}
	errs := strings.Join(p.Errors(), "\n")
	if !strings.Contains(errs, "boom") || !strings.Contains(errs, "late") {
		t.Errorf("Errors = %q, want the console.error and the exception", errs)
	}
	shot := p.Screenshot("harness")
	if b, err := os.ReadFile(shot); err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Errorf("screenshot %s is not a PNG: %v", shot, err)
	}
}

// Offline, a page from a file reaches nothing: a request it tries fails
// and is still recorded.
func TestPage_OfflineFile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the offline page reached the server: %s", r.URL)
	}))
	defer srv.Close()
	name := filepath.Join(t.TempDir(), "page.html")
	os.WriteFile(name, []byte(`<!doctype html><title>t</title><body><img src="`+srv.URL+`/pixel.png"></body>`), 0o600)
	p := Open(t, "file://"+name, Options{Offline: true})
	var done bool
	p.MustEval(`new Promise(r => { const i = document.images[0]; if (i.complete) r(true); i.onerror = i.onload = () => r(true) })`, &done)
	reqs := p.Requests()
	if !slices.Contains(reqs, srv.URL+"/pixel.png") {
		t.Errorf("Requests = %q, want the image's URL recorded", reqs)
	}
}
