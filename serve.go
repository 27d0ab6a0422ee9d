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

--log-format json makes every line it prints JSON: the request log, the
start-up and shutdown lines, and an error once the flags are read.

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
	// With --log-format json every line is JSON: the start-up and
	// shutdown lines are log records then, and so is an error once the
	// logger exists (the error is logged, not printed again).
	asJSON := *logFormat == "json"
	say := func(level slog.Level, text, msg string, attrs ...any) {
		if asJSON {
			logger.Log(context.Background(), level, msg, attrs...)
			return
		}
		fmt.Fprintln(stderr, "ledgerform: "+text)
	}
	fail := func(err error) error {
		if !asJSON {
			return err
		}
		return logExit(logger, "serve", err)
	}

	e, err := engine.Start(cfg, *listen)
	if err != nil {
		return fail(hinted{fmt.Errorf("serve: %w", err), "check --listen and the other flags; \"ledgerform serve -h\" lists them"})
	}
	if w := beyondLoopback(*listen); w != "" {
		say(slog.LevelWarn, "warning: "+w, w, "listen", *listen)
	}
	say(slog.LevelInfo, "engine serving the Nordigen report API on "+e.URL, "engine serving the Nordigen report API", "url", e.URL)
	if generated {
		// Printed once, here, so that a reader can paste them; never
		// logged by the engine. As JSON it is the same one line on the
		// same stream.
		say(slog.LevelInfo, fmt.Sprintf("generated credentials: client id %s, client secret %s", e.ClientID, e.ClientSecret),
			"generated credentials", "client_id", e.ClientID, "client_secret", e.ClientSecret)
	}

	select {
	case <-ctx.Done():
	case <-e.Done():
		return fail(fmt.Errorf("serve: %w", e.Err()))
	}
	say(slog.LevelInfo, "shutting down", "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fail(fmt.Errorf("serve: shutdown: %w", err))
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
