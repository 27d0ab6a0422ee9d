package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/ledgerform/ledgerform/daemon"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
)

const whyUsage = `why ADDR

Explains, in plain words, the last decision about one report: what the
next apply (or a running watch) does with it and why, where the manifests
declare it (file:line:col), its recorded phase and attempts, its last
error with its class (transient: it may pass by itself, and is retried;
blocking: the API refused what the report asks, and only a change to its
statements or spec, or --replace, helps) and what would unblock it.

It plans that one address as plan does, offline: it reads the manifests
and the state without taking the state's lock, and makes no call to the
API. If a ledgerform watch answers on --addr (its --listen; asked for at
most a second), it adds what only the daemon knows: the report's queue
(queued, in backoff, in flight), its next retry and its conditions.
--addr "" asks no daemon.

With --git URL (and --path, --ref) the manifests are a git remote's, as
for plan --git; the record says which revision the report was last
applied from, and a daemon with a git source which revision is in force.`

func runWhy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("why", whyUsage)
	dir := fs.String("dir", ".", "the working `directory`: manifests, and the state in .ledgerform/")
	stURL := stateFlag(fs)
	addrFlag := fs.String("addr", defaultListen, "`address` of a running watch's /status (watch --listen); \"\": ask none")
	git := addGitFlags(fs, true)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return argError(fs, fmt.Errorf("want one ADDR; got %d argument(s)", len(pos)), "usage")
	}
	addr, err := report.Parse(pos[0])
	if err != nil {
		return usageError{fmt.Errorf("why: %w", err)}
	}
	if addr.Whole() {
		return usageError{fmt.Errorf("why: %s names every file of a drop; ask about one file, drop.%s[\"FILE\"]", addr, addr.Name())}
	}
	set, err := loadSet(ctx, "why", *dir, git)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *dir, *stURL, pgstore.ReadOnly, 0, 0, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := reconcile.CheckTargets(set, st, "why", []report.Address{addr}); err != nil {
		return usageError{err}
	}
	p, err := reconcile.NewPlan(set, st, reconcile.Options{Targets: []report.Address{addr}, Endpoint: (&connector{}).id(set.Settings)})
	if err != nil {
		return usageError{err}
	}
	if len(p.Changes) != 1 {
		return fmt.Errorf("why: %s: the plan has %d changes for it, want one", addr, len(p.Changes))
	}
	var live *daemon.Status
	var liveErr error
	if *addrFlag != "" {
		live, _, liveErr = fetchStatus(ctx, *addrFlag, time.Second)
	}
	var b strings.Builder
	explain(&b, set, p.Changes[0], *addrFlag, live, liveErr, time.Now())
	_, err = io.WriteString(stdout, b.String())
	return err
}

// decisions say what each action does, in words.
var decisions = map[reconcile.Action]string{
	reconcile.Create:    "create: it is not in the state; the next apply (or watch) uploads its statements, requests the operations, polls for the result and writes its output",
	reconcile.Replace:   "replace: it is done again from scratch (upload, process, poll, write)",
	reconcile.Reuse:     "reuse: another report of the same statements and spec has completed; its result is copied to this report's output, with no remote call (if that output is gone by then, the work is done as usual)",
	reconcile.Resume:    "resume: it was interrupted in flight; it goes on from its last recorded request id, uploading nothing again",
	reconcile.Retry:     "retry: its last attempt failed transiently; it goes on from its last recorded id (or starts again if its processing failed)",
	reconcile.Restore:   "restore: it completed, but its output is missing or was edited; the result is fetched again (one GET)",
	reconcile.Move:      "move: only its output path changed; the file is renamed, with no remote call",
	reconcile.Render:    "render: its output is up to date, but its HTML page is missing, out of date or no longer wanted; the page is written from the output (or removed), with no remote call",
	reconcile.Delete:    "delete: it is no longer in the manifests; its record is forgotten",
	reconcile.Blocked:   "blocked: nothing is done until its statements or spec change, or it is replaced by force",
	reconcile.Error:     "error: it cannot be planned; nothing is done to it, its record is kept",
	reconcile.Noop:      "up to date: nothing to do",
	reconcile.Suspended: "suspended: its manifest says suspend: true; nothing is uploaded, retried or pruned for it until that is removed",
}

