package progress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func events() []reconcile.Event {
	return []reconcile.Event{
		{Time: t0, Address: "report.a", Action: reconcile.Create, Step: "start", Status: "ok"},
		{Time: t0, Address: "report.a", Action: reconcile.Create, Step: "upload", Status: "ok", UploadID: "u1"},
		{Time: t0, Address: `drop.in["x y.json"]`, Action: reconcile.Create, Step: "upload", Status: "failed",
			Error: `400 NO_SUITABLE_PARSERS: file "x y.json"`, Permanent: true},
		{Time: t0, Address: "report.a", Action: reconcile.Create, Step: "done", Status: "ok", Elapsed: 1500 * time.Millisecond},
	}
}

var result = &reconcile.Result{Outcomes: []reconcile.Outcome{
	{Address: "report.a", Action: reconcile.Create},
	{Address: `drop.in["x y.json"]`, Action: reconcile.Create, Err: errors.New("refused")},
	{Address: "report.b", Action: reconcile.Noop},
}}

// play gives r the events, then the summary of res unless it is nil.
func play(r Renderer, res *reconcile.Result) {
	for _, e := range events() {
		r.Event(e)
	}
	if res != nil {
		r.Summary(res)
	}
}

func TestLines(t *testing.T) {
	var b bytes.Buffer
	play(Lines{W: &b}, result)
	got := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		`time=2026-11-23T10:00:00Z address=report.a action=create step=start status=ok`,
		`time=2026-11-23T10:00:00Z address=report.a action=create step=upload status=ok upload_id=u1`,
		`time=2026-11-23T10:00:00Z address="drop.in[\"x y.json\"]" action=create step=upload status=failed error="400 NO_SUITABLE_PARSERS: file \"x y.json\"" permanent=true`,
		`time=2026-11-23T10:00:00Z address=report.a action=create step=done status=ok elapsed=1.5s`,
		`Apply complete: 1 created, 1 up to date, 1 failed.`,
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), b.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	play(JSON{W: &b}, result)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5", len(lines))
	}
	var e reconcile.Event
	if err := json.Unmarshal([]byte(lines[2]), &e); err != nil || e.Address != `drop.in["x y.json"]` || !e.Permanent {
		t.Errorf("event line %s: %v %+v", lines[2], err, e)
	}
	var s struct {
		Summary map[string]int `json:"summary"`
		Failed  int            `json:"failed"`
	}
	if err := json.Unmarshal([]byte(lines[4]), &s); err != nil || s.Failed != 1 || s.Summary["create"] != 1 || s.Summary["noop"] != 1 {
		t.Errorf("summary line %s: %v %+v", lines[4], err, s)
	}
}

func TestTTY(t *testing.T) {
	var b bytes.Buffer
	tty := &TTY{W: &b, Total: 2, Size: func() (int, int) { return 80, 24 }}
	play(tty, nil)
	out := b.String()
	for _, want := range []string{"report.a (create): uploaded", "\x1b[2A\x1b[J", "✓ report.a created (1.5s)", "1 of 2 done"} {
		if !strings.Contains(out, want) {
			t.Errorf("live view lacks %q:\n%q", want, out)
		}
	}
	if tty.drawn != 2 { // the failed drop file is still in flight (its done never came), and the count
		t.Errorf("%d live lines at the end, want 2", tty.drawn)
	}
	if IsTerminal(&b) {
		t.Error("a buffer is a terminal")
	}
}

// screen is a terminal of a fixed size, as far as TTY uses one: text that
// wraps at the width, "\n", "\x1b[nA" (cursor up n rows) and "\x1b[J"
// (erase to the end of the screen). Rows that scroll off its top go to
// the scrollback, where nothing can erase them.
type screen struct {
	t             *testing.T
	width, height int
	rows          [][]rune
	row, col      int
	scrollback    []string
	frames        int // Writes
}

func newScreen(t *testing.T, width, height int) *screen {
	s := &screen{t: t, width: width, height: height}
	for range height {
		s.rows = append(s.rows, nil)
	}
	return s
}

func (s *screen) Write(p []byte) (int, error) {
	s.frames++
	// The live block of this frame: what follows the last erase, less the
	// finished reports' lines written above it.
	frame := p
	if i := bytes.LastIndex(p, []byte("\x1b[J")); i >= 0 {
		frame = p[i+len("\x1b[J"):]
	}
	live := 0
	for _, l := range strings.Split(string(frame), "\n") {
		if l != "" && !strings.ContainsAny(l, "✓✗") {
			live++
		}
	}
	if live > s.height-1 {
		s.t.Errorf("frame %d: a live block of %d lines in %d rows", s.frames, live, s.height)
	}
	for rs := []rune(string(p)); len(rs) > 0; {
		switch {
		case rs[0] == '\n':
			s.newline()
			rs = rs[1:]
		case rs[0] == '\x1b':
			end := 2
			for rs[end] < '@' {
				end++
			}
			n := 1
			if end > 2 {
				n, _ = strconv.Atoi(string(rs[2:end]))
			}
			switch rs[end] {
			case 'A':
				if n > s.row {
					s.t.Errorf("frame %d: cursor up %d from row %d: the block's top is in the scrollback", s.frames, n, s.row)
				}
				s.row = max(s.row-n, 0)
			case 'J':
				s.rows[s.row] = s.rows[s.row][:min(s.col, len(s.rows[s.row]))]
				for i := s.row + 1; i < s.height; i++ {
					s.rows[i] = nil
				}
			default:
				s.t.Fatalf("unexpected escape %q", string(rs[:end+1]))
			}
			rs = rs[end+1:]
		default:
			if s.col == s.width {
				s.newline()
			}
			for len(s.rows[s.row]) <= s.col {
				s.rows[s.row] = append(s.rows[s.row], ' ')
			}
			s.rows[s.row][s.col] = rs[0]
			s.col++
			rs = rs[1:]
		}
	}
	return len(p), nil
}

