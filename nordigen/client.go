// Package nordigen is a client of the Nordigen api.Categorisation & Insights
// API (v2 /report): upload statements, request operations, poll and fetch
// results, read the category tree.
//
// The client is built for unattended use by many workers at once:
//
//   - Tokens: the client-credentials grant, cached until a tenth of their
//     lifetime (at most five minutes) before expires_in runs out, measured
//     on the monotonic clock; one fetch at a time however many goroutines
//     ask; after a 401 one new token and one retry, then an error.
//   - Retries (go-retryablehttp underneath, configured): network errors and
//     429, 500, 502, 503, 504 only, with a capped, jittered exponential
//     backoff that honours Retry-After (seconds or HTTP-date) up to a cap,
//     and a per-attempt timeout. Every other 4xx is final.
//   - Reachability: Probe tells within seconds whether the API can be
//     reached at all (a token request, tried a few times in quick
//     succession), and names why not: a wrong endpoint or a service that is
//     down (api.IsUnreachable) is one error for the run, not one per report.
//     The retries of every other request stay as they are.
//   - Throttling shared by every worker: an optional client-side rate
//     limit (golang.org/x/time/rate; none by default). A 429 makes its
//     own request wait for its Retry-After; only when 429s come together
//     (a limit, not noise) does every request pause and the rate halve,
//     recovering with successes. A request's first 429 among successes
//     (noise) with a short Retry-After is retried after a fraction of a
//     second instead, within a budget earned by successes. See throttle.
//   - Errors are typed (*api.Error, *api.TransportError, *api.UploadTooLargeError,
//     *api.ProtocolError) and classified two ways, for two callers.
//     IsPermanent / IsTransient say whether the same request can succeed if
//     sent again: the retry layer's question. IsRejected says whether the
//     API refused what the request asks (the statements, operations,
//     country or params), so that only a changed statement or spec can
//     succeed: the reconciler's question, to block a report. A wrong
//     secret, a 403, a 404, an untrusted certificate or a plain-HTTP
//     server behind an https URL is permanent but not rejected. IsProcessingFailed (a result's TIMEOUT_PROCESSING),
//     IsNotFound, IsGone and IsAlreadyRequested are the reconciler's too.
//   - Secrets: the client secret and tokens are Secret values, which print
//     as [redacted] through fmt, slog and encoding/json, and are sent only
//     to the configured hosts. The request log (slog, at debug level) never
//     carries a header or a body.
//   - Metrics: Config.Observe is told of every HTTP attempt, token requests
//     and retries included — its operation, status, duration and retry
//     number, never a URL, header, token or body — so that a caller can
//     count requests without wrapping the transport or parsing paths.
//
// It works against the real service by configuration alone: the defaults
// are https://api.nordigen.com, its /oauth/token and the audience
// https://nordigen/api. Where the documentation is inconsistent the client
// accepts both readings (200 or 202 on upload; a new or the same id from
// process: it polls the one process returns).
package nordigen

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/internal/backoff"
)

// Defaults of a Config's zero fields.
const (
	DefaultBaseURL        = "https://api.nordigen.com"
	DefaultAudience       = "https://nordigen/api"
	DefaultMaxUploadBytes = api.MaxUploadBytes
	DefaultBurst          = 8
	DefaultRetryMax       = 8
	DefaultRetryWaitMin   = 500 * time.Millisecond
	DefaultRetryWaitMax   = 30 * time.Second
	DefaultAttemptTimeout = 2 * time.Minute
	DefaultNoiseWait      = 50 * time.Millisecond
	maxResultBytes        = 256 << 20
)

