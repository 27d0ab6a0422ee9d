package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/ledgerform/ledgerform/internal/progress"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state/pgstore"
)

const applyUsage = `apply [FILE]

Plans, then does the missing work: uploads new or changed statements,
requests their operations, polls, and writes each result to its output
file. Every step is recorded in --dir/.ledgerform before the next remote call,
so an apply that is interrupted or killed resumes where it stopped.

With FILE, a plan saved by "plan --out FILE", it carries out exactly that
plan, with its targets: it plans again and refuses, doing nothing, if the
new plan differs in any change or the state moved on since (the saved
plan is stale).

The endpoint is --endpoint, else settings.endpoint, else the embedded
engine. A real endpoint takes its credentials from NORDIGEN_CLIENT_ID and
NORDIGEN_CLIENT_SECRET.

The state's lock is taken for the run. If another ledgerform holds it,
apply fails at once naming its pid; --lock-timeout D waits up to D for it
instead, so that a cron apply waits for an apply that is still running.

Exit status: 0 when every report succeeded; 3 when apply finished but some
reports failed (the state records why); 1 for an error.`

func runApply(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlagSet("apply", applyUsage)
	dir := fs.String("dir", ".", "the working `directory`: manifests, and the state in .ledgerform/")
	asJSON := fs.Bool("json", false, "print one JSON object per step, then a summary")
	parallelism := fs.Int("parallelism", 0, "reports worked on at once (default settings.parallelism, else 4)")
	endpoint := fs.String("endpoint", "", "the API's base `URL`, or \"embedded\" (default settings.endpoint)")
	allowMass := fs.Bool("allow-mass-delete", false, "allow a plan that deletes more than half of the recorded reports")
	lockTimeout := lockTimeoutFlag(fs)
	stURL := stateFlag(fs)
	var targets, replace addrFlag
	fs.Var(&targets, "target", "apply only this `address` (repeatable; drop.NAME selects all its files)")
	fs.Var(&replace, "replace", "redo this `address` from scratch even if nothing changed (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	planFile := ""
	switch {
	case fs.NArg() > 1:
		return argError(fs, fmt.Errorf("unexpected argument %q", fs.Arg(1)), "usage")
	case fs.NArg() == 1 && (len(targets) > 0 || len(replace) > 0):
		return argError(fs, errors.New("a saved plan has its own --target and --replace"), "usage")
	case fs.NArg() == 1:
		planFile = fs.Arg(0)
	}
	if err := checkParallelism("apply", *parallelism); err != nil {
		return err
	}
	if err := checkLockTimeout("apply", *lockTimeout); err != nil {
		return err
	}
	if err := checkEndpointFlag("apply", *endpoint); err != nil {
		return err
	}
	set, err := loadManifests(*dir)
	if err != nil {
		return err
	}
	conn := &connector{flagEndpoint: *endpoint, stderr: stderr}
	defer conn.Close()
	makePlan := func(st stateStore) (*reconcile.Plan, error) {
		if planFile != "" {
			return planFromFile(planFile, set, st, conn.id(set.Settings))
		}
		if err := reconcile.CheckTargets(set, st, "--target", targets); err != nil {
			return nil, usageError{err}
		}
		p, err := reconcile.NewPlan(set, st, reconcile.Options{Targets: targets, Replace: replace, Endpoint: conn.id(set.Settings)})
		if err != nil {
			return nil, usageError{err}
		}
		return p, nil
	}
	connect := shared(func(ctx context.Context) (reconcile.API, error) { return conn.Connect(ctx, set.Settings) })
	rec := &reconcile.Reconciler{Dir: *dir, AllowMassDelete: *allowMass, Endpoint: conn.id(set.Settings),
		Parallelism: firstPositive(*parallelism, set.Settings.Parallelism),
		Connect:     connect, Pages: newPageRenderer(*dir, connect)}
	if stateURL(*stURL) == "" {
		if nothing, err := beforeFirstState(ctx, *dir, makePlan, rec); err != nil || nothing {
			var le *reconcile.ConnectError
			if errors.As(err, &le) {
				return conn.unusable(set.Settings, le.Err)
			}
			if nothing {
				applyRenderer(stdout, *asJSON, &reconcile.Plan{}).Summary(&reconcile.Result{})
			}
			return err
		}
	}
	st, err := openStore(ctx, *dir, *stURL, pgstore.Exclusive, *lockTimeout, 0, stderr)
	if err != nil {
		return err
	}
	defer func() { err = closeState(st, err, stderr) }()
	warnFileStateUnused(stderr, *dir, *stURL, st)
	p, err := makePlan(st)
	if err != nil {
		return err
	}

	r := applyRenderer(stdout, *asJSON, p)
	rec.Store, rec.Progress = st, r.Event
	start := time.Now()
	res, err := rec.Apply(ctx, p)
	workers := min(firstPositive(rec.Parallelism, reconcile.DefaultParallelism), max(1, progress.Work(p)))
	defer func() { noteThrottle(stderr, conn.held(), time.Since(start), workers, set.Settings.RateLimit) }()
	var mde *reconcile.MassDeleteError
	var le *reconcile.ConnectError
	switch {
	case errors.As(err, &mde):
		return hinted{err, "check the manifests; if the deletions are meant, run apply again with --allow-mass-delete"}
	case errors.As(err, &le):
		return conn.unusable(set.Settings, le.Err) // or the connector's own error, with its hint
	}
	if res != nil {
		r.Summary(res)
	}
	if err != nil {
		return fmt.Errorf("apply stopped: %w", err)
	}
	if ctx.Err() != nil {
		return exitError{code: 1, err: errors.New("interrupted; the state is saved and the next apply resumes")}
	}
	var failed, blocked []string
	for _, o := range res.Outcomes {
		switch {
		case o.Verdict == reconcile.VerdictBlocked:
			blocked = append(blocked, o.Address.String())
		case o.Err != nil:
			failed = append(failed, o.Address.String())
		}
	}
	// A blocked report did nothing this run, but it is not what the
	// manifests ask for: the exit status says so, as for a failure.
	var msgs []string
	if len(failed) > 0 {
		msgs = append(msgs, fmt.Sprintf("%d of %d report(s) failed: %s", len(failed), len(res.Outcomes), strings.Join(failed, ", ")))
	}
	if len(blocked) > 0 {
		msgs = append(msgs, fmt.Sprintf("%d report(s) blocked by a permanent failure: %s (change the statement or spec, or --replace)", len(blocked), strings.Join(blocked, ", ")))
	}
	if len(msgs) > 0 {
		return exitError{code: 3, err: fmt.Errorf("%s; \"ledgerform state show ADDR\" tells why", strings.Join(msgs, "; "))}
	}
	return nil
}

// applyRenderer shows apply's steps and summary: JSON lines with --json,
// a live view on a terminal, logfmt lines otherwise.
func applyRenderer(stdout io.Writer, asJSON bool, p *reconcile.Plan) progress.Renderer {
	switch {
	case asJSON:
		return progress.JSON{W: stdout}
	case progress.IsTerminal(stdout):
		return &progress.TTY{W: stdout, Total: progress.Work(p)}
	}
	return progress.Lines{W: stdout}
}

// beforeFirstState keeps a first apply from leaving a state behind for
// nothing. In a directory without .ledgerform/ it plans against the empty
// state, without creating it: with nothing to do it says so (nothing: the
// caller prints the empty summary and stops), and with remote work it
// reaches the API first (rec.Reach: the token), so that an endpoint that is
// down or refuses the client fails before .ledgerform/ exists. A plan that
// cannot be made (a --target that selects nothing, a stale saved plan) is
// its error, as the real plan's would be. Otherwise the caller opens (and
// so creates) the state, takes its lock and plans again under it: the
// state another run may have created meanwhile is what counts. With the
// state in PostgreSQL nothing of it is in the directory, and this is not
// called.
func beforeFirstState(ctx context.Context, dir string, makePlan func(stateStore) (*reconcile.Plan, error), rec *reconcile.Reconciler) (nothing bool, err error) {
	if _, err := os.Lstat(stateDir(dir)); !errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	empty, err := openStateReadOnly(dir) // a missing state reads as empty; nothing is written
	if err != nil {
		return false, nil // the real open says why
	}
	p, err := makePlan(empty)
	switch {
	case err != nil:
		return false, err
	case len(p.Changes) == 0:
		return true, nil
	case p.Remote():
		return false, rec.Reach(ctx)
	}
	return false, nil
}

// noteThrottle says when the client's own throttle, not the API, set the
// pace of an apply: its requests waited for a quarter or more of the
// workers' time (held, over elapsed times the workers).
func noteThrottle(stderr io.Writer, held, elapsed time.Duration, workers int, limit float64) {
	if workers <= 0 || elapsed <= 0 || held < elapsed*time.Duration(workers)/4 {
		return
	}
	share := 100 * held / (elapsed * time.Duration(workers))
	why := "after the API's 429 answers (rate limited)"
	if limit > 0 {
		why = fmt.Sprintf("by settings.rate_limit (%g requests per second); raise it if the API allows more", limit)
	}
	fmt.Fprintf(stderr, "ledgerform: note: the client held its requests back %s in all, %d%% of the workers' time, %s\n",
		held.Round(time.Second), share, why)
}

// checkParallelism holds --parallelism to the bounds of
// settings.parallelism; 0 means "not given".
func checkParallelism(cmd string, n int) error {
	if n < 0 || n > spec.MaxParallelism {
		return usageError{fmt.Errorf("%s: --parallelism %d: want 1 to %d, as settings.parallelism", cmd, n, spec.MaxParallelism)}
	}
	return nil
}

func firstPositive(n ...int) int {
	for _, x := range n {
		if x > 0 {
			return x
		}
	}
	return 0
}
