package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
)

// ControlSocket is the name of the control socket in the state directory.
const ControlSocket = "control.sock"

// ControlPath returns the path of the control socket of the working
// directory dir.
func ControlPath(dir string) string { return filepath.Join(dir, spec.StateDir, ControlSocket) }

// ReconcileRequest is the body of POST /reconcile, the control socket's
// one request so far.
//
// A running daemon takes control requests on a unix socket in the state
// directory, ControlPath(dir), mode 0600 in a 0700 directory: only its
// owner can ask anything of it, and nothing of it is on the network
// listener. The protocol is HTTP/1.1 over that socket; one request so far:
//
//	POST /reconcile
//	{"addresses": ["report.a", "drop.inbox"], "all": false, "wait": true}
//
// reconciles the addresses (drop.NAME: every file of the drop, desired or
// recorded) at once: each is planned afresh and carried out by a worker,
// ahead of every report the queue holds, and out of its backoff. With
// "all", instead of addresses, the manifests are reloaded and every report
// a full resync would queue is reconciled so. A report being worked on is
// not worked on twice at once: it is reconciled again once that work ends.
//
// The answer is 400 with {"error": ..., "hint": ...} for a request that
// does nothing (an address in neither the manifests nor the state, with
// the address probably meant; no address and no "all"; both), before
// anything is queued; 503 while the daemon stops. Otherwise it is 200 and
// a stream of JSON lines (ndjson): first {"accepted": [addresses]}, then,
// with "wait", one ReconcileOutcome per address as each is done, in the
// order they end. During an outage of the API the addresses are queued
// first in line, and their outcomes come at once: transient, with the
// outage as the error. If the daemon stops first, the addresses not done
// yet come as interrupted.
type ReconcileRequest struct {
	Addresses []string `json:"addresses,omitempty"`
	All       bool     `json:"all,omitempty"`  // every report a full resync would queue
	Wait      bool     `json:"wait,omitempty"` // answer each address's outcome
}

// ReconcileAccepted is the first line of the answer to POST /reconcile:
// the addresses that are reconciled, sorted.
type ReconcileAccepted struct {
	Accepted []string `json:"accepted"`
}

// ReconcileOutcome is how reconciling one address ended.
type ReconcileOutcome struct {
	Address string `json:"address"`
	Action  string `json:"action,omitempty"` // the planned action (reconcile.Action); "suspended": nothing done
	// Verdict is reconcile.Verdict's name: done, transient (retried with
	// backoff), blocked (until the statements or spec change),
	// interrupted, or fatal (the daemon stops).
	Verdict string `json:"verdict"`
	Error   string `json:"error,omitempty"`
}

// ControlError is the body of a control request's error answer.
type ControlError struct {
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

// ListenControl creates the control socket of the working directory dir,
// whose state directory exists and whose lock the caller holds: a socket
// found there is then a stale one, left by a daemon that was killed, and
// it is removed, unless something answers on it after all. Anything else
// at that path is an error. Closing the listener removes the socket.
func ListenControl(dir string) (net.Listener, error) {
	path := ControlPath(dir)
	switch fi, err := os.Lstat(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("%s is in the way of the control socket: it is not a socket", path)
	default:
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another daemon answers on %s", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove the stale control socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	// The directory is 0700, so nobody else could reach the socket
	// before this; the mode says it again, whatever the umask.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// control is the daemon's side of reconcile now: the requests the loop
// takes, and who waits for which address.
type control struct {
	requests chan *nowRequest // nil without a control socket

	// mu is held while a request's waiters are registered, and by a
	// worker taking an address's waiters before it plans it: a waiter
	// gets the outcome of a plan made after it asked.
	mu      sync.Mutex
	waiting map[report.Address][]chan<- ReconcileOutcome
}

// nowRequest is a POST /reconcile handed to the loop.
type nowRequest struct {
	addrs []report.Address
	all   bool
	wait  bool
	reply chan nowReply // buffered: the loop never blocks on it
}

type nowReply struct {
	err, hint string
	addrs     []report.Address
	outcomes  chan ReconcileOutcome // nil without wait
	outage    error                 // the API cannot be used: the outcomes are this
}

// startControl serves the control socket, if there is one, until ctx
// ends (the stop of the intake), and returns what stops the server.
func (d *Daemon) startControl(ctx context.Context) (stop func()) {
	if d.cfg.Control == nil {
		return func() {}
	}
	d.ctl.requests = make(chan *nowRequest)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reconcile", d.serveReconcile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }, // a stop ends the waits
		ErrorLog:    slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}
	var serving sync.WaitGroup
	serving.Go(func() {
		if err := srv.Serve(d.cfg.Control); !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("the control socket stopped serving", "error", err)
		}
	})
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		serving.Wait()
	}
}

