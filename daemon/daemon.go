// Package daemon is ledgerform watch: a long-running reconciler that
// reacts to edited manifests, changed statements and files dropped into
// drop folders, and serves its health, metrics and status over HTTP.
//
// # The loop
//
// One goroutine owns the desired state (the last good manifests). It
// takes, in order of arrival:
//
//   - batches of changed paths from package watch (fsnotify on the
//     manifest directory, the directories of the statements and the drop
//     folders; debounced, so a git checkout that rewrites twenty manifests
//     is one batch; dropped files only once complete);
//   - a full resync at start, every --resync, on SIGHUP, and whenever the
//     watcher says events may have been lost.
//   - with a git source (watch --git; source.go), each new revision
//     fetched: a full resync of its manifests.
//
// Each reloads the manifests. A manifest that does not load leaves the
// last good manifests in force: nothing is deleted or pruned because of
// it; its errors (file:line:col) are logged once and shown on /status and
// as ledgerform_manifests_valid 0 until the file is fixed. (Before any
// manifest has ever loaded, nothing is reconciled at all.) A full resync
// plans every report; a batch plans only the reports it affects: those
// whose statements or glob matches changed, those that appeared or
// vanished with the reload, and the drop files of the batch. Every report
// whose plan has work goes into the queue.
//
// A plan whose deletions exceed half of the recorded reports
// (reconcile.Plan.MassDelete) is not carried out by the daemon either: its
// deletions are held back, with an error on /status, until a full plan no
// longer trips the stop (the CLI's --allow-mass-delete is the way to do it
// on purpose).
//
// # The workers
//
// A de-duplicating queue keyed by address (internal/queue) feeds
// --parallelism workers; a key is never worked on by two at once, and a
// key that changes while it is being worked on is taken again afterwards.
// A worker plans its one address afresh and hands the change to
// reconcile.Reconciler.Reconcile, the same step machine as ledgerform
// apply, and acts on its verdict alone: done or blocked forgets the
// address (a blocked one waits for its statement or spec to change),
// transient puts it back with a per-key exponential backoff (jittered,
// capped), interrupted leaves it for the next start. A report that cannot
// be planned (a statement missing or unreadable) is not tried again until
// its files change; its error is on /status, its record untouched.
//
// # The API
//
// The first change that needs the API finds out whether it can be used
// at all (reconcile.Reconciler.Reach: a connection and a token, within
// seconds). If it cannot — the endpoint is wrong or down, or refuses the
// credentials — or a report's request later could make no connection
// (api.IsUnreachable), that is an outage of the daemon, not a failure of
// each report: it is logged once at WARN, shown on /status (endpoint) and
// as a /readyz reason, the workers take no work (the reports due stay
// queued; none is failed by it, and nothing is recorded for them), and
// one goroutine probes the API with backoff (1 s doubling to a minute).
// The first probe that succeeds is logged once ("endpoint reachable
// again") and the workers go on. An attempt of the client that gets no
// answer (Metrics.ObserveAPI) has the daemon check the API at once, so an
// outage that begins while reports are in flight shows within seconds,
// not after their requests' retries. Those reports show the outage on
// /status as their last error; if their requests fail by it, they fail
// transiently, as any report, and keep the cause on their records; if the
// daemon stops first, they keep it as their records' last error, in their
// phase, to be resumed.
//
// # Conditions and notifications
//
// /status shows, per report, kstatus-style conditions (Ready, Reconciling,
// Stalled; see conditions.go), its observed digest, attempts and next
// retry, and the daemon's own conditions (Ready, EndpointReachable,
// ManifestsValid). The transitions the daemon sees — a report blocked,
// failing Config.FailedAfter times in a row, recovered or completed; an
// outage of the API and its end; a manifest that stops loading — are
// events for the webhooks of settings.notifications (notify.go), which
// package notify delivers without ever holding up a worker.
//
// # Settings
//
// settings.prune is read at every plan. settings.endpoint and
// settings.parallelism are read once, at the first connection and at the
// start; a change to either is logged as needing a restart.
//
// A dropped file is held back (neither created nor, if it was recorded
// before, touched) until it is complete: it arrived by rename, or its size
// and mtime stayed unchanged for --quiet. At a resync a file whose mtime
// is older than that is complete at once.
//
// # Suspend and reconcile now
//
// A report the manifests suspend (suspend: true on it or its drop) plans
// as reconcile.Suspended and is never queued: a change to its statements
// costs no call, and a file that leaves a suspended drop is not deleted.
//
// Config.Control, the unix socket of ListenControl, takes control
// requests (the protocol is ReconcileRequest's doc): POST /reconcile puts
// addresses at the front of the queue (queue.AddNow), out of their
// backoff, and answers each one's outcome once a worker has planned and
// reconciled it. The loop takes the request, as it takes a batch of
// changes: it reloads the manifests and checks the addresses first.
//
// # Lifecycle
//
// SIGTERM or SIGINT stops the intake (watcher, queue), lets the reports
// being worked on finish their current steps within --grace, then cancels
// them (each stays in its recorded phase, to be resumed), and returns; the
// caller closes the state. A second signal kills the process at once; the
// state is consistent at every instant anyway.
package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/internal/queue"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/notify"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/watch"
)

