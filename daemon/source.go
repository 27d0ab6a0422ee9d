package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/ledgerform/ledgerform/internal/backoff"
	"github.com/ledgerform/ledgerform/notify"
	"github.com/ledgerform/ledgerform/spec"
)

// The manifests from a git remote (watch --git):
//
// Config.Source gives the manifests instead of the working directory,
// which stays the data directory: statements, drop folders and outputs
// resolve against it. One goroutine (pull) fetches the source at the
// start, every Config.SourceInterval, on SIGHUP and on a push webhook
// (POST /hooks/git, githook.go), and hands each new revision to the loop,
// which reloads and plans everything, as after an edited manifest. The
// loop stays as it is: a revision is one more kind of intake.
//
// A revision is put in force only when all its manifests load; until
// then the last good one stays in force (read again at every plan, so
// that its drop folders keep working), and the revision, its errors
// (positions "<commit>:<path>/<file>:line:col") and the revision in force
// show on /status (source, manifests.errors, the ManifestsValid
// condition) and go out as a manifest-invalid event. Each report's
// record keeps the revision it was last applied from.
//
// A remote that cannot be fetched is an outage of the source: logged once
// at WARN, the SourceReachable condition False, an outage event, and
// fetched again with backoff (1 s doubling, up to the interval); the
// revision in force goes on being reconciled meanwhile. At the start, a
// remote that cannot be reached leaves the revision the last fetch
// brought (Source.Cached) in force. /readyz does not depend on the
// source: the daemon works on the last good revision.

// A Source gives the daemon its manifests from outside the working
// directory: package gitsource's Source.
type Source interface {
	// Latest brings the source up to date and returns its newest
	// revision's manifests. keep is the revision in force, whose checkout
	// must stay. A revision fetched whose manifests cannot be checked out
	// comes back with Revision set and an error: a bad revision, not an
	// outage; an error without a Revision is an outage.
	Latest(ctx context.Context, keep string) (spec.Manifests, error)
	// Cached returns the revision the last fetch brought, without the
	// network.
	Cached(ctx context.Context) (spec.Manifests, error)
}

// SourceInfo is what /status shows of the source's configuration, with
// no credential in it.
type SourceInfo struct {
	URL    string `json:"url"`
	Branch string `json:"branch,omitempty"` // "" the remote's HEAD
	Path   string `json:"path,omitempty"`
}

// DefaultSourceInterval is how often the source is fetched.
const DefaultSourceInterval = time.Minute

// fetched is one revision handed from pull to the loop.
type fetched struct {
	m   spec.Manifests
	err error // why its manifests cannot be checked out
}

// sourceState is the daemon's view of the source (under Daemon.mu).
type sourceState struct {
	head      fetched // the newest revision fetched
	good      string  // the revision of the manifests in force (the last that loaded)
	goodM     spec.Manifests
	planned   string    // the revision of the last full plan queued: /status's revision
	lastFetch time.Time // the last fetch that reached the remote
	err       error     // why the remote cannot be fetched; nil while it can
	since     time.Time // when that began
	cached    bool      // head came from the cache, the remote unreachable at the start
}

// SourceStatus is /status's source.
type SourceStatus struct {
	SourceInfo
	// Revision is the revision of the manifests in force; Fetched the
	// newest revision fetched, which differs while it does not load.
	Revision  string     `json:"revision,omitempty"`
	Fetched   string     `json:"fetched,omitempty"`
	LastFetch *time.Time `json:"last_fetch,omitempty"`
	Reachable bool       `json:"reachable"`
	Error     string     `json:"error,omitempty"` // the outage's cause
	Since     *time.Time `json:"since,omitempty"`
	// Invalid is the revision fetched that does not load, if it does not
	// (its errors are manifests.errors).
	Invalid string `json:"invalid_revision,omitempty"`
}

func (d *Daemon) sourceStatus() *SourceStatus {
	if d.cfg.Source == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &d.src
	st := &SourceStatus{SourceInfo: d.cfg.SourceInfo, Revision: s.planned, Fetched: s.head.m.Revision, Reachable: s.err == nil}
	if !s.lastFetch.IsZero() {
		t := s.lastFetch.UTC()
		st.LastFetch = &t
	}
	if s.err != nil {
		st.Error = s.err.Error()
		t := s.since.UTC()
		st.Since = &t
	}
	if d.loadErr != nil && s.head.m.Revision != s.good {
		st.Invalid = s.head.m.Revision
	}
	return st
}

// errNoRevision is readManifests's error before the source was ever
// fetched: an outage of the source (shown as such), not a manifest that
// does not load.
var errNoRevision = errors.New("no revision of the source has been fetched yet")

