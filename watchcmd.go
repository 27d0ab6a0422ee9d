package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ledgerform/ledgerform/daemon"
	"github.com/ledgerform/ledgerform/gitsource"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state/pgstore"
)

const watchUsage = `watch

Runs until SIGTERM or SIGINT as a GitOps daemon: it reconciles at start,
then whenever a manifest, a statement or a drop folder changes (watched
with fsnotify, debounced), every --resync, and on SIGHUP. A manifest that
does not load keeps the last good one in force. Files dropped into a drop
folder are taken once complete: renamed in, or unchanged for --quiet.

With --poll D it scans the watched directories every D instead of using
fsnotify, for drop folders on shared storage (NFS, SMB), whose writes
from another machine fsnotify never sees; a dropped file is taken by the
same rule.

With --state URL (or LEDGERFORM_STATE) the state is a PostgreSQL
workspace, and several watch processes, on one machine or several, share
its reports: a report is worked by one daemon at a time, under a lease of
--lease that it renews while it works. A daemon killed keeps its reports
until their leases expire; another then resumes them from their recorded
request ids. /status shows each lease's owner.

It holds the state's lock for as long as it runs. If another ledgerform
holds it, watch fails at once naming its pid; --lock-timeout D waits up
to D for it instead (an apply still running when watch starts).

On --listen: /healthz, /readyz (after the first full reconcile),
/metrics (Prometheus) and /status (JSON: every report's phase and last
error). Logs go to stderr (--log-format text or json; with json every
line is JSON, the error watch ends with included). The endpoint in use is
logged when it is first needed, at start if there is work: its URL, or
"embedded" with the engine's URL; never a credential.

"ledgerform reconcile ADDR..." asks it to reconcile reports now, over
its control socket .ledgerform/control.sock (0600; never on --listen).

With --git URL the manifests come from a git remote instead (--branch,
default the remote's HEAD; --path inside the repository), fetched every
--interval, on SIGHUP and on a signed push webhook (POST /hooks/git on
--listen; the secret in $LEDGERFORM_GIT_WEBHOOK_SECRET); --dir is then
the data directory: statements, drop folders and outputs resolve against
it, and the state and the clone's cache (.ledgerform/git/) live in it. A
revision is put in force only when all its manifests load; a remote that
cannot be fetched leaves the revision in force reconciled. Credentials:
$LEDGERFORM_GIT_TOKEN or --git-token-file (HTTPS), $LEDGERFORM_GIT_SSH_KEY
or --git-ssh-key-file (SSH); never in the URL.

SIGTERM/SIGINT: stop taking work, let the steps under way finish within
--grace, save the state, exit 0. A second signal exits at once; the state
is consistent at every instant.`

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlagSet("watch", watchUsage)
	dir := fs.String("dir", ".", "the working `directory`: manifests, and the state in .ledgerform/")
	listen := fs.String("listen", defaultListen, "`address` of /healthz, /readyz, /metrics and /status (\"\": none)")
	endpoint := fs.String("endpoint", "", "the API's base `URL`, or \"embedded\" (default settings.endpoint)")
	resync := fs.Duration("resync", daemon.DefaultResync, "period of the full resync")
	grace := fs.Duration("grace", daemon.DefaultGrace, "how long the steps under way may finish after SIGTERM")
	quiet := fs.Duration("quiet", daemon.DefaultQuiet, "a dropped file is taken once unchanged this long")
	parallelism := fs.Int("parallelism", 0, "reports worked on at once (default settings.parallelism, else 4)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	lockTimeout := lockTimeoutFlag(fs)
	git := addGitFlags(fs, false)
	interval := fs.Duration("interval", daemon.DefaultSourceInterval, "how often the git source is fetched (with --git)")
	stURL := stateFlag(fs)
	poll := fs.Duration("poll", 0, "scan the watched directories every `D` instead of using fsnotify, which does not see writes made on another machine (NFS, SMB); 0: fsnotify")
	lease := fs.Duration("lease", pgstore.DefaultLeaseTime, "with --state: how long a report's lease lasts unrenewed, so how long a killed daemon's reports wait for another")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	useGit, err := git.set("watch")
	if err != nil {
		return err
	}
	if err := checkParallelism("watch", *parallelism); err != nil {
		return err
	}
	if err := checkEndpointFlag("watch", *endpoint); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"resync", *resync}, {"grace", *grace}, {"quiet", *quiet}, {"interval", *interval}, {"lease", *lease}} {
		if d.v <= 0 {
			return usageError{fmt.Errorf("watch: --%s %s: want a duration above zero", d.name, d.v)}
		}
	}
	if *poll < 0 {
		return usageError{fmt.Errorf("watch: --poll %s: want 0 (fsnotify) or a duration above zero", *poll)}
	}
	logger, err := newLogger("watch", *logFormat, stderr)
	if err != nil {
		return err
	}
	if *logFormat == "json" {
		defer func() { err = logExit(logger, "watch", err) }()
	}
	var src *gitsource.Source
	if useGit {
		if src, err = git.source(*dir); err != nil {
			return err
		}
	} else if err := checkManifestDir(*dir); err != nil {
		return err
	}
	if err := checkLockTimeout("watch", *lockTimeout); err != nil {
		return err
	}
	st, err := openStore(ctx, *dir, *stURL, pgstore.Shared, *lockTimeout, *lease, stderr)
	if err != nil {
		return err
	}
	// Daemons that share a PostgreSQL state share its reports by leases.
	var leases daemon.Leases
	if pg, ok := st.(*pgstore.Store); ok {
		leases = pg
		logger.Info("state in PostgreSQL; reports shared with other daemons by leases", "state", pg.Target(), "workspace", pg.Name(),
			"owner", pg.Owner(), "lease", pg.LeaseTime().String())
		if err := os.MkdirAll(stateDir(*dir), 0o700); err != nil { // for the control socket
			return err
		}
	}
	defer func() { err = closeState(st, err, slog.NewLogLogger(logger.Handler(), slog.LevelWarn).Writer()) }()
	// The control socket, made once the lock is held: a socket there now
	// is a dead daemon's. Without it the daemon still runs (its work does
	// not depend on it); only ledgerform reconcile cannot reach it.
	var ctl net.Listener
	if l, lerr := daemon.ListenControl(*dir); lerr != nil {
		logger.Warn("no control socket: ledgerform reconcile cannot reach this daemon", "error", lerr.Error(),
			"hint", "remove what is in the way, or use a --dir with a shorter path (a unix socket's is at most 107 bytes)")
	} else {
		ctl = l
		defer l.Close()
	}

	var ln net.Listener
	if *listen != "" {
		if ln, err = net.Listen("tcp", *listen); err != nil {
			return hinted{fmt.Errorf("watch: %w", err), "choose another --listen address, or --listen \"\" for none"}
		}
		if w := beyondLoopback(*listen); w != "" {
			logger.Warn(w)
		}
		logger.Info("serving /healthz, /readyz, /metrics, /status", "addr", ln.Addr().String())
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// The client reports each HTTP attempt to the daemon's metrics; the
	// daemon itself knows nothing of HTTP clients.
	metrics := daemon.NewMetrics()
	conn := &connector{flagEndpoint: *endpoint, Log: logger.Info,
		Observe: func(a nordigen.Attempt) { metrics.ObserveAPI(a.Op, a.Status, a.Duration) }}
	defer conn.Close()
	endpointID := "" // reuse only within an endpoint the manifests cannot change (daemon.Config.Endpoint)
	if *endpoint != "" {
		endpointID = conn.id(spec.Settings{})
	}
	cfg := daemon.Config{
		Endpoint: endpointID,
		Dir:      *dir, Store: st, Listener: ln, Control: ctl, Hup: hup, Logger: logger, Metrics: metrics, EndpointFixed: *endpoint != "",
		Resync: *resync, Grace: *grace, Quiet: *quiet, Parallelism: *parallelism, Poll: *poll,
		Connect: conn.Connect, Leases: leases,
		PollMin: 250 * time.Millisecond,
		// Pages' trees are fetched through a connection of their own,
		// made with the daemon's settings in force, once.
		Pages: func(connect func(context.Context) (reconcile.API, error)) reconcile.PageRenderer {
			return newPageRenderer(*dir, shared(connect))
		},
	}
	if src != nil {
		cfg.Source, cfg.SourceInterval = src, *interval
		cfg.SourceInfo = daemon.SourceInfo{URL: src.URL(), Branch: src.Branch(), Path: src.Path()}
		cfg.HookSecret = nordigen.NewSecret(os.Getenv(envWebhookSecret))
		logger.Info("manifests from git", "source", src.String(), "interval", interval.String(), "webhook", !cfg.HookSecret.IsZero())
		if checkManifestDir(*dir) == nil {
			logger.Warn("the manifests in --dir are not read with --git: the repository's are", "dir", *dir)
		}
	}
	return daemon.Run(ctx, cfg)
}

// logExit logs the error cmd (watch, serve) ends with, and its hint, and
// returns an error that makes the exit status without a message: under
// --log-format json every line the command writes to stderr is JSON, its
// last one included. (A mistake in the flags, found before the format is
// known, is still a line of text.)
func logExit(logger *slog.Logger, cmd string, err error) error {
	if err == nil {
		return nil
	}
	attrs := []any{"error", err.Error()}
	var h hinted
	if errors.As(err, &h) {
		attrs = append(attrs, "hint", h.hint)
	}
	logger.Error(cmd+" failed", attrs...)
	return exitError{code: 1}
}