// Defaults of a Config's zero fields.
const (
	DefaultResync      = 10 * time.Minute
	DefaultGrace       = 30 * time.Second
	DefaultQuiet       = time.Second
	DefaultDebounce    = 100 * time.Millisecond
	DefaultParallelism = reconcile.DefaultParallelism
	// notifyFlush is how long the notifications queued at the stop may
	// still be sent.
	notifyFlush = 2 * time.Second
)

// Config configures a daemon.
type Config struct {
	Dir   string          // the working directory: manifests, and the state in .ledgerform/
	Store reconcile.Store // the state, opened (and locked) by the caller, who closes it after Run
	// Connect returns the API for the settings of the manifests in force.
	// It is called when a report first needs the API, and again after a
	// failed connection, by the probes of the outage (see "The API").
	// Whatever it starts, the caller releases after Run returns.
	Connect func(ctx context.Context, s spec.Settings) (reconcile.API, error)
	// Metrics are the daemon's Prometheus series; nil: a new set. Make it
	// with NewMetrics to hand Metrics.ObserveAPI to the API client.
	Metrics *Metrics
	// Listener serves /healthz, /readyz, /metrics and /status; nil: none.
	Listener net.Listener
	// Hup, when it receives, triggers a full resync (SIGHUP).
	Hup <-chan os.Signal
	// Control serves the control requests (reconcile now; see
	// ListenControl); nil: none.
	Control net.Listener

	Resync      time.Duration // full resync period (DefaultResync)
	Grace       time.Duration // how long in-flight work may go on after the stop (DefaultGrace)
	Quiet       time.Duration // a dropped file is complete after this long unchanged (DefaultQuiet)
	Debounce    time.Duration // the end of a burst of events (DefaultDebounce)
	Poll        time.Duration // scan the watched directories every Poll instead of fsnotify (watch.Config.Poll); 0: fsnotify
	Parallelism int           // workers (settings.parallelism, else DefaultParallelism)
	// BaseDelay and MaxDelay bound the backoff of a report that failed
	// transiently (internal/queue's defaults when zero).
	BaseDelay, MaxDelay time.Duration
	// PollMin, PollMax and PollDeadline are the Applier's.
	PollMin, PollMax, PollDeadline time.Duration
	// EndpointFixed says that the endpoint is given outside the manifests
	// (--endpoint): a change of settings.endpoint then needs no restart.
	EndpointFixed bool
	// Endpoint names that fixed endpoint as the state records it
	// (reconcile.Reconciler.Endpoint): the daemon records it with every
	// result and reuses the results of the same endpoint (a file dropped
	// again under a new name costs no call). "" when the manifests name
	// the endpoint: it may differ between the start and the first
	// connection, so nothing is recorded or reused then.
	Endpoint string
	Logger   *slog.Logger
	// Notify tunes the delivery of notifications (package notify; its
	// Logger and Count are the daemon's). FailedAfter is how many
	// transient failures in a row make a report Stalled and send its
	// "failed" notification (DefaultFailedAfter).
	Notify      notify.Config
	FailedAfter int

	// Source, if set, gives the manifests instead of Dir, which is then
	// the data directory only (watch --git; see source.go). SourceInfo is
	// what /status shows of it; SourceInterval how often it is fetched
	// (DefaultSourceInterval). HookSecret is the secret of the push
	// webhook POST /hooks/git (githook.go); empty, the hook refuses every
	// request.
	Source         Source
	SourceInfo     SourceInfo
	SourceInterval time.Duration
	HookSecret     nordigen.Secret
	// Pages, if set, makes what renders the HTML pages of reports with
	// html: true (see reconcile.PageRenderer), given a connect that
	// connects with the settings in force (for the category trees); the
	// web page links to the pages.
	Pages func(connect func(context.Context) (reconcile.API, error)) reconcile.PageRenderer

	// Leases, when set, share Store's reports with other daemons (see
	// Leases); nil: this daemon is the state's only writer.
	Leases Leases
}

