package nordigen_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/nordigen"
)

// attempts records what Config.Observe is given, from every worker.
type attempts struct {
	mu  sync.Mutex
	all []nordigen.Attempt
}

func (a *attempts) observe(at nordigen.Attempt) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.all = append(a.all, at)
}

func (a *attempts) list() []nordigen.Attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.all)
}

// brief is an attempt without its duration, to compare sequences.
type brief struct {
	Op     string
	Status int
	Retry  int
}

func (a *attempts) briefs(t *testing.T) []brief {
	t.Helper()
	var out []brief
	for _, at := range a.list() {
		if at.Duration <= 0 {
			t.Errorf("attempt %+v has no duration", at)
		}
		out = append(out, brief{at.Op, at.Status, at.Retry})
	}
	return out
}

var ops = []string{api.OpToken, api.OpUpload, api.OpProcess, api.OpResult, api.OpCategoryTree}

// TestConfig_Observe_CountsWhatTheEngineAnswered: with a third of the
// engine's answers 503, the attempts observed are the answers the engine
// counts, operation by operation and status by status, and each call's
// attempts are numbered from 0.
func TestConfig_Observe_CountsWhatTheEngineAnswered(t *testing.T) {
	e := startEngine(t, engine.Config{Faults: engine.Faults{Fail503: 0.3, ProcessingTime: 5 * time.Millisecond, Seed: 11}})
	var seen attempts
	c := newClient(t, e, e.URL, func(cfg *nordigen.Config) { cfg.Observe = seen.observe; cfg.RetryMax = 20 })
	ctx := context.Background()
	var calls [5]atomic.Int32 // by index in ops, the token excepted
	count := func(op string) { calls[slices.Index(ops, op)].Add(1) }
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				count(api.OpUpload)
				up, err := c.Upload(ctx, statement(t))
				if err != nil {
					t.Error(err)
					return
				}
				count(api.OpProcess)
				p, err := c.Process(ctx, up.RequestID, api.ProcessRequest{Country: "uk", Operations: []string{"categorisation"}})
				if err != nil {
					t.Error(err) // no resets, so no lost answer and no ANALYSIS_ALREADY_REQUESTED
					return
				}
				for {
					count(api.OpResult)
					r, err := c.Result(ctx, p.RequestID)
					if err != nil {
						t.Error(err)
						return
					}
					if r.Done() {
						break
					}
					time.Sleep(2 * time.Millisecond)
				}
				count(api.OpCategoryTree)
				if _, err := c.CategoryTree(ctx, "uk"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	got := map[string]map[int]int{} // op → status → attempts
	first := map[string]int{}       // op → attempts with Retry 0
	for _, at := range seen.list() {
		if !slices.Contains(ops, at.Op) {
			t.Errorf("attempt of operation %q", at.Op)
		}
		if got[at.Op] == nil {
			got[at.Op] = map[int]int{}
		}
		got[at.Op][at.Status]++
		if at.Retry == 0 {
			first[at.Op]++
		}
	}
	if got[api.OpToken][http.StatusOK] != 1 {
		t.Errorf("token attempts %v, want one 200", got[api.OpToken])
	}
	unavailable := 0
	for _, op := range ops {
		unavailable += got[op][http.StatusServiceUnavailable]
		if op != api.OpToken {
			if got, want := first[op], int(calls[slices.Index(ops, op)].Load()); got != want {
				t.Errorf("%s: %d first attempts, want one per call (%d)", op, got, want)
			}
		}
	}
	if unavailable == 0 {
		t.Fatal("no 503 observed: the test does not exercise retries")
	}
	// The engine counts an answer once it is written, which may be just
	// after the client has read it: look again for a little while.
	compare := func() (diffs []string) {
		for _, op := range ops {
			for _, status := range []int{http.StatusOK, http.StatusAccepted, http.StatusServiceUnavailable} {
				if n, want := got[op][status], metric(t, e, op, strconv.Itoa(status)); float64(n) != want {
					diffs = append(diffs, fmt.Sprintf("%s %d: %d observed, the engine answered %v", op, status, n, want))
				}
			}
			total := 0
			for _, n := range got[op] {
				total += n
			}
			want, err := testutil.MetricSum(e.URL+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": op})
			if err != nil {
				t.Fatal(err)
			}
			if float64(total) != want {
				diffs = append(diffs, fmt.Sprintf("%s: %d attempts observed, the engine answered %v", op, total, want))
			}
		}
		return diffs
	}
	diffs := compare()
	for deadline := time.Now().Add(time.Second); len(diffs) > 0 && time.Now().Before(deadline); diffs = compare() {
		time.Sleep(10 * time.Millisecond)
	}
	for _, d := range diffs {
		t.Error(d)
	}
	t.Logf("%d attempts met a 503", unavailable)
}

// TestConfig_Observe_RetriesInOrder: each retry is one attempt, numbered
// from the call's first, and the token request a call needs is an attempt
// of its own, numbered apart.
func TestConfig_Observe_RetriesInOrder(t *testing.T) {
	e := startEngine(t, engine.Config{})
	var uploads, trees atomic.Int32
	p := newProxy(t, e.URL, func(r *http.Request) int {
		switch {
		case r.URL.Path == "/v2/report" && uploads.Add(1) <= 2:
			return http.StatusServiceUnavailable
		case r.URL.Path == "/v2/category-tree/uk" && trees.Add(1) == 1:
			return http.StatusUnauthorized // a new token, then a retry
		}
		return 0
	})
	var seen attempts
	c := newClient(t, e, p.srv.URL, func(cfg *nordigen.Config) { cfg.Observe = seen.observe })
	ctx := context.Background()
	if _, err := c.Upload(ctx, statement(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CategoryTree(ctx, "uk"); err != nil {
		t.Fatal(err)
	}
	want := []brief{
		{api.OpToken, 200, 0},
		{api.OpUpload, 503, 0}, {api.OpUpload, 503, 1}, {api.OpUpload, 202, 2},
		{api.OpCategoryTree, 401, 0},
		{api.OpToken, 200, 0},
		{api.OpCategoryTree, 200, 1},
	}
	if got := seen.briefs(t); !slices.Equal(got, want) {
		t.Errorf("attempts:\n got %+v\nwant %+v", got, want)
	}
}

// TestConfig_Observe_NoAnswer: an attempt that gets no answer (here a
// refused connection) is observed with status 0, every retry of it too.
func TestConfig_Observe_NoAnswer(t *testing.T) {
	e := startEngine(t, engine.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()

	t.Run("the API", func(t *testing.T) {
		var seen attempts
		c := newClient(t, e, refused, func(cfg *nordigen.Config) {
			cfg.TokenURL, cfg.RetryMax, cfg.Observe = e.URL+"/oauth/token", 2, seen.observe
		})
		if _, err := c.CategoryTree(context.Background(), "uk"); !api.IsTransient(err) {
			t.Fatalf("CategoryTree = %v, want a transient error", err)
		}
		want := []brief{{api.OpToken, 200, 0},
			{api.OpCategoryTree, 0, 0}, {api.OpCategoryTree, 0, 1}, {api.OpCategoryTree, 0, 2}}
		if got := seen.briefs(t); !slices.Equal(got, want) {
			t.Errorf("attempts:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("the token endpoint", func(t *testing.T) {
		var seen attempts
		c := newClient(t, e, refused, func(cfg *nordigen.Config) { cfg.RetryMax, cfg.Observe = 2, seen.observe })
		if _, err := c.CategoryTree(context.Background(), "uk"); !api.IsTransient(err) {
			t.Fatalf("CategoryTree = %v, want a transient error", err)
		}
		// The call never reaches the API: it has no token to send.
		want := []brief{{api.OpToken, 0, 0}, {api.OpToken, 0, 1}, {api.OpToken, 0, 2}}
		if got := seen.briefs(t); !slices.Equal(got, want) {
			t.Errorf("attempts:\n got %+v\nwant %+v", got, want)
		}
	})
}

// TestConfig_Observe_NotSentIsNotObserved: an upload refused for its size
// sends nothing, and so is no attempt.
func TestConfig_Observe_NotSentIsNotObserved(t *testing.T) {
	e := startEngine(t, engine.Config{})
	var seen attempts
	c := newClient(t, e, e.URL, func(cfg *nordigen.Config) { cfg.MaxUploadBytes, cfg.Observe = 10, seen.observe })
	if _, err := c.Upload(context.Background(), api.File{Name: "a", Data: make([]byte, 11)}); err == nil {
		t.Fatal("an upload over the limit was accepted")
	}
	if got := seen.list(); len(got) != 0 {
		t.Errorf("attempts %+v, want none", got)
	}
}
