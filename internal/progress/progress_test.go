package progress

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/reconcile"
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
	tty := &TTY{W: &b}
	play(tty, nil)
	out := b.String()
	for _, want := range []string{"report.a (create): uploaded", "\x1b[1A\x1b[J", "✓ report.a created (1.5s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("live view lacks %q:\n%q", want, out)
		}
	}
	if tty.drawn != 1 { // the failed drop file is still in flight: its done never came
		t.Errorf("%d live lines at the end, want 1", tty.drawn)
	}
	if IsTerminal(&b) {
		t.Error("a buffer is a terminal")
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