// Daemon is a running ledgerform watch. Its methods are safe for
// concurrent use.
type Daemon struct {
	cfg      Config
	log      *slog.Logger
	metrics  *Metrics
	q        *queue.Queue
	w        *watch.Watcher
	rec      *reconcile.Reconciler
	endpoint *endpoint
	ctl      control
	notify   *notify.Hub // settings.notifications; see notify.go
	conds    transitions // the conditions' transition times
	seen     announced   // the trouble notifications told of

	connected atomic.Pointer[spec.Settings] // the settings of the connection in force
	workers   int                           // how many workers run
	warned    map[string]bool               // restart warnings given (under mu)

	fatalOnce sync.Once
	fatal     chan struct{} // closed when the state cannot record a transition
	fatalErr  error         // why; set before fatal is closed

	health     stateHealth   // whether a shared state can be used (Config.Leases)
	resyncSoon chan struct{} // a failed resync of a shared state is tried again

	mu        sync.Mutex
	set       *spec.Set                // the last good manifests; nil until one loads
	loadErr   error                    // why the manifests on disk do not load, if they do not
	holdErr   error                    // why deletions are held back, if they are
	settled   map[string]fileStat      // drop files the watcher reported complete, as they were then
	initial   map[report.Address]bool  // the first full resync's work not yet done
	unplanned map[report.Address]error // why a report cannot be planned (a statement missing), for /status
	ready     bool
	lastSync  time.Time
	src       sourceState // the source's revisions and reachability (source.go)

	kick chan struct{} // has pull fetch the source at once
	hook *hookLimit    // the push webhook's rate limit
}

type fileStat struct {
	size  int64
	mtime time.Time
}

