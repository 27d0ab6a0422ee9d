package reconcile

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// holdingStore is a testStore with leases (Holder): hold answers each
// Hold, and the addresses asked are kept.
type holdingStore struct {
	*testStore
	mu    sync.Mutex
	asked []report.Address
	hold  func() (time.Time, error)
}

func (h *holdingStore) Hold(_ context.Context, a report.Address) (time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.asked = append(h.asked, a)
	return h.hold()
}

// TestHold_BeforeProcessing: with a Store that has leases, the lease is
// renewed just before the processing request and nowhere else; a renewal
// that fails means no processing request (the upload stays recorded); a
// request that outlasts the instant Hold gave is given up, LEASE_SHORT.
func TestHold_BeforeProcessing(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{Latency: 300 * time.Millisecond}})
	writeFile(t, f.dir, "a.json", statement(1))
	hs := &holdingStore{testStore: f.store}
	run := func() *Result {
		p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{desired("a", "a.json")}}, hs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r := f.applier()
		r.Store = hs
		res, err := r.Apply(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	addr := report.ReportAddress("a")

	// The renewal fails: uploaded, nothing requested.
	hs.hold = func() (time.Time, error) { return time.Time{}, state.ErrLeaseLost }
	res := run()
	if o := res.Outcomes[0]; o.Verdict != VerdictTransient || !errors.Is(o.Err, state.ErrLeaseLost) {
		t.Errorf("with the renewal failing: %s %v, want transient, the lease lost", o.Verdict, o.Err)
	}
	if got := f.calls("process"); got != 0 {
		t.Errorf("%d processing requests after a failed renewal, want 0", got)
	}
	if r, _ := hs.Get(addr); r.Phase != state.Uploaded || r.UploadID == "" {
		t.Errorf("after a failed renewal: %s, upload %q; want the upload recorded", r.Phase, r.UploadID)
	}

	// Too little lease for the answer (300 ms of latency): given up.
	hs.hold = func() (time.Time, error) { return time.Now().Add(50 * time.Millisecond), nil }
	run()
	if r, _ := hs.Get(addr); r.LastError == nil || r.LastError.Code != CodeLease || r.ProcessID != "" {
		t.Errorf("after a request that outlasted the lease: %+v, want %s and no processing id", r.LastError, CodeLease)
	}

	// Enough lease: done, with one renewal per processing request.
	hs.mu.Lock()
	hs.asked = nil
	hs.mu.Unlock()
	hs.hold = func() (time.Time, error) { return time.Now().Add(time.Minute), nil }
	time.Sleep(400 * time.Millisecond) // the request given up is answered, and counted
	before := f.calls("process")
	if o := run().Outcomes[0]; o.Err != nil {
		t.Fatalf("with the lease: %v", o.Err)
	}
	if got := f.calls("process") - before; len(hs.asked) != got || got == 0 {
		t.Errorf("%d renewals for %d processing requests, want one each", len(hs.asked), got)
	}
}