// explain writes why's text for c.
func explain(b *strings.Builder, set *spec.Set, c reconcile.Change, daemonAddr string, live *daemon.Status, liveErr error, now time.Time) {
	fmt.Fprintf(b, "%s\n", c.Address)
	if r, ok := set.Lookup(c.Address); ok {
		pos := r.Pos
		if rel, err := filepath.Rel(set.Dir, pos.File); err == nil && !strings.HasPrefix(rel, "..") {
			pos.File = filepath.ToSlash(rel)
		}
		fmt.Fprintf(b, "  declared at %s\n", pos)
	} else {
		fmt.Fprintf(b, "  not in the manifests: only the state has it\n")
	}
	fmt.Fprintf(b, "  decision: %s\n", cmp.Or(decisions[c.Action], string(c.Action)))
	if c.Action == reconcile.Delete && c.Prune {
		fmt.Fprintf(b, "    and its output is removed (prune is on, and it is the file ledgerform wrote)\n")
	}
	for _, r := range c.Reasons {
		fmt.Fprintf(b, "    # %s\n", r)
	}
	if c.Err != nil {
		fmt.Fprintf(b, "    # %s\n", c.Err)
	}
	rec := c.Record
	if rec == nil {
		fmt.Fprintf(b, "  recorded: not yet\n")
	} else {
		fmt.Fprintf(b, "  recorded: phase %s, %s, digest %.12s\n", rec.Phase, plural(rec.Attempts, "attempt"), rec.Digest)
		if rec.Phase == state.Completed && rec.Output != nil {
			fmt.Fprintf(b, "  output: %s\n", rec.Output.Path)
		}
		if rec.Revision != "" {
			fmt.Fprintf(b, "  applied from revision %s\n", rec.Revision)
		}
		if rec.ReusedFrom != "" {
			fmt.Fprintf(b, "  result: copied from %s's output, with no remote call (its processing request %s at %s)\n",
				rec.ReusedFrom, rec.ProcessID, cmp.Or(rec.Endpoint, "an endpoint not recorded"))
		}
		if e := rec.LastError; e != nil {
			writeFailure(b, c.Address, e)
		}
	}
	writeLive(b, c.Address, daemonAddr, live, liveErr, now)
}

// writeFailure writes a last error, its class and what would help.
func writeFailure(b *strings.Builder, addr report.Address, e *state.Failure) {
	fmt.Fprintf(b, "  last error:")
	if e.Code != "" {
		fmt.Fprintf(b, " %s", e.Code)
	}
	if e.Step != "" {
		fmt.Fprintf(b, " at step %s", e.Step)
	}
	fmt.Fprintf(b, ": %s\n", e.Message)
	if e.Permanent {
		fmt.Fprintf(b, "    class: blocking: the API refused what the report asks; trying again cannot help\n")
		fmt.Fprintf(b, "    to unblock it: fix its statements (or its operations, country or params) in the manifests; or run \"ledgerform apply --replace %s\" once what it asks can work\n", addr)
		return
	}
	fmt.Fprintf(b, "    class: transient: it may pass by itself, and is retried\n")
	fmt.Fprintf(b, "    what helps: %s\n", transientHint(e))
}

// transientHint says what helps a transient failure.
func transientHint(e *state.Failure) string {
	switch {
	case e.Code == reconcile.CodeConnect:
		return "check --endpoint or settings.endpoint, and NORDIGEN_CLIENT_ID and NORDIGEN_CLIENT_SECRET; then it goes on"
	case e.Code == reconcile.CodeStatement:
		return "put the statement file back, or make it readable"
	case e.Code == reconcile.CodeOutput:
		return "make its output path writable"
	case e.Code == reconcile.CodePollDeadline:
		return "nothing: the API was slow; the next attempt polls the same request again"
	}
	return "nothing in the manifests: watch retries it after a backoff (1s doubling to 5m), apply at its next run"
}

// writeLive writes what a running daemon says of addr.
func writeLive(b *strings.Builder, addr report.Address, daemonAddr string, live *daemon.Status, liveErr error, now time.Time) {
	switch {
	case daemonAddr == "":
		fmt.Fprintf(b, "  daemon: not asked (--addr \"\")\n")
		return
	case liveErr != nil:
		fmt.Fprintf(b, "  daemon: none answers at %s, so its next retry and conditions are unknown\n", daemonAddr)
		return
	}
	var rs *daemon.ReportStatus
	for i := range live.Reports {
		if live.Reports[i].Address == string(addr) {
			rs = &live.Reports[i]
		}
	}
	if rs == nil {
		fmt.Fprintf(b, "  daemon at %s: it does not show this report\n", daemonAddr)
		return
	}
	work := rs.Work
	if work == "" {
		work = "not queued"
	}
	fmt.Fprintf(b, "  daemon at %s: %s", daemonAddr, work)
	if rs.NextRetry != nil {
		fmt.Fprintf(b, "; next retry %s (%s)", nextRetry(rs.NextRetry, now), rs.NextRetry.Local().Format(time.DateTime))
	}
	fmt.Fprintln(b)
	if src := live.Source; src != nil {
		fmt.Fprintf(b, "    source: revision %s in force", cmp.Or(src.Revision, "(none yet)"))
		if src.Invalid != "" {
			fmt.Fprintf(b, "; %s does not load", src.Invalid)
		}
		if !src.Reachable {
			fmt.Fprintf(b, "; the remote cannot be fetched: %s", clipLine(src.Error, 200))
		}
		fmt.Fprintln(b)
	}
	for _, c := range rs.Conditions {
		fmt.Fprintf(b, "    %s: %s (%s)", c.Type, c.Status, c.Reason)
		if c.Message != "" {
			fmt.Fprintf(b, ": %s", clipLine(c.Message, 200))
		}
		fmt.Fprintln(b)
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