// Run runs the daemon until ctx is done, then stops it gracefully. It
// returns nil after a stop, or the error that kept it from running.
func Run(ctx context.Context, cfg Config) error {
	// A zero or negative duration takes its default.
	cfg.Resync = cmp.Or(max(cfg.Resync, 0), DefaultResync)
	cfg.Grace = cmp.Or(max(cfg.Grace, 0), DefaultGrace)
	cfg.Quiet = cmp.Or(max(cfg.Quiet, 0), DefaultQuiet)
	cfg.Debounce = cmp.Or(max(cfg.Debounce, 0), DefaultDebounce)
	cfg.SourceInterval = cmp.Or(max(cfg.SourceInterval, 0), DefaultSourceInterval)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics, settled: map[string]fileStat{}, warned: map[string]bool{},
		unplanned: map[report.Address]error{}, fatal: make(chan struct{}), kick: make(chan struct{}, 1), hook: newHookLimit(),
		resyncSoon: make(chan struct{}, 1)}
	d.health.log = cfg.Logger
	d.rec = &reconcile.Reconciler{Dir: cfg.Dir, Store: cfg.Store, Connect: d.connect, Endpoint: cfg.Endpoint,
		PollMin: cfg.PollMin, PollMax: cfg.PollMax, PollDeadline: cfg.PollDeadline, Progress: d.logEvent}
	if cfg.Pages != nil {
		d.rec.Pages = cfg.Pages(d.connectForPages)
	}
	d.endpoint = newEndpoint(cfg.Logger, d.rec.Reach)
	d.endpoint.changed = d.outageChanged
	d.q = queue.New(queue.Config{BaseDelay: cfg.BaseDelay, MaxDelay: cfg.MaxDelay, Metrics: d.metrics.queueHooks()})
	w, err := watch.New(watch.Config{Debounce: cfg.Debounce, Quiet: cfg.Quiet, Poll: cfg.Poll, Logger: cfg.Logger.With("component", "watch")})
	if err != nil {
		d.q.ShutDown()
		return fmt.Errorf("watch: %w", err)
	}
	d.w = w
	ncfg := cfg.Notify
	ncfg.Logger, ncfg.Count = cfg.Logger.With("component", "notify"), d.metrics.countNotification
	d.notify = notify.New(ncfg)
	defer d.notify.Close(notifyFlush)

	var srv *http.Server
	if cfg.Listener != nil {
		srv = &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)} // not the log package's stderr
		go srv.Serve(cfg.Listener)
	}

	// The workers get a context of their own: the stop does not cancel
	// their steps at once, the grace period does. The intake (the probes
	// of an outage, and the workers' wait for its end) stops at once.
	workCtx, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(nil)
	intake, stopIntake := context.WithCancel(ctx)
	defer stopIntake()
	stopControl := d.startControl(intake)
	defer stopControl()
	var prober sync.WaitGroup
	prober.Go(func() { d.endpoint.run(intake, cfg.Metrics.noAnswer) })
	revisions := make(chan fetched)
	if cfg.Source != nil {
		d.pullFirst(intake)
		prober.Go(func() { d.pull(intake, revisions) })
	}
	d.resync(ctx, "start")
	// Find out at start whether the API can be used, work or none: the
	// endpoint in use is logged, and an outage shows at once. With no
	// manifest loaded (a first start whose source cannot be fetched) the
	// endpoint is not known yet: the first remote work finds it out, and
	// the API is not reported down for want of manifests.
	d.mu.Lock()
	loaded := d.set != nil
	d.mu.Unlock()
	if loaded {
		prober.Go(func() { d.endpoint.usable(intake) })
	}
	n := d.parallelism()
	d.mu.Lock()
	d.workers = n
	d.mu.Unlock()
	var workers sync.WaitGroup
	for range n {
		workers.Go(func() { d.work(intake, workCtx) })
	}
	d.log.Info("watching", "dir", cfg.Dir, "parallelism", n, "resync", cfg.Resync.String())

	tick := time.NewTicker(cfg.Resync)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-d.fatal:
			break loop
		case b, ok := <-w.Batches():
			if !ok {
				break loop
			}
			if b.Resync {
				d.resync(ctx, "events-lost")
			} else {
				d.changed(ctx, b.Paths)
			}
		case <-tick.C:
			d.resync(ctx, "periodic")
		case <-cfg.Hup:
			d.kickFetch()
			d.resync(ctx, "sighup")
		case f := <-revisions:
			d.revision(f)
			d.resync(ctx, "revision")
		case <-d.resyncSoon:
			d.resync(ctx, "state-retry")
		case req := <-d.ctl.requests:
			d.reconcileNow(ctx, req)
		}
	}

	// Stop: no more intake; the steps under way get the grace period.
	d.log.Info("stopping", "in_flight", d.q.InFlight(), "grace", cfg.Grace.String())
	stopIntake()
	w.Close()
	d.q.ShutDown()
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(cfg.Grace):
		d.log.Warn("grace period over: cancelling the steps under way; they resume at the next start")
		var cause error
		if err := d.endpoint.outage(); err != nil {
			// The steps wait for an API that cannot be reached: their
			// records keep that cause (see reconcile).
			cause = fmt.Errorf("stopped while the API could not be used: %w", err)
		}
		cancelWork(cause)
		<-done
	}
	prober.Wait()
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}
	if d.fatalErr != nil {
		d.log.Error("stopped: the state cannot record a transition", "error", d.fatalErr)
		return fmt.Errorf("the state cannot record a transition: %w", d.fatalErr)
	}
	d.log.Info("stopped")
	return nil
}