func (s *screen) newline() {
	s.col = 0
	if s.row < s.height-1 {
		s.row++
		return
	}
	s.scrollback = append(s.scrollback, string(s.rows[0]))
	s.rows = append(s.rows[1:], nil)
}

// lines is the scrollback, then the screen's rows above the cursor.
func (s *screen) lines() []string {
	all := slices.Clone(s.scrollback)
	for _, r := range s.rows[:s.row] {
		all = append(all, strings.TrimRight(string(r), " "))
	}
	return all
}

// last is the last n of lines.
func (s *screen) last(n int) []string {
	l := s.lines()
	return l[max(len(l)-n, 0):]
}

// In a terminal of 5 rows, 16 reports in flight: no redraw is taller than
// the screen, so nothing stale reaches the scrollback; each finished
// report is there once; the count and the estimate are right.
func TestTTY_smallTerminal(t *testing.T) {
	const n, width, height = 16, 40, 5
	scr := newScreen(t, width, height)
	tty := &TTY{W: scr, Total: n, Size: func() (int, int) { return width, height }}
	addr := func(i int) report.Address { return report.Address(fmt.Sprintf("report.r%02d", i)) }
	for _, step := range []string{"start", "upload", "process"} {
		for i := range n {
			tty.Event(reconcile.Event{Time: t0, Address: addr(i), Action: reconcile.Create, Step: step, Status: "ok"})
		}
	}
	if got, want := scr.last(2), []string{"    … and 14 more", "  0 of 16 done"}; !slices.Equal(got, want) {
		t.Errorf("with every report in flight, the live block ends\n%q\nwant\n%q", got, want)
	}
	// One report finishes a second, every fifth fails.
	for i := range n {
		e := reconcile.Event{Time: t0.Add(time.Duration(i+1) * time.Second), Address: addr(i), Action: reconcile.Create,
			Step: "done", Status: "ok", Elapsed: time.Duration(i+1) * time.Second}
		if i%5 == 4 {
			e.Status, e.Error = "failed", "refused"
		}
		tty.Event(e)
		if i == 3 {
			if got, want := scr.last(1)[0], "  4 of 16 done, about 12s left"; got != want {
				t.Errorf("after 4 of 16 in 4s, the last line is %q, want %q", got, want)
			}
		}
	}
	lines := scr.lines()
	if got, want := scr.last(1)[0], "  16 of 16 done, 3 failed"; got != want {
		t.Errorf("at the end, the last line is %q, want %q", got, want)
	}
	for _, l := range scr.scrollback {
		if !strings.ContainsAny(l, "✓✗") {
			t.Errorf("a stale live line in the scrollback: %q", l)
		}
	}
	for i := range n {
		want := fmt.Sprintf("  ✓ %s created (%ds)", addr(i), i+1)
		if i%5 == 4 {
			want = fmt.Sprintf("  ✗ %s failed: refused", addr(i))
		}
		if got := strings.Count(strings.Join(lines, "\n")+"\n", want+"\n"); got != 1 {
			t.Errorf("%q is written %d times, want once", want, got)
		}
	}

	tty.Summary(&reconcile.Result{})
	if got, want := scr.last(2), []string{"  ✓ report.r15 created (16s)", "Apply complete: 0 failed."}; !slices.Equal(got, want) {
		t.Errorf("after the summary the screen ends\n%q\nwant\n%q", got, want)
	}
}

// A stopped apply tells the reports it cut short from those it never
// started, from those that failed and from those blocked (found so, or
// refused for good in this run): each counted once.
func TestSummaryLine_stopped(t *testing.T) {
	stop := errors.New("interrupted")
	res := &reconcile.Result{Outcomes: []reconcile.Outcome{
		{Address: "report.a", Action: reconcile.Create, Verdict: reconcile.VerdictDone, Started: true},
		{Address: "report.b", Action: reconcile.Create, Verdict: reconcile.VerdictTransient, Err: errors.New("503"), Started: true},
		{Address: "report.f", Action: reconcile.Create, Verdict: reconcile.VerdictBlocked, Err: errors.New("400 NO_SUITABLE_PARSERS"), Started: true},
		{Address: "report.g", Action: reconcile.Blocked, Verdict: reconcile.VerdictBlocked},
		{Address: "report.c", Action: reconcile.Create, Verdict: reconcile.VerdictInterrupted, Err: stop, Started: true},
		{Address: "report.d", Action: reconcile.Create, Verdict: reconcile.VerdictInterrupted, Err: stop},
		{Address: "report.e", Action: reconcile.Create, Verdict: reconcile.VerdictInterrupted, Err: stop},
	}}
	if got, want := SummaryLine(res), "Apply stopped: 1 created, 1 failed, 2 blocked, 1 interrupted, 2 not started."; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var b bytes.Buffer
	JSON{W: &b}.Summary(res)
	if got := b.String(); !strings.Contains(got, `"failed":1,"blocked":2,"interrupted":1,"not_started":2`) {
		t.Errorf("JSON summary %s", got)
	}
}
