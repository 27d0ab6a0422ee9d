// Package progress renders the steps of an apply: one JSON object per
// line (--json), one logfmt line per step (logs, pipes), or a live view in
// a terminal. Each renderer is fed events one at a time by the Applier.
package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerform/ledgerform/reconcile"
)

// Renderer shows apply events and the final summary.
type Renderer interface {
	Event(reconcile.Event)
	Summary(*reconcile.Result)
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// counts are what an apply did, each outcome counted once: per action
// done, the failures (transient: the next run tries again), the reports
// blocked (found blocked, or refused for good in this run) and, when it
// was stopped, the changes cut short and those never started.
type counts struct {
	done                                     map[reconcile.Action]int
	failed, blocked, interrupted, notStarted int
}

func summary(r *reconcile.Result) counts {
	c := counts{done: make(map[reconcile.Action]int)}
	for _, o := range r.Outcomes {
		switch {
		case o.Verdict == reconcile.VerdictInterrupted && !o.Started:
			c.notStarted++
		case o.Verdict == reconcile.VerdictInterrupted:
			c.interrupted++
		case o.Verdict == reconcile.VerdictBlocked:
			c.blocked++
		case o.Err != nil:
			c.failed++
		default:
			c.done[o.Action]++
		}
	}
	return c
}

var pastTense = map[reconcile.Action]string{
	reconcile.Create: "created", reconcile.Replace: "replaced", reconcile.Resume: "resumed",
	reconcile.Retry: "retried", reconcile.Restore: "restored", reconcile.Move: "moved",
	reconcile.Delete: "deleted", reconcile.Blocked: "blocked", reconcile.Noop: "up to date",
}

// SummaryLine is the human summary of an apply.
func SummaryLine(r *reconcile.Result) string {
	c := summary(r)
	var parts []string
	for _, a := range reconcile.Actions {
		if n := c.done[a]; n > 0 && a != reconcile.Error {
			parts = append(parts, fmt.Sprintf("%d %s", n, pastTense[a]))
		}
	}
	parts = append(parts, fmt.Sprintf("%d failed", c.failed))
	if c.blocked > 0 {
		parts = append(parts, fmt.Sprintf("%d blocked", c.blocked))
	}
	if c.interrupted+c.notStarted > 0 {
		parts = append(parts, fmt.Sprintf("%d interrupted", c.interrupted), fmt.Sprintf("%d not started", c.notStarted))
		return "Apply stopped: " + strings.Join(parts, ", ") + "."
	}
	return "Apply complete: " + strings.Join(parts, ", ") + "."
}

// JSON writes one JSON object per event and a summary object.
type JSON struct{ W io.Writer }

// Event implements Renderer.
func (j JSON) Event(e reconcile.Event) {
	b, _ := json.Marshal(e)
	j.W.Write(append(b, '\n'))
}

// Summary implements Renderer.
func (j JSON) Summary(r *reconcile.Result) {
	c := summary(r)
	done := make(map[reconcile.Action]int, len(c.done))
	for _, a := range reconcile.Actions {
		if a != reconcile.Blocked && a != reconcile.Error { // counted as blocked or failed
			done[a] = c.done[a]
		}
	}
	b, _ := json.Marshal(struct {
		Summary     map[reconcile.Action]int `json:"summary"`
		Failed      int                      `json:"failed"`
		Blocked     int                      `json:"blocked"`
		Interrupted int                      `json:"interrupted,omitempty"`
		NotStarted  int                      `json:"not_started,omitempty"`
	}{done, c.failed, c.blocked, c.interrupted, c.notStarted})
	j.W.Write(append(b, '\n'))
}

// Lines writes one logfmt line per step, for logs and pipes.
type Lines struct{ W io.Writer }

// Event implements Renderer.
func (l Lines) Event(e reconcile.Event) {
	var b strings.Builder
	kv := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if strings.ContainsAny(v, " \"=\t\n") || !strconv.CanBackquote(v) {
			v = strconv.Quote(v)
		}
		b.WriteString(k + "=" + v)
	}
	kv("time", e.Time.UTC().Format(time.RFC3339Nano))
	kv("address", e.Address.String())
	kv("action", string(e.Action))
	kv("step", e.Step)
	kv("status", e.Status)
	kv("upload_id", e.UploadID)
	kv("process_id", e.ProcessID)
	kv("output", e.Output)
	if e.Elapsed > 0 {
		kv("elapsed", e.Elapsed.Round(time.Millisecond).String())
	}
	kv("error", e.Error)
	if e.Permanent {
		kv("permanent", "true")
	}
	fmt.Fprintln(l.W, b.String())
}

// Summary implements Renderer.
func (l Lines) Summary(r *reconcile.Result) { fmt.Fprintln(l.W, SummaryLine(r)) }

// TTY is a live view for a terminal: a line per report in flight, showing
// its current step, redrawn on every event; a report that ends leaves one
// line above the live block.
type TTY struct {
	W      io.Writer
	active []row
	drawn  int // lines of the live block on screen
}

type row struct {
	address string
	action  reconcile.Action
	step    string
	start   time.Time
}

var doing = map[string]string{
	"start": "starting", "upload": "uploaded, requesting the operations",
	"process": "processing, polling for the result", "poll": "result ready, writing the output",
	"restart": "starting again from a new upload", "write": "output written",
}

// Event implements Renderer.
func (t *TTY) Event(e reconcile.Event) {
	var out strings.Builder
	if t.drawn > 0 {
		fmt.Fprintf(&out, "\x1b[%dA\x1b[J", t.drawn)
	}
	i := slices.IndexFunc(t.active, func(r row) bool { return r.address == e.Address.String() })
	switch {
	case e.Step == "done":
		if i >= 0 {
			t.active = slices.Delete(t.active, i, i+1)
		}
		if e.Status == "ok" {
			fmt.Fprintf(&out, "  ✓ %s %s (%s)\n", e.Address, pastTense[e.Action], e.Elapsed.Round(10*time.Millisecond))
		} else {
			fmt.Fprintf(&out, "  ✗ %s failed: %s\n", e.Address, e.Error)
		}
	case i < 0:
		t.active = append(t.active, row{address: e.Address.String(), action: e.Action, step: e.Step, start: e.Time})
	default:
		t.active[i].step = e.Step
		if e.Status == "restart" {
			t.active[i].step = "restart"
		}
	}
	for _, r := range t.active {
		fmt.Fprintf(&out, "    %s (%s): %s… %s\n", r.address, r.action, doing[r.step], e.Time.Sub(r.start).Round(100*time.Millisecond))
	}
	t.drawn = len(t.active)
	io.WriteString(t.W, out.String())
}

// Summary implements Renderer.
func (t *TTY) Summary(r *reconcile.Result) { fmt.Fprintln(t.W, SummaryLine(r)) }