func (d *Daemon) parallelism() int {
	if d.cfg.Parallelism > 0 {
		return d.cfg.Parallelism
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.set != nil && d.set.Settings.Parallelism > 0 {
		return d.set.Settings.Parallelism
	}
	return DefaultParallelism
}

// load reads the manifests, keeping the last good ones when they do not
// load. It returns the manifests in force (nil if none ever loaded) and
// the previous ones.
func (d *Daemon) load() (now, before *spec.Set) {
	set, err := d.readManifests()
	d.mu.Lock()
	defer d.mu.Unlock()
	before = d.set
	if errors.Is(err, errNoRevision) {
		return d.set, before // nothing fetched yet: the source's outage says why
	}
	if err != nil {
		if d.loadErr == nil || d.loadErr.Error() != err.Error() {
			msg := "manifest does not load; the last good manifests stay in force"
			if d.set == nil && set == nil {
				msg = "manifest does not load; nothing is reconciled until the manifests load"
			}
			attrs := []any{}
			if d.cfg.Source != nil {
				attrs = append(attrs, "revision", d.src.head.m.Revision, "in_force", d.src.good)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				d.log.Error(msg, append([]any{"error", line}, attrs...)...)
			}
			d.manifestInvalid(err, d.src.head.m.Revision)
		}
		d.loadErr = err
		d.metrics.manifestsOK.Set(0)
		if set != nil { // the revision in force, read again
			d.set = set
		}
		return d.set, before
	}
	if d.loadErr != nil {
		d.log.Info("manifests load again")
	}
	d.warnRestart(set.Settings)
	d.loadErr = nil
	d.metrics.manifestsOK.Set(1)
	d.set = set
	d.notify.Set(set.Settings.Notifications)
	for a := range d.unplanned {
		if !slices.ContainsFunc(set.Reports, func(r spec.Report) bool { return r.Address == a }) {
			delete(d.unplanned, a) // no longer desired: nothing to plan
		}
	}
	return set, before
}

// watchDirs tells the watcher which directories matter for set: the
// manifest directory, every statement's directory (and every glob's), and
// the drop folders.
func (d *Daemon) watchDirs(set *spec.Set) {
	dirs := map[string]bool{}
	abs := func(p string) string {
		p = filepath.FromSlash(p)
		if !filepath.IsAbs(p) {
			p = filepath.Join(set.Dir, p)
		}
		a, _ := filepath.Abs(p)
		return a
	}
	root := abs(".")
	var ws []watch.Dir
	add := func(dir string, drop bool) {
		if dirs[dir] {
			return
		}
		dirs[dir] = true
		ws = append(ws, watch.Dir{Path: dir, Drop: drop})
	}
	for _, dr := range set.Drops {
		add(abs(dr.Dir), true)
	}
	add(root, false)
	for _, r := range set.Reports {
		if r.Address.Kind() == report.KindDrop {
			continue
		}
		for _, s := range r.Statements {
			add(filepath.Dir(abs(s)), false)
		}
	}
	if err := d.w.Set(ws); err != nil {
		d.log.Warn("watch", "error", err)
	}
}

// held returns whether a drop report's file is not complete yet. The
// file is found through set's index of addresses, not a map of its own:
// at 100,000 dropped files that map cost megabytes and a filepath.Abs
// each, on every load.
func (d *Daemon) held(set *spec.Set) func(addr report.Address) bool {
	now := time.Now()
	root, _ := filepath.Abs(set.Dir)
	return func(addr report.Address) bool {
		if addr.Kind() != report.KindDrop {
			return false
		}
		r, ok := set.Lookup(addr)
		if !ok || len(r.Statements) != 1 {
			return false
		}
		p := resolve(root, r.Statements[0])
		fi, err := os.Lstat(p)
		if err != nil {
			return false // gone: the plan says delete
		}
		if watch.Complete(fi, d.cfg.Quiet, now) {
			return false
		}
		d.mu.Lock()
		s, ok := d.settled[p]
		d.mu.Unlock()
		if ok && s.size == fi.Size() && s.mtime.Equal(fi.ModTime()) {
			return false
		}
		d.w.Track(p)
		return true
	}
}

func resolve(dir, p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return p
	}
	a, _ := filepath.Abs(filepath.Join(dir, p))
	return a
}

// resync plans every report and queues those with work, which it
// returns.
func (d *Daemon) resync(ctx context.Context, reason string) []report.Address {
	d.metrics.resyncs.WithLabelValues(reason).Inc()
	set, _ := d.load()
	if set == nil {
		d.watchManifestsOnly()
		return nil
	}
	d.watchDirs(set)
	if !d.refresh(ctx) {
		return nil
	}
	// Plan everything, then hold back the changes of dropped files that
	// are not complete yet: an unchanged report needs no look at its
	// file's completeness, so a resync of 100,000 unchanged files costs
	// the plan's stats and nothing more.
	hold := d.held(set)
	p, err := reconcile.NewPlan(set, d.cfg.Store, reconcile.Options{Endpoint: d.cfg.Endpoint})
	if err != nil {
		d.log.Error("plan", "error", err)
		return nil
	}
	p.Changes = slices.DeleteFunc(p.Changes, func(c reconcile.Change) bool { return c.Action != reconcile.Noop && hold(c.Address) })
	for _, w := range p.Warnings {
		d.log.Warn(w)
	}
	queued := d.enqueue(p, true)
	d.mu.Lock()
	d.src.planned = set.Revision // its work is queued: the revision is in force
	d.mu.Unlock()
	d.log.Info("resync", "reason", reason, "reports", len(p.Changes), "queued", len(queued))
	d.countPhases()
	d.mu.Lock()
	if d.initial == nil && !d.ready {
		d.initial = map[report.Address]bool{}
		for _, a := range queued {
			d.initial[a] = true
		}
	}
	d.mu.Unlock()
	d.checkReady()
	return queued
}