func controlError(w http.ResponseWriter, code int, err, hint string) {
	writeJSON(w, code, ControlError{Error: err, Hint: hint})
}

func (d *Daemon) serveReconcile(w http.ResponseWriter, r *http.Request) {
	var body ReconcileRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		controlError(w, http.StatusBadRequest, "reconcile: bad request: "+err.Error(), "")
		return
	}
	req := &nowRequest{all: body.All, wait: body.Wait, reply: make(chan nowReply, 1)}
	for _, s := range body.Addresses {
		a, err := report.Parse(s)
		if err != nil {
			controlError(w, http.StatusBadRequest, "reconcile: "+err.Error(), "")
			return
		}
		if !slices.Contains(req.addrs, a) {
			req.addrs = append(req.addrs, a)
		}
	}
	switch {
	case req.all && len(req.addrs) > 0:
		controlError(w, http.StatusBadRequest, "reconcile: addresses and all together", "give addresses, or all for every report a resync would queue")
		return
	case !req.all && len(req.addrs) == 0:
		controlError(w, http.StatusBadRequest, "reconcile: no address", "give addresses, or all for every report a resync would queue")
		return
	}
	ctx := r.Context()
	stopping := func() { controlError(w, http.StatusServiceUnavailable, "the daemon is stopping", "") }
	select {
	case d.ctl.requests <- req:
	case <-ctx.Done():
		stopping()
		return
	}
	var rep nowReply
	select {
	case rep = <-req.reply:
	case <-ctx.Done():
		stopping()
		return
	}
	if rep.err != "" {
		controlError(w, http.StatusBadRequest, rep.err, rep.hint)
		return
	}
	defer d.ctl.forget(rep.outcomes)

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	acc := ReconcileAccepted{Accepted: []string{}}
	for _, a := range rep.addrs {
		acc.Accepted = append(acc.Accepted, a.String())
	}
	enc.Encode(acc)
	flush()
	if !req.wait {
		return
	}
	if rep.outage != nil {
		for _, a := range rep.addrs {
			enc.Encode(ReconcileOutcome{Address: a.String(), Verdict: reconcile.VerdictTransient.String(),
				Error: fmt.Sprintf("the API cannot be used: %v; queued first, for when it answers", rep.outage)})
		}
		return
	}
	left := map[string]bool{}
	for _, a := range rep.addrs {
		left[a.String()] = true
	}
	for len(left) > 0 {
		select {
		case o := <-rep.outcomes:
			if !left[o.Address] {
				continue
			}
			delete(left, o.Address)
			enc.Encode(o)
			flush()
		case <-ctx.Done():
			for _, a := range slices.Sorted(maps.Keys(left)) {
				enc.Encode(ReconcileOutcome{Address: a, Verdict: reconcile.VerdictInterrupted.String(), Error: "the daemon is stopping"})
			}
			return
		}
	}
}

