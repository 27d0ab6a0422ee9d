package engine

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/ledgerform/ledgerform/engine/categorise"
)

// Defaults of a Config's zero fields.
const (
	DefaultAudience       = "https://nordigen/api"
	DefaultTokenTTL       = 24 * time.Hour
	DefaultRetention      = 24 * time.Hour
	DefaultMaxUploadBytes = 10 << 20 // the documented 10 MB, as MiB
	DefaultMaxRecords     = 100_000
	DefaultMaxStoredBytes = 256 << 20
	DefaultRetryAfter     = time.Second
)

// Config configures a Server. The zero value is usable: credentials are
// generated, every limit takes its default and every fault is off.
type Config struct {
	// ClientID and ClientSecret are the only credentials that get a token.
	// When both are empty a random pair is generated (see Server.Credentials).
	ClientID, ClientSecret string
	// Audience is the audience a token request must name.
	Audience string
	// Countries are the supported country codes, matched case-insensitively.
	// Each needs a category tree; the engine has one for "uk" (the default).
	Countries []string
	// Workers is the size of the processing pool; default GOMAXPROCS.
	Workers int
	// TokenTTL is the lifetime of an access token (expires_in).
	TokenTTL time.Duration
	// Retention is how long uploads and results are kept; after it they
	// answer 410 GONE for as long again, then 404 NOT_FOUND.
	Retention time.Duration
	// MaxUploadBytes bounds the files of one upload, in total.
	MaxUploadBytes int64
	// MaxRecords and MaxStoredBytes are the quota of live uploads and
	// results (count, and bytes of statements and results); over it an
	// upload answers 400 EXCEEDED_LIMIT.
	MaxRecords     int
	MaxStoredBytes int64
	// Faults are injected failures, all off by default.
	Faults Faults
	// Logger receives one line per request; nil discards them. Lines never
	// carry a header, a body, a token or a secret.
	Logger *slog.Logger
	// Clock decides token expiry, retention and processing time (see
	// Clock for what stays on the wall clock); nil is the real clock.
	// Tests set a ManualClock to step through time instead of sleeping.
	Clock Clock
}

// Faults are the failures a Server injects, for tests and benchmarks of
// clients. Fractions are in [0, 1] and drawn independently per request.
type Faults struct {
	Latency        time.Duration // added before every API answer, in real time
	ProcessingTime time.Duration // from a worker taking a report to its result, on Config.Clock
	Fail429        float64       // answered 429 RATE_LIMIT with Retry-After
	Fail500        float64       // answered 500 UNKNOWN_ERROR
	Fail503        float64       // answered 503 SERVICE_UNAVAILABLE
	ResetRate      float64       // connection closed without an answer
	FailProcessing float64       // processing ends in TIMEOUT_PROCESSING or UNKNOWN_ERROR
	RateLimit      float64       // requests per second per client; 0 is unlimited
	RetryAfter     time.Duration // Retry-After of injected 429s; default 1s
	Seed           uint64        // seeds the draws, for repeatable runs; 0 is random
}

// Validate reports the first invalid fault setting.
func (f Faults) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"fail-429", f.Fail429}, {"fail-500", f.Fail500}, {"fail-503", f.Fail503}, {"reset-rate", f.ResetRate}, {"fail-processing", f.FailProcessing}} {
		if p.v < 0 || p.v > 1 || p.v != p.v {
			return fmt.Errorf("%s: %v is not a fraction between 0 and 1", p.name, p.v)
		}
	}
	if f.Fail429+f.Fail500+f.Fail503+f.ResetRate > 1 {
		return fmt.Errorf("fail-429, fail-500, fail-503 and reset-rate add up to more than 1")
	}
	if f.RateLimit < 0 {
		return fmt.Errorf("rate-limit: %v is negative", f.RateLimit)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"latency", f.Latency}, {"processing-time", f.ProcessingTime}, {"retry-after", f.RetryAfter}} {
		if d.v < 0 {
			return fmt.Errorf("%s: %v is negative", d.name, d.v)
		}
	}
	return nil
}

// trees are the category trees the engine has, by country.
var trees = map[string]func() *categorise.Categoriser{"uk": categorise.UK}

// withDefaults returns c with every zero field set, or an error for an
// invalid one.
func (c Config) withDefaults() (Config, error) {
	if (c.ClientID == "") != (c.ClientSecret == "") {
		return c, fmt.Errorf("set both the client id and the client secret, or neither")
	}
	if c.ClientID == "" {
		c.ClientID = "lf-" + randomHex(8)
		c.ClientSecret = randomHex(24)
	}
	c.Audience = cmp.Or(c.Audience, DefaultAudience)
	if len(c.Countries) == 0 {
		c.Countries = []string{"uk"}
	}
	for i, cc := range c.Countries {
		cc = strings.ToLower(cc)
		if trees[cc] == nil {
			return c, fmt.Errorf("country %q: the engine has no category tree for it (it has: uk)", cc)
		}
		c.Countries[i] = cc
	}
	// A zero or negative size or duration takes its default: max makes a
	// negative one zero, and cmp.Or replaces a zero.
	c.Workers = cmp.Or(max(c.Workers, 0), runtime.GOMAXPROCS(0))
	c.TokenTTL = cmp.Or(max(c.TokenTTL, 0), DefaultTokenTTL)
	c.Retention = cmp.Or(max(c.Retention, 0), DefaultRetention)
	c.MaxUploadBytes = cmp.Or(max(c.MaxUploadBytes, 0), DefaultMaxUploadBytes)
	c.MaxRecords = cmp.Or(max(c.MaxRecords, 0), DefaultMaxRecords)
	c.MaxStoredBytes = cmp.Or(max(c.MaxStoredBytes, 0), DefaultMaxStoredBytes)
	c.Faults.RetryAfter = cmp.Or(max(c.Faults.RetryAfter, 0), DefaultRetryAfter)
	if err := c.Faults.Validate(); err != nil {
		return c, err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = wallClock{}
	}
	return c, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: see crypto/rand.Read
	return hex.EncodeToString(b)
}

// newID returns a random (version 4) UUID, the form of the API's request ids.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