// Config configures a Client. Only the credentials are required.
type Config struct {
	BaseURL      string // default DefaultBaseURL
	TokenURL     string // default BaseURL + "/oauth/token"
	Audience     string // default DefaultAudience
	ClientID     string
	ClientSecret Secret
	// RateLimit is the requests per second all the client's workers may
	// send together; 0 is no client-side limit (the client then slows down
	// only when the API answers 429). Burst is how many may go at once
	// under a limit: default one second's worth of RateLimit (at least
	// one), or DefaultBurst under the limits a 429 sets.
	RateLimit float64
	Burst     int
	// RetryMax is the number of retries after the first attempt.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the backoff; RetryWaitMax also
	// caps a Retry-After.
	RetryWaitMin, RetryWaitMax time.Duration
	// AttemptTimeout bounds one attempt, from sending to the end of the body.
	AttemptTimeout time.Duration
	// NoiseWait is the wait (jittered: half of it to all of it) before the
	// one early retry the throttle allows a 429 it takes for noise, instead
	// of its Retry-After (see throttle); default DefaultNoiseWait. Negative:
	// no early retries, every 429 waits its Retry-After.
	NoiseWait time.Duration
	// MaxUploadBytes bounds the files of one upload, refused before sending.
	MaxUploadBytes int64
	// Transport is the base HTTP transport; default a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Logger receives a debug line per request and retry; nil discards them.
	Logger *slog.Logger
	// Observe, if set, is called once per HTTP attempt, retries and token
	// requests included, as soon as the attempt ends: when the answer's
	// headers arrive, or when it fails. It is called on the goroutine that
	// sent the request, by every worker at once, so it must be safe for
	// concurrent use, and quick, since the request waits for it. It is the
	// hook for metrics: an Attempt never carries a URL, a header, a token or
	// a body.
	Observe func(Attempt)
}

// An Attempt is one HTTP request the client sent, as Config.Observe sees
// it. A call to api.Upload, Process, api.Result or api.CategoryTree is one attempt or
// more (its retries, and the token requests it needs); a request the
// client never sent — refused for its size, or cancelled while waiting for
// the rate limit or a token — is none.
type Attempt struct {
	Op       string        // one of the Op constants
	Status   int           // the answer's HTTP status; 0 when none came (a network error, a timeout, a cancelled context)
	Duration time.Duration // from sending to the answer's headers, or to the failure
	Retry    int           // 0 for the first attempt of a call, 1 for its first retry, …
}

