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

	"golang.org/x/sys/unix"

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
	reconcile.Create: "created", reconcile.Replace: "replaced", reconcile.Reuse: "reused", reconcile.Resume: "resumed",
	reconcile.Retry: "retried", reconcile.Restore: "restored", reconcile.Move: "moved", reconcile.Render: "rendered",
	reconcile.Delete: "deleted", reconcile.Blocked: "blocked", reconcile.Suspended: "suspended", reconcile.Noop: "up to date",
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

// Work is the number of changes of p that an apply works on, each of
// which ends in one "done" event: those that change something, and those
// that cannot be planned (they fail at once). It is the Total of a TTY.
func Work(p *reconcile.Plan) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action.Changes() || c.Action == reconcile.Error {
			n++
		}
	}
	return n
}

// TTY is a live view for a terminal: above, a line per report that
// finished; below, a live block of a line per report in flight (its
// current step) and a last line "n of N done" with an estimate of the
// time left, redrawn on every event. Its rules, so that the scrollback
// reads as a log of what finished and nothing else:
//
//   - A finished report is written once, above the live block, and never
//     redrawn.
//   - The live block is never taller than the terminal's rows less one (the
//     cursor's): a block that scrolls off the top cannot be erased, and
//     would be left in the scrollback, stale, at every redraw. The reports
//     in flight that do not fit are counted in a line "… and K more".
//   - A live line is cut to the terminal's width less one, since a wrapped
//     line takes rows the redraw would not count.
//
// The estimate extrapolates the rate at which changes finished so far. The
// size is read at every redraw, so a resized terminal is followed. Event
// and Summary must not be called concurrently (the Reconciler serialises
// its Progress calls).
type TTY struct {
	W io.Writer
	// Total is the number of changes the apply works on (Work of the
	// plan); zero means unknown, and the last line says only "n done".
	Total int
	// Size returns the terminal's width and height; nil means those of W
	// when it is a terminal, else 80×24.
	Size func() (width, height int)

	active       []row
	drawn        int       // lines of the live block on screen
	start        time.Time // of the first event: the estimate's origin
	done, failed int       // changes finished, and those of them that failed
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
	if t.start.IsZero() {
		t.start = e.Time
	}
	var out strings.Builder
	t.erase(&out)
	i := slices.IndexFunc(t.active, func(r row) bool { return r.address == e.Address.String() })
	switch {
	case e.Step == "done":
		if i >= 0 {
			t.active = slices.Delete(t.active, i, i+1)
		}
		t.done++
		if e.Status == "ok" {
			fmt.Fprintf(&out, "  ✓ %s %s (%s)\n", e.Address, pastTense[e.Action], e.Elapsed.Round(10*time.Millisecond))
		} else {
			t.failed++
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
	t.draw(&out, e.Time)
	io.WriteString(t.W, out.String())
}

// Summary implements Renderer: the live block gives way to the summary.
func (t *TTY) Summary(r *reconcile.Result) {
	var out strings.Builder
	t.erase(&out)
	fmt.Fprintln(&out, SummaryLine(r))
	io.WriteString(t.W, out.String())
}

// erase moves the cursor to the top of the live block and clears it.
func (t *TTY) erase(out *strings.Builder) {
	if t.drawn > 0 {
		fmt.Fprintf(out, "\x1b[%dA\x1b[J", t.drawn)
	}
	t.drawn = 0
}

// draw writes the live block as of now, within the terminal's size.
func (t *TTY) draw(out *strings.Builder, now time.Time) {
	width, height := t.size()
	rows := height - 1 // the cursor's line stays free
	if rows < 1 {
		return
	}
	line := func(s string) {
		if r := []rune(s); len(r) > width-1 {
			s = string(r[:max(width-1, 0)])
		}
		out.WriteString(s + "\n")
		t.drawn++
	}
	shown := t.active
	if len(shown) > rows-1 {
		shown = shown[:max(rows-2, 0)]
	}
	for _, r := range shown {
		line(fmt.Sprintf("    %s (%s): %s… %s", r.address, r.action, doing[r.step], now.Sub(r.start).Round(100*time.Millisecond)))
	}
	if k := len(t.active) - len(shown); k > 0 && rows >= 2 {
		line(fmt.Sprintf("    … and %d more", k))
	}
	line(t.status(now))
}

// status is the last line of the live block: "n of N done", the failures
// among them, and the time left.
func (t *TTY) status(now time.Time) string {
	if t.Total <= 0 {
		s := fmt.Sprintf("  %d done", t.done)
		if t.failed > 0 {
			s += fmt.Sprintf(", %d failed", t.failed)
		}
		return s
	}
	s := fmt.Sprintf("  %d of %d done", t.done, t.Total)
	if t.failed > 0 {
		s += fmt.Sprintf(", %d failed", t.failed)
	}
	if left := t.Total - t.done; t.done > 0 && left > 0 {
		eta := now.Sub(t.start) * time.Duration(left) / time.Duration(t.done)
		s += fmt.Sprintf(", about %s left", max(eta.Round(time.Second), time.Second))
	}
	return s
}

// size is the terminal's width and height, or 80×24 if unknown.
func (t *TTY) size() (width, height int) {
	if t.Size != nil {
		return t.Size()
	}
	if f, ok := t.W.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Row > 0 && ws.Col > 0 {
			return int(ws.Col), int(ws.Row)
		}
	}
	return 80, 24
}
