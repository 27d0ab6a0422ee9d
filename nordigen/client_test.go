package nordigen_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/nordigen"
)

// The contract tests run the client against the embedded engine over
// loopback HTTP, with the engine's faults switched on.

func startEngine(t testing.TB, cfg engine.Config) *engine.Running {
	t.Helper()
	e, err := engine.StartEmbedded(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// newClient returns a client of base with the engine's credentials and
// short waits, so that faults cost milliseconds.
func newClient(t testing.TB, e *engine.Running, base string, mod func(*nordigen.Config)) *nordigen.Client {
	t.Helper()
	cfg := nordigen.Config{
		BaseURL: base, ClientID: e.ClientID, ClientSecret: nordigen.NewSecret(e.ClientSecret),
		RateLimit: 1000, RetryWaitMin: time.Millisecond, RetryWaitMax: 20 * time.Millisecond,
		AttemptTimeout: 10 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := nordigen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func metric(t testing.TB, e *engine.Running, endpoint, code string) float64 {
	t.Helper()
	return testutil.Metric(t, e.URL+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": endpoint, "code": code})
}

func statement(t testing.TB) api.File {
	t.Helper()
	data, err := os.ReadFile("../examples/statements/salaried-alex-2026.json")
	if err != nil {
		t.Fatal(err)
	}
	return api.File{Name: "alex.json", Data: data}
}

// categorise walks the whole flow the way the reconciler will: upload,
// process, poll; an ANALYSIS_ALREADY_REQUESTED (a PUT whose answer was lost)
// starts again from a new upload, as the contract says.
func categorise(ctx context.Context, c *nordigen.Client, f api.File) (*api.Result, error) {
	for {
		up, err := c.Upload(ctx, f)
		if err != nil {
			return nil, err
		}
		p, err := c.Process(ctx, up.RequestID, api.ProcessRequest{Country: "uk", Operations: []string{"categorisation"}})
		if api.IsAlreadyRequested(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for polls := 0; ; polls++ {
			r, err := c.Result(ctx, p.RequestID)
			var ae *api.Error
			if errors.As(err, &ae) && ae.Status == 500 && polls < 20 {
				// A result's 500 is retried only twice by the client: the
				// poller (the reconciler) polls again, as here.
				time.Sleep(2 * time.Millisecond)
				continue
			}
			if err != nil {
				return nil, err
			}
			if r.Done() {
				return r, nil
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func TestClient_QuickStart(t *testing.T) {
	e := startEngine(t, engine.Config{Faults: engine.Faults{ProcessingTime: 20 * time.Millisecond}})
	c := newClient(t, e, e.URL, nil)
	ctx := context.Background()

	r, err := categorise(ctx, c, statement(t))
	if err != nil {
		t.Fatal(err)
	}
	cat := r.Categorisation
	if cat == nil || len(cat.Accounts) != 1 || len(cat.Accounts[0].Currencies) != 1 {
		t.Fatalf("categorisation = %+v", cat)
	}
	cur := cat.Accounts[0].Currencies[0]
	if got, want := len(cur.Transactions), 298; got != want {
		t.Errorf("%d transactions, want %d", got, want)
	}
	if cur.Transactions[0].Title == "" || *cat.CategoryTreeVersion != "uk_202611230000" {
		t.Errorf("transactions lack titles or the tree version: %+v", cur.Transactions[0])
	}
	if !bytes.HasPrefix(r.Raw, []byte(`{"data":{"attributes":{"categorisation":`)) {
		t.Errorf("Raw is not the answer's body: %.80s", r.Raw)
	}

	tree, err := c.CategoryTree(ctx, "uk")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cat := range tree.Categories {
		if cat.ID == 85 && cat.ReadableTitle == "Salary" && cat.Type == "income" {
			found = true
		}
	}
	if !found || tree.Version != "uk_202611230000" {
		t.Errorf("tree %s lacks 85 Salary", tree.Version)
	}
}

// TestClient_Faults: with each fault on, every call ends in success or in
// the right typed error, and the flow completes.
func TestClient_Faults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults engine.Faults
		ttl    time.Duration
	}{
		{"429 storm with Retry-After", engine.Faults{Fail429: 0.4, Seed: 1}, 0},
		{"500s", engine.Faults{Fail500: 0.4, Seed: 2}, 0},
		{"503s", engine.Faults{Fail503: 0.4, Seed: 3}, 0},
		{"connections closed mid-request", engine.Faults{ResetRate: 0.3, Seed: 4}, 0},
		{"everything at once", engine.Faults{Fail429: 0.1, Fail500: 0.1, Fail503: 0.1, ResetRate: 0.1, Latency: time.Millisecond, Seed: 5}, 0},
		{"a token that expires every second", engine.Faults{Latency: 20 * time.Millisecond}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEngine(t, engine.Config{Faults: tc.faults, TokenTTL: tc.ttl})
			// Faults drawn at 40 % beat the default 8 retries about once in
			// 4,000 calls, and the draws' order varies with the scheduling:
			// with 24 retries every flow must succeed, at 1 in 10⁹ per call.
			c := newClient(t, e, e.URL, func(cfg *nordigen.Config) { cfg.RetryMax = 24 })
			ctx := context.Background()
			f := statement(t)
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			deadline := time.Now().Add(1500 * time.Millisecond)
			for w := 0; w < 4; w++ {
				wg.Go(func() {
					// At least three flows each; with the short token, for
					// longer than the token lives.
					for n := 0; n < 3 || (tc.ttl > 0 && time.Now().Before(deadline)); n++ {
						if _, err := categorise(ctx, c, f); err != nil {
							errs <- err
							return
						}
						if _, err := c.CategoryTree(ctx, "uk"); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("a flow failed: %v (permanent %v)", err, api.IsPermanent(err))
			}
			if tc.ttl > 0 {
				if n := metric(t, e, "token", "200"); n < 2 {
					t.Errorf("%v tokens fetched over 1.5s of 1s tokens, want at least 2", n)
				}
				if n := metric(t, e, "result", "401") + metric(t, e, "upload", "401"); n != 0 {
					t.Logf("%v requests met an expired token and were retried", n)
				}
			}
		})
	}
}

// TestClient_PermanentErrorsAreNotRetried counts the engine's answers:
// each permanent error was asked once.
func TestClient_PermanentErrorsAreNotRetried(t *testing.T) {
	// The engine's clock moves only when told: past the retention time
	// at once, however loaded the machine (a result is 410 GONE for one
	// retention time, then forgotten: 404).
	clock := engine.NewManualClock(time.Now())
	e := startEngine(t, engine.Config{Retention: time.Hour, Clock: clock})
	c := newClient(t, e, e.URL, nil)
	ctx := context.Background()

	_, err := c.Upload(ctx, api.File{Name: "s.pdf", Data: []byte("%PDF-1.7 ...")})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != "PDF_PARSE_FAILURE" || !api.IsPermanent(err) || !api.IsRejected(err) || ae.Op != "upload" {
		t.Fatalf("upload of a PDF = %v, want a permanent, rejected PDF_PARSE_FAILURE", err)
	}
	if n := metric(t, e, "upload", "400"); n != 1 {
		t.Errorf("the PDF was sent %v times, want once", n)
	}

	_, err = c.Process(ctx, "no-such-upload", api.ProcessRequest{Country: "uk", Operations: []string{"categorisation"}})
	if !api.IsNotFound(err) || !api.IsPermanent(err) || api.IsRejected(err) {
		t.Errorf("process of an unknown id = %v, want a permanent NOT_FOUND, not rejected", err)
	}
	up, err := c.Upload(ctx, statement(t))
	if err != nil {
		t.Fatal(err)
	}
	req := api.ProcessRequest{Country: "uk", Operations: []string{"categorisation"}}
	p, err := c.Process(ctx, up.RequestID, req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Process(ctx, up.RequestID, req)
	if !api.IsAlreadyRequested(err) || !api.IsPermanent(err) || api.IsRejected(err) {
		t.Errorf("second process = %v, want a permanent ANALYSIS_ALREADY_REQUESTED, not rejected", err)
	}
	if got, want := metric(t, e, "process", "404")+metric(t, e, "process", "400"), 2.0; got != want {
		t.Errorf("process errors answered %v times, want %v (one each)", got, want)
	}

	clock.Advance(time.Hour + time.Millisecond) // past the retention time
	_, err = c.Result(ctx, p.RequestID)
	if !api.IsGone(err) || api.IsRejected(err) || api.IsProcessingFailed(err) {
		t.Errorf("result after retention = %v, want GONE, neither rejected nor a failed processing", err)
	}
	if n := metric(t, e, "result", "410"); n != 1 {
		t.Errorf("GONE answered %v times, want once", n)
	}
}

func TestClient_WrongSecret(t *testing.T) {
	e := startEngine(t, engine.Config{})
	c := newClient(t, e, e.URL, func(cfg *nordigen.Config) { cfg.ClientSecret = nordigen.NewSecret("not-the-secret") })
	_, err := c.CategoryTree(context.Background(), "uk")
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != 401 || !api.IsPermanent(err) || api.IsRejected(err) {
		t.Fatalf("call with a wrong secret = %v, want a permanent 401, not rejected", err)
	}
	// The token endpoint answers in the OAuth form; its error and
	// error_description are the error's code and detail.
	if ae.Code != "invalid_client" || ae.Detail != "wrong client_id or client_secret" {
		t.Errorf("code %q, detail %q; want the OAuth error invalid_client and its description", ae.Code, ae.Detail)
	}
	if n := metric(t, e, "token", "401"); n != 1 {
		t.Errorf("the token endpoint was asked %v times, want once", n)
	}
	if n := metric(t, e, "category_tree", "401") + metric(t, e, "category_tree", "200"); n != 0 {
		t.Errorf("the API was called %v times without a token", n)
	}
}

// proxy forwards to the engine and lets a test see and change each request.
type proxy struct {
	mu      sync.Mutex
	hits    map[string]int // the requests that reached the proxy, by path
	uploads [][]byte       // the body of every upload that reached the proxy
	auths   []string       // every Authorization header seen
	reject  func(r *http.Request) int
	srv     *httptest.Server
}

// requests returns how many requests for path reached the proxy.
func (p *proxy) requests(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

func newProxy(t *testing.T, target string, reject func(r *http.Request) int) *proxy {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &proxy{hits: make(map[string]int), reject: reject}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.mu.Lock()
		p.hits[r.URL.Path]++
		if r.URL.Path == "/v2/report" {
			p.uploads = append(p.uploads, body)
		}
		if a := r.Header.Get("Authorization"); a != "" {
			p.auths = append(p.auths, strings.TrimPrefix(a, "Bearer "))
		}
		code := 0
		if p.reject != nil {
			code = p.reject(r)
		}
		p.mu.Unlock()
		if code != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprintf(w, `[{"title":"%s","detail":"from the test proxy","error-code":"X","source":[]}]`, http.StatusText(code))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func TestClient_RetriedUploadSendsTheSameBytes(t *testing.T) {
	e := startEngine(t, engine.Config{})
	var n atomic.Int32
	p := newProxy(t, e.URL, func(r *http.Request) int {
		if r.URL.Path == "/v2/report" && n.Add(1) <= 2 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	c := newClient(t, e, p.srv.URL, nil)
	if _, err := c.Upload(context.Background(), statement(t), api.File{Name: "b.json", Data: statement(t).Data}); err != nil {
		t.Fatal(err)
	}
	if len(p.uploads) != 3 {
		t.Fatalf("%d upload attempts, want 3", len(p.uploads))
	}
	for i, b := range p.uploads[1:] {
		if !bytes.Equal(b, p.uploads[0]) {
			t.Errorf("attempt %d sent %d bytes that differ from the first attempt's %d", i+2, len(b), len(p.uploads[0]))
		}
	}
	if !bytes.Contains(p.uploads[0], statement(t).Data) {
		t.Error("the upload does not carry the statement")
	}
}

// TestClient_UnauthorizedRetriesOnceWithANewToken: a 401 on an API call
// makes the client fetch a new token and try once more; a second 401 is
// the answer.
func TestClient_UnauthorizedRetriesOnceWithANewToken(t *testing.T) {
	e := startEngine(t, engine.Config{})
	var once atomic.Bool
	always := false
	p := newProxy(t, e.URL, func(r *http.Request) int {
		if r.URL.Path == "/v2/category-tree/uk" && (always || once.CompareAndSwap(false, true)) {
			return http.StatusUnauthorized
		}
		return 0
	})
	c := newClient(t, e, p.srv.URL, nil)
	ctx := context.Background()
	if _, err := c.CategoryTree(ctx, "uk"); err != nil {
		t.Fatalf("after one 401: %v", err)
	}
	if len(p.auths) != 2 || p.auths[0] == p.auths[1] {
		t.Errorf("tokens sent: %d, distinct %v; want two different tokens", len(p.auths), len(p.auths) == 2 && p.auths[0] != p.auths[1])
	}
	if n := metric(t, e, "token", "200"); n != 2 {
		t.Errorf("tokens fetched: %v, want 2", n)
	}

	p.mu.Lock()
	always, p.auths = true, nil
	p.mu.Unlock()
	_, err := c.CategoryTree(ctx, "uk")
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Attempts != 2 {
		t.Errorf("with every call refused: %v, want a 401 after 2 attempts", err)
	}
	if len(p.auths) != 2 {
		t.Errorf("%d attempts reached the API, want 2", len(p.auths))
	}
}

// TestClient_RateLimitPausesEveryWorker: sixteen workers against an engine
// that allows eight requests a second. Once the 429s come together every
// worker waits and the shared rate drops to what the engine allows, so the
// wall is hit a few times, not once per worker.
func TestClient_RateLimitPausesEveryWorker(t *testing.T) {
	e := startEngine(t, engine.Config{Faults: engine.Faults{RateLimit: 8}})
	c := newClient(t, e, e.URL, func(cfg *nordigen.Config) {
		cfg.RateLimit, cfg.Burst = 100, 1
		cfg.RetryWaitMax = 5 * time.Second // let the server's Retry-After count
	})
	ctx := context.Background()
	if _, err := c.CategoryTree(ctx, "uk"); err != nil { // the token, and a first success
		t.Fatal(err)
	}
	const workers = 16
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range workers {
		wg.Go(func() {
			if _, err := c.CategoryTree(ctx, "uk"); err != nil {
				t.Errorf("worker: %v", err)
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	hits := metric(t, e, "category_tree", "429")
	t.Logf("%d workers met %v 429 answers", workers, hits)
	if hits == 0 {
		t.Fatal("no 429 at all: the test does not exercise the limit")
	}
	// The limit is recognised at the sixth 429 of seven answers; a
	// request or two may be on the way then.
	if hits > 8 {
		t.Errorf("%v 429 answers for %d workers: they hit the wall one by one", hits, workers)
	}
}

func TestClient_UploadTooLarge(t *testing.T) {
	e := startEngine(t, engine.Config{})
	c := newClient(t, e, e.URL, nil)
	big := api.File{Name: "big.json", Data: make([]byte, 6<<20)}
	_, err := c.Upload(context.Background(), big, big)
	var tl *api.UploadTooLargeError
	if !errors.As(err, &tl) || !api.IsPermanent(err) || !api.IsRejected(err) || !strings.Contains(err.Error(), "12582912 bytes") {
		t.Fatalf("upload of 12 MiB = %v, want UploadTooLargeError naming the size", err)
	}
	if n := metric(t, e, "upload", "413") + metric(t, e, "upload", "202") + metric(t, e, "token", "200"); n != 0 {
		t.Errorf("%v requests were sent for a refused upload", n)
	}
}

// TestClient_NoSecretInLogsOrErrors runs flows with faults and failures and
// looks for the secret and every token the API saw in every log line and
// error message.
func TestClient_NoSecretInLogsOrErrors(t *testing.T) {
	const secret = "very-s3cret-value"
	e := startEngine(t, engine.Config{ClientID: "lf-test", ClientSecret: secret, TokenTTL: time.Second,
		Faults: engine.Faults{Fail500: 0.2, ResetRate: 0.1, Seed: 9}})
	p := newProxy(t, e.URL, nil)
	var logs testutil.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := nordigen.Config{BaseURL: p.srv.URL, ClientID: "lf-test", ClientSecret: nordigen.NewSecret(secret),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond, Logger: logger}
	c, err := nordigen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var messages []string
	for range 3 {
		if _, err := categorise(ctx, c, statement(t)); err != nil {
			messages = append(messages, err.Error())
		}
	}
	_, err = c.Upload(ctx, api.File{Name: "s.pdf", Data: []byte("%PDF-")})
	messages = append(messages, err.Error())
	bad := cfg
	bad.ClientSecret = nordigen.NewSecret(secret + "-wrong")
	cb, _ := nordigen.New(bad)
	_, err = cb.CategoryTree(ctx, "uk")
	messages = append(messages, err.Error())
	logger.Info("config", "cfg", cfg, "secret", cfg.ClientSecret)
	messages = append(messages, fmt.Sprintf("%v %+v %#v %s %q %x %d", cfg, cfg, cfg, cfg.ClientSecret, cfg.ClientSecret, cfg.ClientSecret, cfg.ClientSecret))

	if !strings.Contains(logs.String(), "performing request") {
		t.Fatalf("nothing logged:\n%s", logs.String())
	}
	everything := logs.String() + strings.Join(messages, "\n")
	p.mu.Lock()
	tokens := append([]string(nil), p.auths...)
	p.mu.Unlock()
	if len(tokens) == 0 {
		t.Fatal("no token seen by the proxy")
	}
	for _, s := range append(tokens, secret) {
		if strings.Contains(everything, s) {
			t.Errorf("a secret or token (%.12s…) is in the logs or errors", s)
		}
	}
	if !strings.Contains(everything, "[redacted]") {
		t.Error("the secret did not print as [redacted]")
	}
}

// TestClient_OneTokenFetchForManyWorkers: workers that all need a token at
// once share one fetch.
func TestClient_OneTokenFetchForManyWorkers(t *testing.T) {
	e := startEngine(t, engine.Config{Faults: engine.Faults{Latency: 20 * time.Millisecond}})
	c := newClient(t, e, e.URL, nil)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, err := c.CategoryTree(context.Background(), "uk"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := metric(t, e, "token", "200"); n != 1 {
		t.Errorf("%v token requests for 32 simultaneous workers, want 1", n)
	}
}

// TestClient_NoRedirectIsFollowed: a redirect is a permanent error, and
// its target never sees the token.
func TestClient_NoRedirectIsFollowed(t *testing.T) {
	e := startEngine(t, engine.Config{})
	p := newProxy(t, e.URL, nil)
	redirector := apiServer(t, e, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p.srv.URL+"/elsewhere", http.StatusTemporaryRedirect)
	})
	c := newClient(t, e, redirector.URL, nil)
	_, err := c.CategoryTree(context.Background(), "uk")
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusTemporaryRedirect || !api.IsPermanent(err) || ae.Attempts != 1 {
		t.Fatalf("a redirected call = %v, want a permanent 307 after one attempt", err)
	}
	if p.requests("/elsewhere") != 0 {
		t.Error("the redirect was followed")
	}
}

// apiServer answers the API with h, and the token endpoint with the
// engine's.
func apiServer(t *testing.T, e *engine.Running, h http.HandlerFunc) *httptest.Server {
	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestClient_TokenEndpointDownIsRetriedOnce: the token source's retries
// are not multiplied by the API call's, and the error names the token.
func TestClient_TokenEndpointDownIsRetriedOnce(t *testing.T) {
	e := startEngine(t, engine.Config{})
	p := newProxy(t, e.URL, func(r *http.Request) int {
		if r.URL.Path == "/oauth/token" {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	c := newClient(t, e, p.srv.URL, func(cfg *nordigen.Config) { cfg.RetryMax = 3 })
	_, err := c.CategoryTree(context.Background(), "uk")
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != 503 || ae.Op != "token" || api.IsPermanent(err) {
		t.Fatalf("with the token endpoint down: %v, want a transient 503 of the token request", err)
	}
	if n := p.requests("/oauth/token"); n != 4 {
		t.Errorf("%d token requests, want 4 (one and three retries)", n)
	}
}

// TestClient_ErrorSourceOfAnotherShape: an error array whose source is not
// a list of strings keeps its code.
func TestClient_ErrorSourceOfAnotherShape(t *testing.T) {
	e := startEngine(t, engine.Config{})
	odd := apiServer(t, e, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `[{"title":"Bad Request","detail":"too slow","error-code":"TIMEOUT_PROCESSING","source":[{"parameter":"request_id"}]}]`)
	})
	c := newClient(t, e, odd.URL, nil)
	_, err := c.Result(context.Background(), "x")
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != "TIMEOUT_PROCESSING" || api.IsPermanent(err) || !api.IsProcessingFailed(err) {
		t.Fatalf("Result = %v, want a transient TIMEOUT_PROCESSING, a failed processing", err)
	}
	if len(ae.Source) != 1 || !strings.Contains(ae.Source[0], "request_id") {
		t.Errorf("source = %q, want the raw element kept", ae.Source)
	}
}

// TestClient_UntrustedCertificateIsPermanent: a certificate that does not
// verify is not retried.
func TestClient_UntrustedCertificateIsPermanent(t *testing.T) {
	e := startEngine(t, engine.Config{})
	var handshakes atomic.Int32
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			handshakes.Add(1)
		}
	}
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	c := newClient(t, e, tlsSrv.URL, nil)
	_, err := c.CategoryTree(context.Background(), "uk")
	if err == nil || !api.IsPermanent(err) || api.IsRejected(err) {
		t.Fatalf("call to an untrusted server = %v, want a permanent error, not rejected", err)
	}
	if n := handshakes.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestIsRejected_Engine: what the engine refuses in a request is rejected;
// what it refuses for the account (an operation not enabled) or of a read
// is not.
func TestIsRejected_Engine(t *testing.T) {
	e := startEngine(t, engine.Config{})
	c := newClient(t, e, e.URL, nil)
	ctx := context.Background()
	up, err := c.Upload(ctx, statement(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		call     func() error
		code     string
		rejected bool
	}{
		{"upload of a file no parser reads", func() error {
			_, err := c.Upload(ctx, api.File{Name: "s.json", Data: []byte(`{"not":"a statement"}`)})
			return err
		}, "NO_SUITABLE_PARSERS", true},
		{"process for an unsupported country", func() error {
			_, err := c.Process(ctx, up.RequestID, api.ProcessRequest{Country: "fr", Operations: []string{"categorisation"}})
			return err
		}, "UNSUPPORTED_COUNTRY_REQUESTED", true},
		{"process of an enterprise operation (403)", func() error {
			_, err := c.Process(ctx, up.RequestID, api.ProcessRequest{Country: "uk", Operations: []string{"features"}})
			return err
		}, "FORBIDDEN", false},
		{"category tree of an unsupported country", func() error {
			_, err := c.CategoryTree(ctx, "fr")
			return err
		}, "UNSUPPORTED_COUNTRY_REQUESTED", false},
		{"result of an unknown id", func() error {
			_, err := c.Result(ctx, "no-such-id")
			return err
		}, api.CodeNotFound, false},
	} {
		err := tc.call()
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Code != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			continue
		}
		if got := api.IsRejected(err); got != tc.rejected {
			t.Errorf("%s: IsRejected(%v) = %v, want %v", tc.name, err, got, tc.rejected)
		}
	}
}

// TestIsProcessingFailed_Engine: of the engine's two ways to fail a
// processing, TIMEOUT_PROCESSING is a failed processing and UNKNOWN_ERROR,
// a 500 like any outage, is not.
func TestIsProcessingFailed_Engine(t *testing.T) {
	e := startEngine(t, engine.Config{Faults: engine.Faults{FailProcessing: 1, Seed: 3}})
	c := newClient(t, e, e.URL, func(cfg *nordigen.Config) { cfg.RetryMax = 1 })
	ctx := context.Background()
	seen := map[int]bool{}
	for n := 0; n < 40 && !(seen[400] && seen[500]); n++ {
		up, err := c.Upload(ctx, statement(t))
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.Process(ctx, up.RequestID, api.ProcessRequest{Country: "uk", Operations: []string{"categorisation"}})
		if err != nil {
			t.Fatal(err)
		}
		var r *api.Result
		for {
			if r, err = c.Result(ctx, p.RequestID); err != nil || r.Done() {
				break
			}
			time.Sleep(time.Millisecond)
		}
		var ae *api.Error
		if !errors.As(err, &ae) {
			t.Fatalf("a processing that fails: %v, want an APIError", err)
		}
		seen[ae.Status] = true
		if got, want := api.IsProcessingFailed(err), ae.Code == api.CodeTimeoutProcessing; got != want {
			t.Errorf("IsProcessingFailed(%v) = %v, want %v", err, got, want)
		}
		if api.IsRejected(err) {
			t.Errorf("IsRejected(%v) = true, want false: a result is never rejected", err)
		}
	}
	if !seen[400] || !seen[500] {
		t.Errorf("statuses seen %v, want both 400 and 500", seen)
	}
}

// attempts records what Config.Observe is given, from every worker.
type attempts struct {
	mu  sync.Mutex
	all []nordigen.Attempt
}

func (a *attempts) observe(at nordigen.Attempt) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.all = append(a.all, at)
}

func (a *attempts) list() []nordigen.Attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.all)
}

// brief is an attempt without its duration, to compare sequences.
type brief struct {
	Op     string
	Status int
	Retry  int
}

func (a *attempts) briefs(t *testing.T) []brief {
	t.Helper()
	var out []brief
	for _, at := range a.list() {
		if at.Duration <= 0 {
			t.Errorf("attempt %+v has no duration", at)
		}
		out = append(out, brief{at.Op, at.Status, at.Retry})
	}
	return out
}

var ops = []string{api.OpToken, api.OpUpload, api.OpProcess, api.OpResult, api.OpCategoryTree}

// TestConfig_Observe_CountsWhatTheEngineAnswered: with a third of the
// engine's answers 503, the attempts observed are the answers the engine
// counts, operation by operation and status by status, and each call's
// attempts are numbered from 0.
func TestConfig_Observe_CountsWhatTheEngineAnswered(t *testing.T) {
	e := startEngine(t, engine.Config{Faults: engine.Faults{Fail503: 0.3, ProcessingTime: 5 * time.Millisecond, Seed: 11}})
	var seen attempts
	c := newClient(t, e, e.URL, func(cfg *nordigen.Config) { cfg.Observe = seen.observe; cfg.RetryMax = 20 })
	ctx := context.Background()
	var calls [5]atomic.Int32 // by index in ops, the token excepted
	count := func(op string) { calls[slices.Index(ops, op)].Add(1) }
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				count(api.OpUpload)
				up, err := c.Upload(ctx, statement(t))
				if err != nil {
					t.Error(err)
					return
				}
				count(api.OpProcess)
				p, err := c.Process(ctx, up.RequestID, api.ProcessRequest{Country: "uk", Operations: []string{"categorisation"}})
				if err != nil {
					t.Error(err) // no resets, so no lost answer and no ANALYSIS_ALREADY_REQUESTED
					return
				}
				for {
					count(api.OpResult)
					r, err := c.Result(ctx, p.RequestID)
					if err != nil {
						t.Error(err)
						return
					}
					if r.Done() {
						break
					}
					time.Sleep(2 * time.Millisecond)
				}
				count(api.OpCategoryTree)
				if _, err := c.CategoryTree(ctx, "uk"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	got := map[string]map[int]int{} // op → status → attempts
	first := map[string]int{}       // op → attempts with Retry 0
	for _, at := range seen.list() {
		if !slices.Contains(ops, at.Op) {
			t.Errorf("attempt of operation %q", at.Op)
		}
		if got[at.Op] == nil {
			got[at.Op] = map[int]int{}
		}
		got[at.Op][at.Status]++
		if at.Retry == 0 {
			first[at.Op]++
		}
	}
	if got[api.OpToken][http.StatusOK] != 1 {
		t.Errorf("token attempts %v, want one 200", got[api.OpToken])
	}
	unavailable := 0
	for _, op := range ops {
		unavailable += got[op][http.StatusServiceUnavailable]
		if op != api.OpToken {
			if got, want := first[op], int(calls[slices.Index(ops, op)].Load()); got != want {
				t.Errorf("%s: %d first attempts, want one per call (%d)", op, got, want)
			}
		}
	}
	if unavailable == 0 {
		t.Fatal("no 503 observed: the test does not exercise retries")
	}
	// The engine counts an answer once it is written, which may be just
	// after the client has read it: look again for a little while.
	compare := func() (diffs []string) {
		for _, op := range ops {
			for _, status := range []int{http.StatusOK, http.StatusAccepted, http.StatusServiceUnavailable} {
				if n, want := got[op][status], metric(t, e, op, strconv.Itoa(status)); float64(n) != want {
					diffs = append(diffs, fmt.Sprintf("%s %d: %d observed, the engine answered %v", op, status, n, want))
				}
			}
			total := 0
			for _, n := range got[op] {
				total += n
			}
			want, err := testutil.MetricSum(e.URL+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": op})
			if err != nil {
				t.Fatal(err)
			}
			if float64(total) != want {
				diffs = append(diffs, fmt.Sprintf("%s: %d attempts observed, the engine answered %v", op, total, want))
			}
		}
		return diffs
	}
	diffs := compare()
	for deadline := time.Now().Add(time.Second); len(diffs) > 0 && time.Now().Before(deadline); diffs = compare() {
		time.Sleep(10 * time.Millisecond)
	}
	for _, d := range diffs {
		t.Error(d)
	}
	t.Logf("%d attempts met a 503", unavailable)
}

// TestConfig_Observe_RetriesInOrder: each retry is one attempt, numbered
// from the call's first, and the token request a call needs is an attempt
// of its own, numbered apart.
func TestConfig_Observe_RetriesInOrder(t *testing.T) {
	e := startEngine(t, engine.Config{})
	var uploads, trees atomic.Int32
	p := newProxy(t, e.URL, func(r *http.Request) int {
		switch {
		case r.URL.Path == "/v2/report" && uploads.Add(1) <= 2:
			return http.StatusServiceUnavailable
		case r.URL.Path == "/v2/category-tree/uk" && trees.Add(1) == 1:
			return http.StatusUnauthorized // a new token, then a retry
		}
		return 0
	})
	var seen attempts
	c := newClient(t, e, p.srv.URL, func(cfg *nordigen.Config) { cfg.Observe = seen.observe })
	ctx := context.Background()
	if _, err := c.Upload(ctx, statement(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CategoryTree(ctx, "uk"); err != nil {
		t.Fatal(err)
	}
	want := []brief{
		{api.OpToken, 200, 0},
		{api.OpUpload, 503, 0}, {api.OpUpload, 503, 1}, {api.OpUpload, 202, 2},
		{api.OpCategoryTree, 401, 0},
		{api.OpToken, 200, 0},
		{api.OpCategoryTree, 200, 1},
	}
	if got := seen.briefs(t); !slices.Equal(got, want) {
		t.Errorf("attempts:\n got %+v\nwant %+v", got, want)
	}
}

// TestConfig_Observe_NoAnswer: an attempt that gets no answer (here a
// refused connection) is observed with status 0, every retry of it too.
func TestConfig_Observe_NoAnswer(t *testing.T) {
	e := startEngine(t, engine.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()

	t.Run("the API", func(t *testing.T) {
		var seen attempts
		c := newClient(t, e, refused, func(cfg *nordigen.Config) {
			cfg.TokenURL, cfg.RetryMax, cfg.Observe = e.URL+"/oauth/token", 2, seen.observe
		})
		if _, err := c.CategoryTree(context.Background(), "uk"); !api.IsTransient(err) {
			t.Fatalf("CategoryTree = %v, want a transient error", err)
		}
		want := []brief{{api.OpToken, 200, 0},
			{api.OpCategoryTree, 0, 0}, {api.OpCategoryTree, 0, 1}, {api.OpCategoryTree, 0, 2}}
		if got := seen.briefs(t); !slices.Equal(got, want) {
			t.Errorf("attempts:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("the token endpoint", func(t *testing.T) {
		var seen attempts
		c := newClient(t, e, refused, func(cfg *nordigen.Config) { cfg.RetryMax, cfg.Observe = 2, seen.observe })
		if _, err := c.CategoryTree(context.Background(), "uk"); !api.IsTransient(err) {
			t.Fatalf("CategoryTree = %v, want a transient error", err)
		}
		// The call never reaches the API: it has no token to send.
		want := []brief{{api.OpToken, 0, 0}, {api.OpToken, 0, 1}, {api.OpToken, 0, 2}}
		if got := seen.briefs(t); !slices.Equal(got, want) {
			t.Errorf("attempts:\n got %+v\nwant %+v", got, want)
		}
	})
}

// TestConfig_Observe_NotSentIsNotObserved: an upload refused for its size
// sends nothing, and so is no attempt.
func TestConfig_Observe_NotSentIsNotObserved(t *testing.T) {
	e := startEngine(t, engine.Config{})
	var seen attempts
	c := newClient(t, e, e.URL, func(cfg *nordigen.Config) { cfg.MaxUploadBytes, cfg.Observe = 10, seen.observe })
	if _, err := c.Upload(context.Background(), api.File{Name: "a", Data: make([]byte, 11)}); err == nil {
		t.Fatal("an upload over the limit was accepted")
	}
	if got := seen.list(); len(got) != 0 {
		t.Errorf("attempts %+v, want none", got)
	}
}

// TestClient_ResultServerErrorRetriedTwice: a result's 500 is retried
// twice, then returned, for the poller to judge (it may be the id's own
// failure); a 503 of the same request, and another request's 500, get
// every retry.
func TestClient_ResultServerErrorRetriedTwice(t *testing.T) {
	e := startEngine(t, engine.Config{})
	var status atomic.Int32
	p := newProxy(t, e.URL, func(r *http.Request) int {
		if r.URL.Path == "/oauth/token" {
			return 0
		}
		return int(status.Load())
	})
	c := newClient(t, e, p.srv.URL, func(cfg *nordigen.Config) { cfg.RetryMax = 5 })
	ctx := context.Background()
	for _, tc := range []struct {
		status int
		call   func() error
		path   string
		want   int
	}{
		{500, func() error { _, err := c.Result(ctx, "id-1"); return err }, "/v2/report/id-1", 3},
		{503, func() error { _, err := c.Result(ctx, "id-2"); return err }, "/v2/report/id-2", 6},
		{500, func() error { _, err := c.CategoryTree(ctx, "uk"); return err }, "/v2/category-tree/uk", 6},
	} {
		status.Store(int32(tc.status))
		before := p.requests(tc.path)
		err := tc.call()
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != tc.status || api.IsPermanent(err) {
			t.Fatalf("%d: %v, want a transient %d", tc.status, err, tc.status)
		}
		if n := p.requests(tc.path) - before; n != tc.want {
			t.Errorf("%s answering %d: %d attempts, want %d", tc.path, tc.status, n, tc.want)
		}
	}
}
