package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/ledgerform/ledgerform/engine"
)

const serveUsage = `serve

Serves the embedded engine, a local implementation of the Nordigen
Categorisation & Insights API (v2 /report), until SIGINT or SIGTERM.

Credentials come from --client-id/--client-secret or, better (flag values
show in ps), from LEDGERFORM_ENGINE_CLIENT_ID/LEDGERFORM_ENGINE_CLIENT_SECRET.
With neither, a random pair is generated and printed once to stderr.

Every fault flag is off by default.`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveUsage)
	listen := fs.String("listen", "127.0.0.1:8787", "`address` to listen on; loopback unless you mean otherwise")
	clientID := fs.String("client-id", "", "the client `id` that gets a token (default $LEDGERFORM_ENGINE_CLIENT_ID)")
	clientSecret := fs.String("client-secret", "", "the client `secret` (default $LEDGERFORM_ENGINE_CLIENT_SECRET)")
	logFormat := fs.String("log-format", "text", "request log format: text or json")
	var cfg engine.Config
	fs.IntVar(&cfg.Workers, "workers", 0, "processing workers (default the number of CPUs)")
	fs.DurationVar(&cfg.TokenTTL, "token-ttl", engine.DefaultTokenTTL, "lifetime of an access token")
	fs.DurationVar(&cfg.Retention, "retention", engine.DefaultRetention, "how long uploads and results are kept before they answer 410 GONE")
	f := &cfg.Faults
	fs.DurationVar(&f.Latency, "latency", 0, "fault: delay added to every API answer")
	fs.DurationVar(&f.ProcessingTime, "processing-time", 0, "fault: time from a worker taking a report to its result")
	fs.Float64Var(&f.Fail429, "fail-429", 0, "fault: `fraction` of answers that are 429 RATE_LIMIT with Retry-After")
	fs.Float64Var(&f.Fail500, "fail-500", 0, "fault: `fraction` of answers that are 500 UNKNOWN_ERROR")
	fs.Float64Var(&f.Fail503, "fail-503", 0, "fault: `fraction` of answers that are 503 SERVICE_UNAVAILABLE")
	fs.Float64Var(&f.ResetRate, "reset-rate", 0, "fault: `fraction` of connections closed mid-request")
	fs.Float64Var(&f.FailProcessing, "fail-processing", 0, "fault: `fraction` of reports whose processing fails")
	fs.Float64Var(&f.RateLimit, "rate-limit", 0, "fault: requests per second per client before 429 RATE_LIMIT (0: unlimited)")
	fs.DurationVar(&f.RetryAfter, "retry-after", engine.DefaultRetryAfter, "fault: Retry-After of injected 429 answers")
	fs.Uint64Var(&f.Seed, "seed", 0, "fault: seed of the fault draws, for repeatable runs (0: random)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	cfg.ClientID = firstNonEmpty(*clientID, os.Getenv("LEDGERFORM_ENGINE_CLIENT_ID"))
	cfg.ClientSecret = firstNonEmpty(*clientSecret, os.Getenv("LEDGERFORM_ENGINE_CLIENT_SECRET"))
	generated := cfg.ClientID == "" && cfg.ClientSecret == ""
	logger, err := newLogger("serve", *logFormat, stderr)
	if err != nil {
		return err
	}
	cfg.Logger = logger

	e, err := engine.Start(cfg, *listen)
	if err != nil {
		return hinted{fmt.Errorf("serve: %w", err), "check --listen and the other flags; \"ledgerform serve -h\" lists them"}
	}
	if w := beyondLoopback(*listen); w != "" {
		fmt.Fprintf(stderr, "ledgerform: warning: %s\n", w)
	}
	fmt.Fprintf(stderr, "ledgerform: engine serving the Nordigen report API on %s\n", e.URL)
	if generated {
		// Printed once, here, so that a reader can paste them; never logged.
		fmt.Fprintf(stderr, "ledgerform: generated credentials: client id %s, client secret %s\n", e.ClientID, e.ClientSecret)
	}

	select {
	case <-ctx.Done():
	case <-e.Done():
		return fmt.Errorf("serve: %w", e.Err())
	}
	fmt.Fprintln(stderr, "ledgerform: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// beyondLoopback is the warning for a server listening on listen when
// that is beyond loopback, or "".
func beyondLoopback(listen string) string {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); (ip == nil && host != "localhost") || (ip != nil && !ip.IsLoopback()) {
		return fmt.Sprintf("listening on %s, beyond loopback: statements are personal data", listen)
	}
	return ""
}

// newLogger is the logger of --log-format: text or json, on w.
func newLogger(cmd, format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, usageError{fmt.Errorf("%s: --log-format %q: want text or json", cmd, format)}
}
