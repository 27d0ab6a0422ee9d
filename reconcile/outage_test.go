package reconcile

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// outageProxy stands in front of the engine and, while down is set,
// answers every poll of a result with 500 UNKNOWN_ERROR, counting the
// refusals per processing id.
type outageProxy struct {
	down    atomic.Bool
	mu      sync.Mutex
	refused map[string]int
}

func (o *outageProxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, isResult := strings.CutPrefix(r.URL.Path, "/v2/report/")
		if isResult && r.Method == http.MethodGet && !strings.Contains(id, "/") && o.down.Load() {
			o.mu.Lock()
			o.refused[id]++
			o.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `[{"title":"Internal Server Error","detail":"outage","error-code":"UNKNOWN_ERROR","source":[]}]`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// minRefused returns the fewest refusals any of n processing ids has had
// (0 until n ids have been refused).
func (o *outageProxy) minRefused(n int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.refused) < n {
		return 0
	}
	least := -1
	for _, c := range o.refused {
		if least < 0 || c < least {
			least = c
		}
	}
	return least
}

// A result endpoint that answers 500 for longer than the client's retries
// while reports are processing is an outage: the recorded processing ids
// are polled through it, and once it is over every report completes with
// no new upload and no new processing request.
func TestReconcile_ResultOutageKeepsProcessingIDs(t *testing.T) {
	f := newFixture(t, engine.Config{})
	proxy := &outageProxy{refused: map[string]int{}}
	proxy.down.Store(true)
	target, _ := url.Parse(f.engine.URL)
	srv := httptest.NewServer(proxy.handler(httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(srv.Close)
	const retryMax = 2
	c, err := nordigen.New(nordigen.Config{BaseURL: srv.URL, ClientID: f.engine.ClientID, ClientSecret: nordigen.NewSecret(f.engine.ClientSecret),
		RateLimit: 1000, RetryMax: retryMax, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	var reports []spec.Report
	for i := range n {
		name := fmt.Sprintf("r%d", i)
		writeFile(t, f.dir, name+".json", statement(i))
		reports = append(reports, desired(name, name+".json"))
	}
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: reports}, f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var outages atomic.Int32
	r := &Reconciler{Dir: f.dir, Store: f.store, API: c, Parallelism: n, PollMin: 5 * time.Millisecond, PollMax: 20 * time.Millisecond,
		Progress: func(e Event) {
			if e.Step == "poll" && e.Status == "retry" {
				outages.Add(1)
			}
			// Each report's client call has given up (retryMax+1 refused
			// attempts) at least twice over: end the outage.
			if proxy.minRefused(n) >= 2*(retryMax+1) {
				proxy.down.Store(false)
			}
		}}
	go func() {
		// The outage also ends if no event comes after the threshold, and
		// after a while in any case: a guard against a hang, which the
		// checks below then report.
		guard := time.Now().Add(30 * time.Second)
		for proxy.down.Load() {
			if proxy.minRefused(n) >= 2*(retryMax+1) || time.Now().After(guard) {
				proxy.down.Store(false)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	res, err := r.Apply(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outcomes {
		if o.Verdict != VerdictDone {
			t.Errorf("%s: %s: %v", o.Address, o.Verdict, o.Err)
		}
	}
	if got := proxy.minRefused(n); got < 2*(retryMax+1) {
		t.Fatalf("the outage refused only %d polls of some report; the test did not test it", got)
	}
	if got := outages.Load(); got < n {
		t.Errorf("%d outage events, want at least one per report (%d)", got, n)
	}
	if got := f.calls("upload"); got != n {
		t.Errorf("%d uploads, want %d: an outage made reports upload again", got, n)
	}
	if got := f.calls("process"); got != n {
		t.Errorf("%d processing requests, want %d: an outage made reports process again", got, n)
	}
	for _, rec := range f.store.Records() {
		if rec.Phase != state.Completed {
			t.Errorf("%s is %s, want completed", rec.Address, rec.Phase)
		}
	}
}

// A processing that failed for good (TIMEOUT_PROCESSING) spends its id:
// the report fails transiently with its ids forgotten, and the retry
// starts from a new upload.
func TestReconcile_ProcessingFailedStartsAgain(t *testing.T) {
	f := newFixture(t, engine.Config{Faults: engine.Faults{FailProcessing: 1, Seed: 1}})
	writeFile(t, f.dir, "a.json", statement(1))
	d := desired("a", "a.json")
	var o Outcome
	// The engine fails a processing with TIMEOUT_PROCESSING or a lasting
	// 500; a short deadline gives the second up quickly.
	r := f.applier()
	r.PollDeadline = 200 * time.Millisecond
	p, _ := NewPlan(&spec.Set{Dir: f.dir, Reports: []spec.Report{d}}, f.store, Options{})
	o = r.Reconcile(t.Context(), p.Changes[0])
	if o.Verdict != VerdictTransient {
		t.Fatalf("verdict %s (%v), want transient", o.Verdict, o.Err)
	}
	rec, _ := f.store.Get("report.a")
	if rec.Phase != state.Failed || rec.UploadID != "" || rec.ProcessID != "" || rec.LastError == nil || rec.LastError.Permanent {
		t.Fatalf("record %+v: want failed, transient, with its ids forgotten", rec)
	}
	if code := rec.LastError.Code; code != api.CodeTimeoutProcessing && code != CodePollDeadline {
		t.Errorf("code %q, want %s or %s", code, api.CodeTimeoutProcessing, CodePollDeadline)
	}
}
