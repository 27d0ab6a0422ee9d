// Package engine is ledgerform's embedded engine: a local, offline
// implementation of the Nordigen Categorisation & Insights API (v2 /report)
// that answers as docs/api.md describes the real service and settles what
// the documentation leaves open as docs/engine-contract.md decides.
//
// Endpoints:
//
//	POST /oauth/token                  client-credentials token (JSON or form body)
//	POST /v2/report                    upload: multipart field "input", one or more files
//	PUT  /v2/report/process/{id}       request operations on an upload → new request id
//	GET  /v2/report/{id}               poll a processing request: queued, processing, completed
//	GET  /v2/category-tree/{country}   the engine's versioned category tree
//	GET  /metrics                      Prometheus metrics (no token needed)
//
// Statements are parsed at upload (package statement); a processing request
// is queued for a pool of workers, which categorise every transaction
// (package categorise), compute the requested insights and simple score
// (package insights) and render the answer once. A configurable
// processing time keeps a report "processing" for that long after a worker
// takes it, without holding the worker. Uploads and results are kept for
// the retention time, then answer 410 GONE for as long again, then 404; a
// quota on live records answers 400 EXCEEDED_LIMIT, so memory never grows
// without bound. Token lifetimes, retention and processing time run on
// Config.Clock, which tests replace with a ManualClock to step through
// them instead of sleeping.
//
// Decisions where neither document is explicit:
//   - The insights operations and simple-score are computed by package
//     insights, whose doc defines every formula the documentation leaves
//     open (docs/engine-contract.md, row 12).
//     Params they cannot honour — drop filters that leave no account, a
//     currency without a conversion rate — are refused at the PUT with 400
//     API_REQUIRED_PARAMS_MISSING naming the param, never at the GET. The
//     enterprise operations features and credit-scores answer 403
//     FORBIDDEN.
//   - PUT validates its body strictly: an unknown top-level field is an
//     error naming it, like an unknown params key.
//   - The rate limit (Faults.RateLimit) applies per client to the
//     authenticated endpoints; the token endpoint is not limited (at
//     Nordigen it is a separate authorisation service).
//   - Injected faults apply to every API endpoint, the token endpoint
//     included, never to /metrics. A reset closes the connection either
//     before the request is handled or after (the work done, the answer
//     lost), with equal chance: the second is the case that tests a
//     client's idempotency.
//   - A wrong method on a known path answers 405 METHOD_NOT_ALLOWED with
//     the error array and an Allow header.
//   - The token endpoint answers every error, injected faults included,
//     in the OAuth form {"error", "error_description"} of RFC 6749 §5.2
//     that the reference expects of the real service, never the report
//     API's error array (docs/engine-contract.md, row 13).
//
// A Server is safe for concurrent use. It owns its worker and sweeper
// goroutines: New starts them and Close stops them.
package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/ledgerform/ledgerform/engine/categorise"
	"github.com/ledgerform/ledgerform/internal/backoff"
)

// Server is the engine's HTTP API.
type Server struct {
	cfg      Config
	tokenKey []byte
	store    *store
	queue    chan *report
	metrics  *metrics
	limiter  *rate.Limiter // nil without a rate limit
	cats     map[string]*categorise.Categoriser
	trees    map[string][]byte // rendered category-tree answers
	mux      *http.ServeMux

	randMu sync.Mutex
	rand   *rand.Rand

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a running Server. The caller must Close it.
func New(cfg Config) (*Server, error) {
	cfg.Countries = append([]string(nil), cfg.Countries...)
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		tokenKey: []byte(randomHex(32)),
		store:    newStore(cfg.Retention),
		queue:    make(chan *report, cfg.MaxRecords),
		cats:     make(map[string]*categorise.Categoriser),
		trees:    make(map[string][]byte),
	}
	seed := cfg.Faults.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	s.rand = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	if cfg.Faults.RateLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.Faults.RateLimit), max(1, int(cfg.Faults.RateLimit)))
	}
	for _, cc := range cfg.Countries {
		c := trees[cc]()
		s.cats[cc] = c
		s.trees[cc] = renderTree(c.Tree())
	}
	s.metrics = newMetrics(s)
	s.store.onExpire = func(*report) { s.metrics.reports.WithLabelValues("expired").Inc() }
	s.routes()

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for range cfg.Workers {
		s.wg.Go(func() { s.work(ctx) })
	}
	s.wg.Go(func() { s.sweepLoop(ctx) })
	return s, nil
}

// Close stops the workers and the sweeper and waits for them. Requests
// still arriving are answered, but nothing more is processed.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Credentials returns the client id and secret that get a token.
func (s *Server) Credentials() (id, secret string) { return s.cfg.ClientID, s.cfg.ClientSecret }

// ServeHTTP answers the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// sweepLoop frees expired records and forgets old ids. It wakes on a real
// ticker but asks the Clock what has expired: lookups expire what they
// find themselves, so the sweeper only bounds memory and never changes an
// answer.
func (s *Server) sweepLoop(ctx context.Context) {
	every := min(max(s.cfg.Retention/4, 10*time.Millisecond), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.store.sweep(s.cfg.Clock.Now())
		}
	}
}