// Client talks to the API. It is safe for concurrent use; all its workers
// share one token, one rate limit and one pause.
type Client struct {
	base     *url.URL
	maxBytes int64
	rc       *retryablehttp.Client
	throttle *throttle
	tokens   *tokenSource
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" || cfg.ClientSecret.IsZero() {
		return nil, fmt.Errorf("nordigen: a client id and a client secret are required")
	}
	cfg.BaseURL = cmp.Or(cfg.BaseURL, DefaultBaseURL)
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("nordigen: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	cfg.TokenURL = cmp.Or(cfg.TokenURL, base.String()+"/oauth/token")
	tokenURL, err := url.Parse(cfg.TokenURL)
	if err != nil || (tokenURL.Scheme != "http" && tokenURL.Scheme != "https") || tokenURL.Host == "" {
		return nil, fmt.Errorf("nordigen: token URL %q is not an http(s) URL", cfg.TokenURL)
	}
	cfg.Audience = cmp.Or(cfg.Audience, DefaultAudience)
	// A zero or negative rate, count or duration takes its default: max
	// makes a negative one zero, and cmp.Or replaces a zero.
	limit := rate.Inf
	if cfg.RateLimit > 0 {
		limit = rate.Limit(cfg.RateLimit)
	}
	burst := DefaultBurst // for the limits a 429 sets
	if cfg.RateLimit > 0 {
		burst = max(1, int(cfg.RateLimit))
	}
	cfg.Burst = cmp.Or(max(cfg.Burst, 0), burst)
	cfg.RetryMax = cmp.Or(max(cfg.RetryMax, 0), DefaultRetryMax)
	cfg.RetryWaitMin = cmp.Or(max(cfg.RetryWaitMin, 0), DefaultRetryWaitMin)
	cfg.RetryWaitMax = cmp.Or(max(cfg.RetryWaitMax, 0), DefaultRetryWaitMax)
	cfg.AttemptTimeout = cmp.Or(max(cfg.AttemptTimeout, 0), DefaultAttemptTimeout)
	noiseWait := cmp.Or(cfg.NoiseWait, DefaultNoiseWait)
	cfg.MaxUploadBytes = cmp.Or(max(cfg.MaxUploadBytes, 0), DefaultMaxUploadBytes)
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = cfg.AttemptTimeout
		cfg.Transport = t
	}
	// Attempts are observed just above the base transport, beneath the
	// retry layer, the throttle and the token source, so that each one is
	// seen once, and timed without the waits before it.
	transport := cfg.Transport
	if cfg.Observe != nil {
		transport = &observe{next: transport, fn: cfg.Observe}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	th := &throttle{
		limiter:   rate.NewLimiter(limit, cfg.Burst),
		max:       limit,
		cap:       cfg.RetryWaitMax,
		noiseWait: noiseWait,
	}
	newRetrying := func(rt http.RoundTripper, eh retryablehttp.ErrorHandler) *retryablehttp.Client {
		return &retryablehttp.Client{
			HTTPClient: &http.Client{
				Transport: rt,
				// Never follow a redirect: the API has no reason to send one,
				// and the token or the secret must not travel to another
				// host or over plain http. A 3xx is a permanent error.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			},
			Logger:       logger,
			RetryWaitMin: cfg.RetryWaitMin,
			RetryWaitMax: cfg.RetryWaitMax,
			RetryMax:     cfg.RetryMax,
			CheckRetry:   checkRetry,
			Backoff:      retryWait,
			ErrorHandler: eh,
		}
	}
	// The token endpoint has a throttle of its own, without a rate limit: a
	// 429 from it pauses token requests only (at Nordigen it is a separate
	// authorisation service).
	tokens := &tokenSource{
		url: tokenURL.String(), id: cfg.ClientID, secret: cfg.ClientSecret, audience: cfg.Audience,
		sem: make(chan struct{}, 1),
	}
	tokenTh := &throttle{next: &timeout{next: transport, d: cfg.AttemptTimeout},
		limiter: rate.NewLimiter(rate.Inf, 1), max: rate.Inf, cap: cfg.RetryWaitMax, noiseWait: noiseWait}
	tokens.rc = newRetrying(tokenTh, tokenErrorHandler)

	th.next = &timeout{next: &auth{next: transport, scheme: base.Scheme, host: base.Host, tokens: tokens}, d: cfg.AttemptTimeout}
	return &Client{base: base, maxBytes: cfg.MaxUploadBytes, rc: newRetrying(th, errorHandler), throttle: th, tokens: tokens}, nil
}

// Bounds of Client.Probe.
const (
	ProbeAttempts = 4                      // connections tried at most
	ProbeBudget   = 10 * time.Second       // the whole probe, waits included
	probeWait     = 500 * time.Millisecond // before the second attempt, doubling after (jittered)
)

// Probe tells quickly whether the API can be reached at all: it asks the
// token endpoint for a new token (the first request of any work, so the
// token serves what follows). When no connection can be made it tries
// again, up to ProbeAttempts times within ProbeBudget in all, without the
// long backoff of other requests: an endpoint that is wrong or down is
// known within seconds.
//
// It returns nil once a token came. It returns an *api.TransportError
// with Unreachable set (api.IsUnreachable) when no attempt could connect
// (the name does not resolve, the connection is refused, the TLS
// handshake fails) or nothing answered within ProbeBudget. Any other
// error is what the token endpoint answered, or a connection that broke:
// a permanent *api.Error is wrong credentials or a wrong token URL; a
// transient one (429, 5xx) an outage that the retries of later requests
// may outlast.
func (c *Client) Probe(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, ProbeBudget)
	defer cancel()
	for n := 1; ; n++ {
		err := c.tokens.refresh(pctx)
		var te *api.TransportError
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case pctx.Err() != nil:
			return &api.TransportError{Op: api.OpToken, Attempts: n, Unreachable: true,
				Err: fmt.Errorf("no answer within %s: %w", ProbeBudget, err)}
		case !errors.As(err, &te) || !te.Unreachable:
			return err
		}
		te.Attempts = n
		if n == ProbeAttempts || api.PermanentTransport(te) {
			return te // a certificate that does not verify, or no TLS, will be so next time
		}
		if backoff.Sleep(pctx, backoff.Jitter(backoff.Exponential(probeWait, ProbeBudget, n-1))) != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return te // the budget ran out: nothing better to say than the last failure
		}
	}
}