// watchManifestsOnly watches the working directory when no manifest has
// loaded yet, so that fixing one is noticed.
func (d *Daemon) watchManifestsOnly() {
	root, _ := filepath.Abs(d.cfg.Dir)
	if err := d.w.Set([]watch.Dir{{Path: root}}); err != nil {
		d.log.Warn("watch", "error", err)
	}
}

// changed handles a batch of changed paths.
func (d *Daemon) changed(ctx context.Context, paths []string) {
	root, _ := filepath.Abs(d.cfg.Dir)
	for _, p := range paths {
		if filepath.Dir(p) == root && spec.IsManifest(filepath.Base(p)) {
			d.resync(ctx, "manifest")
			return
		}
	}
	set, before := d.load()
	if set == nil {
		return
	}
	d.watchDirs(set)
	// Drop files the watcher reports are complete as they are now.
	d.mu.Lock()
	for _, p := range paths {
		if fi, err := os.Lstat(p); err == nil {
			d.settled[p] = fileStat{fi.Size(), fi.ModTime()}
		} else {
			delete(d.settled, p)
		}
	}
	d.mu.Unlock()
	targets := affected(set, before, paths)
	if len(targets) == 0 {
		return
	}
	hold := d.held(set)
	p, err := reconcile.NewPlan(set, d.cfg.Store, reconcile.Options{Targets: targets, Filter: func(a report.Address) bool { return !hold(a) }, Endpoint: d.cfg.Endpoint})
	if err != nil {
		d.log.Error("plan", "error", err)
		return
	}
	queued := d.enqueue(p, false)
	d.log.Info("files changed", "paths", len(paths), "affected", len(targets), "queued", len(queued))
}

