package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// An endpoint no connection can be made to stops Apply before any report
// is started, with one error that says so: no report is recorded failed
// (or recorded at all), and no report waits out the client's retries.
func TestApply_UnreachableStopsTheRunBeforeAnyReport(t *testing.T) {
	// The client's own retries would take minutes: Apply must not wait for them.
	f := unreachableFixture(t)
	var reports []spec.Report
	for i := range 8 {
		writeFile(t, f.dir, fmt.Sprintf("s%d.json", i), statement(i))
		reports = append(reports, desired(fmt.Sprintf("r%d", i), fmt.Sprintf("s%d.json", i)))
	}
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: reports}, f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	a := f.applier()
	a.Progress = func(e Event) { events = append(events, e) }
	res, err := a.Apply(t.Context(), p)
	var ce *ConnectError
	if !errors.As(err, &ce) || !api.IsUnreachable(err) || res != nil {
		t.Fatalf("Apply = %v, %v; want an unreachable ConnectError and no result", res, err)
	}
	if n := f.store.Len(); n != 0 {
		t.Errorf("%d records after a run that could not start, want 0", n)
	}
	if len(events) != 0 {
		t.Errorf("%d step events (the first %+v), want none: no report started", len(events), events[0])
	}
}

// A report interrupted because the API cannot be reached (the daemon
// stopping during an outage cancels with the outage as the cause) keeps
// that cause as its record's last error, in its phase, to be resumed; one
// interrupted for any other reason records nothing.
func TestReconcile_InterruptedByAnOutageKeepsTheCause(t *testing.T) {
	outage := &api.TransportError{Op: api.OpUpload, Attempts: 3, Unreachable: true, Err: errors.New("dial tcp: connection refused")}
	for _, tc := range []struct {
		name  string
		cause error
		want  string // the record's last error, "" for none
	}{
		{"by an outage", fmt.Errorf("stopped during an outage: %w", outage), "stopped during an outage: nordigen: upload: no connection after 3 attempts: dial tcp: connection refused"},
		{"by a stop", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := unreachableFixture(t)
			writeFile(t, f.dir, "a.json", statement(1))
			p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json")}}, f.store, Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancelCause(t.Context())
			time.AfterFunc(100*time.Millisecond, func() { cancel(tc.cause) })
			if o := f.applier().Reconcile(ctx, p.Changes[0]); o.Verdict != VerdictInterrupted {
				t.Fatalf("verdict %v, want interrupted", o.Verdict)
			}
			r, _ := f.store.Get("report.a")
			got := ""
			if r.LastError != nil {
				got = r.LastError.Message
			}
			if r.Phase != state.Pending || got != tc.want {
				t.Errorf("record %s, last error %q; want pending, %q", r.Phase, got, tc.want)
			}
		})
	}
}

// unreachableFixture is a fixture whose client points at a loopback port
// nothing listens on, with retries that would take minutes.
func unreachableFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, engine.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	f.client, err = nordigen.New(nordigen.Config{BaseURL: "http://" + l.Addr().String(), ClientID: "id", ClientSecret: nordigen.NewSecret("secret"),
		RetryMax: 30, RetryWaitMin: time.Second, RetryWaitMax: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return f
}