// Upload sends statement files as one upload (POST /v2/report) and returns
// the pre-processing record. Files totalling more than MaxUploadBytes are
// refused before any request. The multipart body is built once, so every
// retry sends the same bytes.
func (c *Client) Upload(ctx context.Context, files ...api.File) (*api.Upload, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("nordigen: upload: no files")
	}
	var size int64
	for _, f := range files {
		size += int64(len(f.Data))
	}
	if size > c.maxBytes {
		return nil, &api.UploadTooLargeError{Size: size, Limit: c.maxBytes}
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range files {
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="input"; filename="%s"`, escapeQuotes(path.Base(f.Name))))
		h.Set("Content-Type", "application/json")
		w, _ := mw.CreatePart(h)
		w.Write(f.Data)
	}
	mw.Close()

	var out struct {
		Data struct {
			Attributes struct {
				AvailableOperations []string `json:"available-operations"`
				RequestID           string   `json:"request-id"`
				Status              string   `json:"status"`
			} `json:"attributes"`
		} `json:"data"`
	}
	raw, _, err := c.do(ctx, api.OpUpload, http.MethodPost, "/v2/report", mw.FormDataContentType(), body.Bytes())
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Data.Attributes.RequestID == "" {
		return nil, &api.ProtocolError{Op: api.OpUpload, Err: fmt.Errorf("want data.attributes.request-id")}
	}
	a := out.Data.Attributes
	return &api.Upload{RequestID: a.RequestID, Status: a.Status, AvailableOperations: a.AvailableOperations}, nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }

// Process requests operations on an upload (PUT /v2/report/process/{id})
// and returns the id to poll: the response's request-id, or else the last
// segment of its result link.
func (c *Client) Process(ctx context.Context, uploadID string, req api.ProcessRequest) (*api.Processing, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("nordigen: process: %w", err)
	}
	var out struct {
		Data struct {
			Attributes struct {
				RequestID string `json:"request-id"`
				Status    string `json:"status"`
			} `json:"attributes"`
			Relationships struct {
				Result struct {
					Links struct {
						Related string `json:"related"`
					} `json:"links"`
				} `json:"result"`
			} `json:"relationships"`
		} `json:"data"`
	}
	if _, _, err := c.call(ctx, api.OpProcess, http.MethodPut, "/v2/report/process/"+url.PathEscape(uploadID), "application/json", body, &out); err != nil {
		return nil, err
	}
	id := out.Data.Attributes.RequestID
	if id == "" {
		if rel := out.Data.Relationships.Result.Links.Related; rel != "" {
			id = path.Base(rel)
		}
	}
	if id == "" {
		return nil, &api.ProtocolError{Op: api.OpProcess, Err: fmt.Errorf("want data.attributes.request-id")}
	}
	return &api.Processing{RequestID: id, Status: out.Data.Attributes.Status}, nil
}

// Result fetches a processing request's result (GET /v2/report/{id}). A
// result that is not done yet has Done() false and no products; a failed
// processing is an *api.Error (TIMEOUT_PROCESSING, UNKNOWN_ERROR, GONE).
func (c *Client) Result(ctx context.Context, processID string) (*api.Result, error) {
	raw, wait, err := c.do(ctx, api.OpResult, http.MethodGet, "/v2/report/"+url.PathEscape(processID), "", nil)
	if err != nil {
		return nil, err
	}
	res, err := ParseResult(raw)
	if err != nil {
		return nil, &api.ProtocolError{Op: api.OpResult, Err: err}
	}
	res.RetryAfter = wait
	return res, nil
}

// ParseResult decodes the body of a result answer (GET /v2/report/{id}),
// as the API sent it or as an output file holds it (indented), into its
// products; Raw is body itself.
func ParseResult(body []byte) (*api.Result, error) {
	var out struct {
		Data struct {
			Attributes struct {
				Status         string              `json:"status"`
				Categorisation *api.Categorisation `json:"categorisation"`
				Insights       struct {
					Income *api.IncomeInsights `json:"insights-income"`
					Loans  *api.LoansInsights  `json:"insights-loans"`
					Risk   *api.RiskInsights   `json:"insights-risk"`
				} `json:"insights"`
				SimpleScore *int `json:"simple-score"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, err
	}
	a := out.Data.Attributes
	return &api.Result{Status: a.Status, Categorisation: a.Categorisation, Income: a.Insights.Income,
		Loans: a.Insights.Loans, Risk: a.Insights.Risk, SimpleScore: a.SimpleScore, Raw: body}, nil
}