// handler is an API endpoint: it writes a success itself or returns the
// error to answer.
type handler func(w http.ResponseWriter, r *http.Request) *apiError

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.Handle("/oauth/token", s.endpoint("token", false, writeOAuthError, map[string]handler{"POST": s.token}))
	s.mux.Handle("/v2/report", s.endpoint("upload", true, writeError, map[string]handler{"POST": s.upload}))
	s.mux.Handle("/v2/report/process/{id}", s.endpoint("process", true, writeError, map[string]handler{"PUT": s.process}))
	s.mux.Handle("/v2/report/{id}", s.endpoint("result", true, writeError, map[string]handler{"GET": s.result}))
	s.mux.Handle("/v2/category-tree/{country}", s.endpoint("category_tree", true, writeError, map[string]handler{"GET": s.categoryTree}))
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.mux.Handle("/", s.endpoint("other", false, writeError, map[string]handler{"": s.notFound}))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) *apiError {
	return fail(http.StatusNotFound, CodeNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
}

// endpoint wraps the handlers of one path in the steps every API request
// takes, in order: count it, recover a panic, wait the injected latency,
// draw an injected fault, check the token and the rate limit, dispatch on
// the method. Every error of the path, injected ones included, is written
// by writeErr: the report API's error array, or the OAuth form of the
// token endpoint.
func (s *Server) endpoint(name string, needToken bool, writeErr func(http.ResponseWriter, *apiError), byMethod map[string]handler) http.Handler {
	var allow []string
	for m := range byMethod {
		allow = append(allow, m)
	}
	sort.Strings(allow)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			code := fmt.Sprint(rec.status)
			p := recover()
			switch {
			case p == http.ErrAbortHandler:
				code = "reset"
			case p != nil:
				s.cfg.Logger.Error("engine: panic", "endpoint", name, "panic", fmt.Sprint(p))
				if rec.status == 0 {
					writeErr(rec, fail(http.StatusInternalServerError, CodeUnknownError, "internal error"))
				}
				code, p = fmt.Sprint(rec.status), nil
			}
			s.metrics.requests.WithLabelValues(name, code).Inc()
			s.cfg.Logger.Info("request", "method", r.Method, "endpoint", name, "status", code,
				"duration_ms", time.Since(start).Milliseconds())
			if p != nil {
				panic(p)
			}
		}()

		if err := backoff.Sleep(r.Context(), s.cfg.Faults.Latency); err != nil {
			rec.status = 499 // the client went away, as nginx counts it
			return
		}
		fault, resetAfter := s.drawFault()
		if fault != nil {
			writeErr(rec, fault)
			return
		}
		h, ok := byMethod[r.Method]
		if !ok {
			h = byMethod[""]
		}
		if h == nil {
			rec.Header().Set("Allow", strings.Join(allow, ", "))
			writeErr(rec, fail(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
				fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or "))))
			return
		}
		if err := s.admit(r, needToken); err != nil {
			if resetAfter {
				panic(http.ErrAbortHandler)
			}
			writeErr(rec, err)
			return
		}
		if resetAfter {
			// Do the work, then lose the answer with the connection.
			h(&discard{header: http.Header{}}, r)
			panic(http.ErrAbortHandler)
		}
		if err := h(rec, r); err != nil {
			writeErr(rec, err)
		}
	})
}

// admit checks the token and the rate limit of an authenticated endpoint.
func (s *Server) admit(r *http.Request, needToken bool) *apiError {
	if !needToken {
		return nil
	}
	if err := s.checkToken(r, s.cfg.Clock.Now()); err != nil {
		return err
	}
	if s.limiter == nil {
		return nil
	}
	res := s.limiter.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		e := fail(http.StatusTooManyRequests, CodeRateLimit,
			fmt.Sprintf("more than %g requests per second; retry after the time in Retry-After", s.cfg.Faults.RateLimit))
		e.retryAfter = ceilSeconds(d)
		return e
	}
	return nil
}

// drawFault draws the injected fault of one request: an error to answer,
// or a reset (before: panics at once; after: resetAfter is true).
func (s *Server) drawFault() (fault *apiError, resetAfter bool) {
	f := s.cfg.Faults
	if f.Fail429+f.Fail500+f.Fail503+f.ResetRate == 0 {
		return nil, false
	}
	s.randMu.Lock()
	x, coin := s.rand.Float64(), s.rand.IntN(2)
	s.randMu.Unlock()
	switch {
	case x < f.Fail429:
		e := fail(http.StatusTooManyRequests, CodeRateLimit, "too many requests (injected fault)")
		e.retryAfter = ceilSeconds(f.RetryAfter)
		return e, false
	case x < f.Fail429+f.Fail500:
		return fail(http.StatusInternalServerError, CodeUnknownError, "internal error (injected fault)"), false
	case x < f.Fail429+f.Fail500+f.Fail503:
		return fail(http.StatusServiceUnavailable, CodeServiceUnavailable, "service unavailable (injected fault)"), false
	case x < f.Fail429+f.Fail500+f.Fail503+f.ResetRate:
		if coin == 0 {
			panic(http.ErrAbortHandler)
		}
		return nil, true
	}
	return nil, false
}

// chance draws true with probability p.
func (s *Server) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rand.Float64() < p
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// recorder remembers the status written, for the metrics.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// discard is where the answer of a request goes whose connection is reset
// after the work.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