// readManifests reads the manifests: from the working directory, or the
// newest revision of the source. When the newest revision does not load,
// the revision in force is read again (its drop folders may have new
// files) and comes back with the newest one's error.
func (d *Daemon) readManifests() (*spec.Set, error) {
	if d.cfg.Source == nil {
		return spec.Load(d.cfg.Dir)
	}
	d.mu.Lock()
	head, good := d.src.head, d.src.goodM
	d.mu.Unlock()
	var set *spec.Set
	err := head.err
	switch {
	case head.m.Revision == "" && err == nil:
		return nil, errNoRevision
	case err == nil:
		set, err = spec.LoadFrom(d.cfg.Dir, head.m)
	}
	if err == nil {
		d.mu.Lock()
		d.src.good, d.src.goodM = head.m.Revision, head.m
		d.mu.Unlock()
		return set, nil
	}
	if good.Dir != "" {
		if s, gerr := spec.LoadFrom(d.cfg.Dir, good); gerr == nil {
			return s, err
		}
	}
	return nil, err
}

// revision puts the newest revision fetched in place, for the next load.
func (d *Daemon) revision(f fetched) {
	d.mu.Lock()
	d.src.head = f
	d.mu.Unlock()
}

// pullFirst fetches the source once, at the start, before the first
// resync; an unreachable remote leaves the revision of the last fetch.
func (d *Daemon) pullFirst(ctx context.Context) {
	m, err := d.cfg.Source.Latest(ctx, "")
	if err != nil && m.Revision == "" {
		d.sourceLost(err)
		if c, cerr := d.cfg.Source.Cached(ctx); cerr == nil || c.Revision != "" {
			d.log.Warn("the source cannot be fetched; the revision the last fetch brought is in force", "revision", c.Revision)
			d.mu.Lock()
			d.src.cached = true
			d.mu.Unlock()
			d.revision(fetched{c, cerr})
		}
		return
	}
	d.sourceOK()
	d.revision(fetched{m, err})
}

// pull fetches the source every interval, or at once when kicked (SIGHUP,
// the webhook), with backoff while it cannot be reached, and hands each
// new revision to the loop. It returns when ctx is done.
func (d *Daemon) pull(ctx context.Context, out chan<- fetched) {
	interval := d.cfg.SourceInterval
	d.mu.Lock()
	last := d.src.head.m.Revision
	if d.src.cached {
		last = "" // the cached revision is handed over again once fetched
	}
	d.mu.Unlock()
	fails := 0
	wait := interval
	if d.sourceErr() != nil {
		wait, fails = backoff.Jitter(probeMin), 1
	}
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-d.kick:
			t.Stop()
		}
		d.mu.Lock()
		keep := d.src.good
		d.mu.Unlock()
		m, err := d.cfg.Source.Latest(ctx, keep)
		if ctx.Err() != nil {
			return
		}
		if err != nil && m.Revision == "" {
			d.sourceLost(err)
			wait = backoff.Jitter(backoff.Exponential(probeMin, max(interval, probeMin), fails))
			fails++
			continue
		}
		d.sourceOK()
		wait, fails = interval, 0
		if m.Revision == last {
			continue
		}
		last = m.Revision
		select {
		case out <- fetched{m, err}:
		case <-ctx.Done():
			return
		}
	}
}

// kickFetch has pull fetch at once (a push webhook, SIGHUP); kicks while
// one is pending are one fetch.
func (d *Daemon) kickFetch() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *Daemon) sourceErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.src.err
}

// sourceLost notes a fetch that failed: the first of an outage is logged
// and told.
func (d *Daemon) sourceLost(err error) {
	d.mu.Lock()
	first := d.src.err == nil
	d.src.err = err
	if first {
		d.src.since = time.Now()
	}
	d.mu.Unlock()
	d.metrics.sourceFetches.WithLabelValues("error").Inc()
	if first {
		d.log.Warn("the source cannot be fetched; the revision in force goes on being reconciled", "source", d.cfg.SourceInfo.URL, "error", err.Error())
		d.notify.Send(notify.Event{Event: notify.Outage, Reason: "SourceUnreachable", Message: "git " + d.cfg.SourceInfo.URL + ": " + err.Error()})
	}
}

// sourceOK notes a fetch that reached the remote, and the end of an
// outage.
func (d *Daemon) sourceOK() {
	d.mu.Lock()
	was := d.src.err
	d.src.err, d.src.lastFetch, d.src.cached = nil, time.Now(), false
	d.mu.Unlock()
	d.metrics.sourceFetches.WithLabelValues("ok").Inc()
	if was != nil {
		d.log.Info("the source can be fetched again", "source", d.cfg.SourceInfo.URL)
		d.notify.Send(notify.Event{Event: notify.OutageOver, Reason: "SourceReachable", Message: "git " + d.cfg.SourceInfo.URL + " can be fetched again"})
	}
}