// affected lists the addresses a batch of paths may change: reports that
// appeared, vanished or whose statements changed with the reload, and
// reports whose statements include a changed path.
func affected(now, before *spec.Set, paths []string) []report.Address {
	changed := map[string]bool{}
	for _, p := range paths {
		changed[p] = true
	}
	old := map[report.Address]spec.Report{}
	if before != nil {
		for _, r := range before.Reports {
			old[r.Address] = r
		}
	}
	var out []report.Address
	seen := map[report.Address]bool{}
	for _, r := range now.Reports {
		seen[r.Address] = true
		o, ok := old[r.Address]
		hit := !ok || !slices.Equal(o.Statements, r.Statements)
		for _, s := range r.Statements {
			if changed[resolve(now.Dir, s)] {
				hit = true
			}
		}
		if hit {
			out = append(out, r.Address)
		}
	}
	for a := range old {
		if !seen[a] {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// enqueue queues every report of p that has work, holding back deletions
// when there are too many of them.
func (d *Daemon) enqueue(p *reconcile.Plan, full bool) []report.Address {
	mde := p.MassDelete()
	d.mu.Lock()
	switch {
	case mde != nil:
		if d.holdErr == nil || d.holdErr.Error() != mde.Error() {
			d.log.Error("deletions held back", "error", mde, "hint", "check the manifests; run ledgerform apply --allow-mass-delete if this is meant")
		}
		d.holdErr = mde
	case full:
		// Only a plan of everything can say the hold is over.
		d.holdErr = nil
	}
	d.mu.Unlock()
	var queued []report.Address
	for _, c := range p.Changes {
		d.noteUnplanned(c)
		if !c.Action.Changes() && c.Action != reconcile.Error {
			continue
		}
		if c.Action == reconcile.Delete && mde != nil {
			continue
		}
		d.q.Add(string(c.Address))
		queued = append(queued, c.Address)
	}
	return queued
}

// work is one worker: it takes addresses from the queue until it shuts
// down, none while the API cannot be used, or until intake ends.
func (d *Daemon) work(intake, ctx context.Context) {
	for {
		if !d.endpoint.wait(intake) {
			return
		}
		key, ok := d.q.Get(ctx)
		if !ok {
			return
		}
		addr := report.Address(key)
		waiters := d.ctl.take(addr) // before the plan: they asked before it
		d.tell(waiters, d.reconcile(ctx, addr))
		d.q.Done(key)
		d.mu.Lock()
		delete(d.initial, addr)
		d.mu.Unlock()
		d.checkReady()
	}
}

// reconcile plans one address afresh, has the reconciler carry it out,
// acts on the verdict, and returns the outcome (for a reconcile now).
func (d *Daemon) reconcile(ctx context.Context, addr report.Address) reconcile.Outcome {
	key := string(addr)
	d.mu.Lock()
	set, holdErr := d.set, d.holdErr
	d.mu.Unlock()
	if set == nil {
		return reconcile.Outcome{Address: addr, Verdict: reconcile.VerdictTransient, Err: errors.New("no manifest has loaded")}
	}
	if d.held(set)(addr) {
		// The watcher reports it again once complete.
		return reconcile.Outcome{Address: addr, Verdict: reconcile.VerdictTransient, Err: errHeld}
	}
	// With a shared state, only under the report's lease, planned from
	// the record as the claim read it.
	lctx, release, err := d.claim(ctx, addr)
	if err != nil {
		return reconcile.Outcome{Address: addr, Verdict: reconcile.VerdictTransient, Err: err}
	}
	defer release()
	ctx = lctx
	p, err := reconcile.NewPlan(set, d.cfg.Store, reconcile.Options{Targets: []report.Address{addr}, Endpoint: d.cfg.Endpoint})
	if err != nil || len(p.Changes) == 0 {
		d.q.Forget(key)
		return reconcile.Outcome{Address: addr, Action: reconcile.Noop, Verdict: reconcile.VerdictDone}
	}
	c := p.Changes[0]
	if c.Action == reconcile.Delete && holdErr != nil {
		d.q.Forget(key) // held back with the others; a full resync queues it again
		return reconcile.Outcome{Address: addr, Action: c.Action, Verdict: reconcile.VerdictBlocked, Err: fmt.Errorf("deletions are held back: %w", holdErr)}
	}
	if c.Action.Remote() {
		if err := d.endpoint.usable(ctx); err != nil {
			// Not failed: it waits, queued, for the end of the outage.
			d.q.Add(key)
			return reconcile.Outcome{Address: addr, Action: c.Action, Verdict: reconcile.VerdictTransient, Err: fmt.Errorf("the API cannot be used: %w", err)}
		}
	}
	d.noteUnplanned(c)
	start := time.Now()
	o := d.rec.Reconcile(ctx, c)
	d.metrics.reconciles.WithLabelValues(string(c.Action), outcomeLabel(o)).Inc()
	d.metrics.duration.WithLabelValues(string(c.Action)).Observe(time.Since(start).Seconds())
	switch {
	case c.Action == reconcile.Error:
		// A statement missing or unreadable: trying again is pointless
		// until it changes, which the watcher sees (and a resync finds).
		d.q.Forget(key)
		return o
	case o.Verdict == reconcile.VerdictTransient && api.IsUnreachable(o.Err):
		d.endpoint.lost(o.Err) // the report is retried after the outage, with its backoff
	case d.lost(ctx, addr):
		return o
	case o.Verdict == reconcile.VerdictTransient && d.cfg.Leases != nil && errors.As(o.Err, new(*state.UnavailableError)):
		d.health.down(o.Err)
	}
	switch o.Verdict {
	case reconcile.VerdictDone, reconcile.VerdictBlocked:
		d.q.Forget(key)
	case reconcile.VerdictTransient:
		if o.RetryAfter > 0 { // the quota: minutes, whatever the backoff says
			d.q.AddAfter(key, o.RetryAfter)
			break
		}
		d.q.AddRateLimited(key)
	case reconcile.VerdictFatal:
		// No further remote call may be made: stop, and say why. The
		// report is in its last recorded phase, resumed at the next start.
		d.fatalOnce.Do(func() {
			d.fatalErr = o.Err
			close(d.fatal)
		})
	case reconcile.VerdictInterrupted:
		// Stopping: the record stays in its phase, resumed at the next start.
	}
	d.observe(c, o)
	return o
}

// noteUnplanned keeps, for /status, why a report cannot be planned (its
// statement is missing or unreadable), or forgets it once it can: the
// record does not say it, since a statement that comes back unchanged
// must find its report as it was.
func (d *Daemon) noteUnplanned(c reconcile.Change) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.Action == reconcile.Error {
		d.unplanned[c.Address] = c.Err
	} else {
		delete(d.unplanned, c.Address)
	}
}

// outcomeLabels are the outcome labels of ledgerform_reconcile_total.
var outcomeLabels = map[reconcile.Verdict]string{reconcile.VerdictDone: "success", reconcile.VerdictTransient: "requeue",
	reconcile.VerdictBlocked: "error", reconcile.VerdictInterrupted: "cancelled", reconcile.VerdictFatal: "error"}

// outcomeLabel is the outcome label of ledgerform_reconcile_total: a
// report found blocked already (nothing done) is "blocked", one that
// failed and became blocked "error".
func outcomeLabel(o reconcile.Outcome) string {
	if o.Verdict == reconcile.VerdictBlocked && o.Err == nil {
		return "blocked"
	}
	return outcomeLabels[o.Verdict]
}

// connect is the reconciler's Connect: the API for the settings in force,
// through Config.Connect. The reconciler serialises the calls; a failure
// is an outage of the API (endpoint), logged and probed there.
func (d *Daemon) connect(ctx context.Context) (reconcile.API, error) {
	d.mu.Lock()
	set := d.set
	d.mu.Unlock()
	if set == nil {
		return nil, errors.New("no manifest has loaded")
	}
	cl, err := d.cfg.Connect(ctx, set.Settings)
	if err != nil {
		return nil, err
	}
	s := set.Settings
	d.connected.Store(&s)
	return cl, nil
}

// connectForPages connects with the settings in force, for the page
// renderer's category trees: the workers' connection is theirs (and its
// outage handling with it).
func (d *Daemon) connectForPages(ctx context.Context) (reconcile.API, error) {
	d.mu.Lock()
	set := d.set
	d.mu.Unlock()
	if set == nil {
		return nil, errors.New("no manifest has loaded")
	}
	return d.cfg.Connect(ctx, set.Settings)
}

// warnRestart logs, once per value, a change of the settings that are
// read only at the start or at the first connection.
func (d *Daemon) warnRestart(now spec.Settings) {
	if conn := d.connected.Load(); conn != nil && !d.cfg.EndpointFixed && now.Endpoint != conn.Endpoint {
		if k := "endpoint=" + now.Endpoint; !d.warned[k] {
			d.warned[k] = true
			d.log.Warn("settings.endpoint changed; restart ledgerform watch to use it", "in_use", endpointName(conn.Endpoint), "manifests", endpointName(now.Endpoint))
		}
	}
	want := cmp.Or(now.Parallelism, DefaultParallelism)
	if d.workers > 0 && d.cfg.Parallelism == 0 && want != d.workers {
		if k := fmt.Sprint("parallelism=", want); !d.warned[k] {
			d.warned[k] = true
			d.log.Warn("settings.parallelism changed; restart ledgerform watch to use it", "in_use", d.workers, "manifests", want)
		}
	}
}

func endpointName(e string) string {
	if e == "" {
		return "embedded"
	}
	return e
}

func (d *Daemon) logEvent(e reconcile.Event) {
	attrs := []any{"address", e.Address.String(), "action", string(e.Action), "step", e.Step, "status", e.Status}
	if e.UploadID != "" {
		attrs = append(attrs, "upload_id", e.UploadID)
	}
	if e.ProcessID != "" {
		attrs = append(attrs, "process_id", e.ProcessID)
	}
	if e.Output != "" {
		attrs = append(attrs, "output", e.Output)
	}
	if e.Elapsed > 0 {
		attrs = append(attrs, "elapsed", e.Elapsed.String())
	}
	if e.Error != "" {
		attrs = append(attrs, "error", e.Error, "permanent", e.Permanent)
		d.log.Warn("step", attrs...)
		return
	}
	d.log.Info("step", attrs...)
}

// checkReady marks the daemon ready once the first full resync's work has
// all been taken once, and notes the time whenever nothing is left to do.
func (d *Daemon) checkReady() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.initial == nil || len(d.initial) > 0 || d.q.Len() > 0 || d.q.InFlight() > 0 {
		return
	}
	if !d.ready {
		d.log.Info("ready: the first full reconcile is done")
	}
	d.ready = true
	d.lastSync = time.Now()
	d.metrics.lastSuccess.Set(float64(d.lastSync.UnixMilli()) / 1000)
}

func (d *Daemon) countPhases() {
	counts := map[state.Phase]int{}
	st := d.cfg.Store
	for _, a := range st.Addresses() { // View: no copy of every record
		if r, ok := st.View(a); ok {
			counts[r.Phase]++
		}
	}
	for _, ph := range []state.Phase{state.Pending, state.Uploaded, state.Processing, state.Completed, state.Failed} {
		d.metrics.reports.WithLabelValues(string(ph)).Set(float64(counts[ph]))
	}
}