// CategoryTree fetches a country's category tree.
func (c *Client) CategoryTree(ctx context.Context, country string) (*api.CategoryTree, error) {
	var out struct {
		Data struct {
			Attributes api.CategoryTree `json:"attributes"`
		} `json:"data"`
	}
	if _, _, err := c.call(ctx, api.OpCategoryTree, http.MethodGet, "/v2/category-tree/"+url.PathEscape(country), "", nil, &out); err != nil {
		return nil, err
	}
	return &out.Data.Attributes, nil
}

// call is do, then the answer's body decoded into out; a body that does
// not decode is an *api.ProtocolError. It returns the body too.
func (c *Client) call(ctx context.Context, op, method, p, contentType string, body []byte, out any) ([]byte, time.Duration, error) {
	raw, wait, err := c.do(ctx, op, method, p, contentType, body)
	if err != nil {
		return nil, 0, err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, 0, &api.ProtocolError{Op: op, Err: err}
	}
	return raw, wait, nil
}

// do sends one request through the retry layer and returns the body of a
// 2xx answer, with its Retry-After (0 without one), or a typed error.
func (c *Client) do(ctx context.Context, op, method, p, contentType string, body []byte) ([]byte, time.Duration, error) {
	var rawBody any
	if body != nil {
		rawBody = body // re-read from memory on every attempt
	}
	ctx = withOp(ctx, op)
	req, err := retryablehttp.NewRequestWithContext(ctx, method, c.base.String()+p, rawBody)
	if err != nil {
		return nil, 0, fmt.Errorf("nordigen: %s: %w", op, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.rc.Do(req)
	if err != nil {
		return nil, 0, withOpName(err, op)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResultBytes))
	if err != nil {
		return nil, 0, &api.TransportError{Op: op, Attempts: stateOf(ctx).attempts, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, 0, apiError(resp, raw, op, stateOf(ctx).attempts)
	}
	return raw, retryAfter(resp), nil
}

// withOpName names the operation in a typed error made below do, unless
// the error already names one (the token endpoint's).
func withOpName(err error, op string) error {
	switch e := err.(type) {
	case *api.Error:
		if e.Op == "" {
			e.Op = op
		}
	case *api.TransportError:
		if e.Op == "" {
			e.Op = op
		}
	case *api.ProtocolError:
		if e.Op == "" {
			e.Op = op
		}
	}
	return err
}

// Paused reports whether a 429 has paused every request of the client.
func (c *Client) Paused() bool { return c.throttle.pauseLeft() > 0 }

// Held is how long the client's own throttle (the rate limit, and the
// pauses after 429s) has held requests back, all of them together: when
// it is a large share of a run, the client, not the API, set the pace.
func (c *Client) Held() time.Duration { return c.throttle.held() }