// reconcileNow takes a control request in the loop, which owns the
// desired state: it reloads the manifests, checks the addresses, and puts
// them first in the queue, their waiters registered before.
func (d *Daemon) reconcileNow(ctx context.Context, req *nowRequest) {
	d.ctl.mu.Lock()
	defer d.ctl.mu.Unlock()
	var addrs []report.Address
	if req.all {
		addrs = d.resync(ctx, "reconcile")
	} else if set, _ := d.load(); set != nil {
		d.watchDirs(set)
		if err := reconcile.CheckTargets(set, d.cfg.Store, "reconcile", req.addrs); err != nil {
			req.reply <- nowReply{err: err.Error(), hint: "give addresses as ledgerform plan and ledgerform state list show them"}
			return
		}
		addrs = selected(set, d.cfg.Store, req.addrs)
	}
	d.mu.Lock()
	loaded := d.set != nil
	d.mu.Unlock()
	if !loaded {
		req.reply <- nowReply{err: "no manifest has loaded: nothing can be reconciled", hint: "fix the manifests; ledgerform validate lists their problems"}
		return
	}
	rep := nowReply{addrs: addrs, outage: d.endpoint.outage()}
	if req.wait && rep.outage == nil {
		rep.outcomes = make(chan ReconcileOutcome, len(addrs))
		if d.ctl.waiting == nil {
			d.ctl.waiting = map[report.Address][]chan<- ReconcileOutcome{}
		}
		for _, a := range addrs {
			d.ctl.waiting[a] = append(d.ctl.waiting[a], rep.outcomes)
		}
	}
	for _, a := range addrs {
		d.q.AddNow(string(a))
	}
	d.log.Info("reconcile now", "addresses", len(addrs), "all", req.all)
	req.reply <- rep
}

// selected expands targets into the addresses they select, sorted: an
// exact address is itself, drop.NAME every file of the drop that is
// desired or recorded.
func selected(set *spec.Set, st reconcile.Store, targets []report.Address) []report.Address {
	var out []report.Address
	var recorded []report.Address
	for _, t := range targets {
		if !t.Whole() {
			out = append(out, t)
			continue
		}
		for _, r := range set.Reports {
			if t.Selects(r.Address) {
				out = append(out, r.Address)
			}
		}
		if recorded == nil {
			recorded = st.Addresses()
		}
		for _, a := range recorded {
			if t.Selects(a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// take returns, and forgets, who waits for the outcome of addr: a worker
// calls it before it plans addr.
func (c *control) take(addr report.Address) []chan<- ReconcileOutcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.waiting[addr]
	delete(c.waiting, addr)
	return ws
}

// forget removes ch from every address it waits for (its request ended).
func (c *control) forget(ch chan ReconcileOutcome) {
	if ch == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for a, ws := range c.waiting {
		ws = slices.DeleteFunc(ws, func(w chan<- ReconcileOutcome) bool { return w == ch })
		if len(ws) == 0 {
			delete(c.waiting, a)
		} else {
			c.waiting[a] = ws
		}
	}
}

// tell sends o to the waiters ws took. A blocked report that was found
// blocked (nothing done, no error) gets its record's failure as the
// error, so that whoever asked sees why.
func (d *Daemon) tell(ws []chan<- ReconcileOutcome, o reconcile.Outcome) {
	if len(ws) == 0 {
		return
	}
	out := ReconcileOutcome{Address: o.Address.String(), Action: string(o.Action), Verdict: o.Verdict.String()}
	switch {
	case o.Err != nil:
		out.Error = o.Err.Error()
	case o.Verdict == reconcile.VerdictBlocked:
		if r, ok := d.cfg.Store.Get(o.Address); ok && r.LastError != nil {
			out.Error = r.LastError.Message
			if r.LastError.Code != "" && !strings.Contains(out.Error, r.LastError.Code) {
				out.Error = r.LastError.Code + ": " + out.Error
			}
		}
	}
	for _, w := range ws {
		select {
		case w <- out: // buffered for every address of its request
		default:
		}
	}
}

// errHeld is the outcome of a dropped file that is not complete yet.
var errHeld = errors.New("the dropped file is not complete yet; it is taken once it is")
