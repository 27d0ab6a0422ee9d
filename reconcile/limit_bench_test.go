package reconcile

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// engineChildEnv, when set in the environment of this test binary, makes
// it an engine server instead of a test run: the benchmarks at the API's
// limit run the engine in a process of its own, as a real API is, so
// that its work does not share the client's scheduler. The value is the
// engine's Faults as JSON.
const engineChildEnv = "LEDGERFORM_ENGINE_CHILD"

func TestMain(m *testing.M) {
	if faults := os.Getenv(engineChildEnv); faults != "" {
		serveEngineChild(faults)
		return
	}
	os.Exit(m.Run())
}

// childEngine is what the child prints: where it listens and how to log in.
type childEngine struct {
	URL, ClientID, ClientSecret string
}

// serveEngineChild runs an engine with the faults until stdin closes.
func serveEngineChild(faults string) {
	var f engine.Faults
	if err := json.Unmarshal([]byte(faults), &f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	e, err := engine.StartEmbedded(engine.Config{Faults: f})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	json.NewEncoder(os.Stdout).Encode(childEngine{e.URL, e.ClientID, e.ClientSecret})
	bufio.NewReader(os.Stdin).ReadByte() // until the parent closes it
	e.Close()
}

// startEngineProcess starts this test binary as an engine with faults and
// returns a client of it (no client-side rate limit: the default), with
// the wait before an early retry of a noise 429 (0: the default;
// negative: none).
func startEngineProcess(b *testing.B, f engine.Faults, noiseWait time.Duration) (*nordigen.Client, string) {
	b.Helper()
	js, _ := json.Marshal(f)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), engineChildEnv+"="+string(js))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	var ce childEngine
	if err := json.NewDecoder(stdout).Decode(&ce); err != nil {
		b.Fatalf("the engine process: %v", err)
	}
	c, err := nordigen.New(nordigen.Config{BaseURL: ce.URL, ClientID: ce.ClientID, ClientSecret: nordigen.NewSecret(ce.ClientSecret),
		NoiseWait: noiseWait})
	if err != nil {
		b.Fatal(err)
	}
	return c, ce.URL
}

// roundTrip measures the API's round trip: the median of a few cheap
// requests (the category tree), the token fetched first.
func roundTrip(b *testing.B, c *nordigen.Client) time.Duration {
	b.Helper()
	var rtts []time.Duration
	for range 7 {
		t0 := time.Now()
		if _, err := c.CategoryTree(context.Background(), "uk"); err != nil {
			b.Fatal(err)
		}
		rtts = append(rtts, time.Since(t0))
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2]
}

// newReports makes a working directory with n new statements and a
// fresh state, and plans them: n creates.
func newReports(b *testing.B, n int) (string, *state.Store, *Plan) {
	b.Helper()
	dir := b.TempDir()
	var ds []spec.Report
	for i := range n {
		name := fmt.Sprintf("r%03d", i)
		os.WriteFile(filepath.Join(dir, name+".json"), []byte(statement(i)), 0o600)
		ds = append(ds, desired(name, name+".json"))
	}
	st, err := state.Open(filepath.Join(dir, ".ledgerform"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPlan(&spec.Set{Dir: dir, Reports: ds}, st, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return dir, st, p
}

// BenchmarkApply_AtTheLimit applies 4×parallelism new reports against the
// engine in its own process, 100 ms of latency on every answer and 2 s of
// processing, with no client-side rate limit (the default), after one
// warm-up apply that teaches the poll schedule. A report needs at least
// three round trips (upload, process, the result) and the processing, so
// the limit is parallelism / (processing + 3 round trips), the round trip
// measured. "of-limit" is the throughput over that limit.
//
// The cases: "clean"; "429", where 15 % of answers are a random 429 with
// Retry-After: 1, and "429-honour", the same with early retries of noise
// 429s off (every 429 waits its Retry-After), to compare in one run; and
// "ratelimit", where the engine enforces 20 requests per second (a real
// limit, far below what the workers would send), with early retries on
// and off: "ok-of-ratelimit" is the answers other than 429 per second over
// the engine's limit, "429s/report" what the engine refused.
//
//	go test -run '^$' -bench Apply_AtTheLimit -benchtime 2x -count 3 -timeout 60m ./reconcile/
func BenchmarkApply_AtTheLimit(b *testing.B) {
	const (
		latency    = 100 * time.Millisecond
		processing = 2 * time.Second
		engineRate = 20
	)
	type kase struct {
		name        string
		p429        float64
		rateLimit   float64
		noiseWait   time.Duration
		parallelism []int
	}
	all := []int{8, 32, 64}
	for _, k := range []kase{
		{"clean", 0, 0, 0, all},
		{"429", 0.15, 0, 0, all},
		{"429-honour", 0.15, 0, -1, all},
		{"ratelimit", 0, engineRate, 0, []int{32}},
		{"ratelimit-honour", 0, engineRate, -1, []int{32}},
	} {
		for _, parallelism := range k.parallelism {
			b.Run(fmt.Sprintf("%s/p%d", k.name, parallelism), func(b *testing.B) {
				c, url := startEngineProcess(b, engine.Faults{Latency: latency, ProcessingTime: processing, Fail429: k.p429,
					RateLimit: k.rateLimit}, k.noiseWait)
				rtt := roundTrip(b, c)
				reports := 4 * parallelism
				rec := &Reconciler{API: c, Parallelism: parallelism}
				applyNew := func() time.Duration {
					dir, st, p := newReports(b, reports)
					defer st.Close()
					rec.Dir, rec.Store = dir, st
					t0 := time.Now()
					res, err := rec.Apply(context.Background(), p)
					if err != nil || res.Failed() > 0 {
						b.Fatalf("apply: %v, %d failed", err, res.Failed())
					}
					return time.Since(t0)
				}
				applyNew() // the warm-up: the poll schedule learns the processing time
				metric := func(labels map[string]string) float64 {
					v, _ := testutil.MetricSum(url+"/metrics", "ledgerform_engine_requests_total", labels)
					return v
				}
				results, all, refused := metric(map[string]string{"endpoint": "result"}), metric(nil), metric(map[string]string{"code": "429"})
				held := c.Held()
				var total time.Duration
				for b.Loop() {
					total += applyNew()
				}
				held = c.Held() - held
				results, all, refused = metric(map[string]string{"endpoint": "result"})-results, metric(nil)-all, metric(map[string]string{"code": "429"})-refused
				rate := float64(reports*b.N) / total.Seconds()
				limit := float64(parallelism) / (processing + 3*rtt).Seconds()
				b.ReportMetric(rate, "reports/s")
				b.ReportMetric(rate/limit, "of-limit")
				b.ReportMetric(results/float64(reports*b.N), "result-GETs/report")
				b.ReportMetric(refused/float64(reports*b.N), "429s/report")
				b.ReportMetric(held.Seconds()/total.Seconds()/float64(parallelism), "held-share") // of the workers' time, held by the throttle
				if k.rateLimit > 0 {
					b.ReportMetric((all-refused)/total.Seconds()/k.rateLimit, "ok-of-ratelimit")
				}
			})
		}
	}
}

// BenchmarkPoll_Schedule applies reports one after another (parallelism
// 1) against the engine in its own process at several processing times,
// after a warm-up of eight reports, and reports the result GETs a report
// costs and the latency the schedule adds: the time from the processing
// request to the result seen, beyond the processing time and one round
// trip, as a share of the processing time.
//
//	go test -run '^$' -bench Poll_Schedule -benchtime 5x -count 3 -timeout 60m ./reconcile/
func BenchmarkPoll_Schedule(b *testing.B) {
	for _, processing := range []time.Duration{200 * time.Millisecond, time.Second, 3 * time.Second, 10 * time.Second} {
		b.Run(processing.String(), func(b *testing.B) {
			c, url := startEngineProcess(b, engine.Faults{ProcessingTime: processing}, 0)
			rtt := roundTrip(b, c)
			dir := b.TempDir()
			st, err := state.Open(filepath.Join(dir, ".ledgerform"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			rec := &Reconciler{Dir: dir, Store: st, API: c, Parallelism: 1}
			n := 0
			var ds []spec.Report
			one := func() time.Duration {
				name := fmt.Sprintf("r%03d", n)
				os.WriteFile(filepath.Join(dir, name+".json"), []byte(statement(n)), 0o600)
				n++
				ds = append(ds, desired(name, name+".json"))
				p, err := NewPlan(&spec.Set{Dir: dir, Reports: ds}, st, Options{})
				if err != nil {
					b.Fatal(err)
				}
				var requested time.Time
				var seen time.Duration
				rec.Progress = func(e Event) {
					switch e.Step {
					case "process":
						requested = e.Time
					case "poll":
						seen = e.Time.Sub(requested)
					}
				}
				res, err := rec.Apply(context.Background(), p)
				if err != nil || res.Failed() > 0 {
					b.Fatalf("apply: %v, %d failed", err, res.Failed())
				}
				return seen
			}
			for range 8 {
				one()
			}
			before, _ := testutil.MetricSum(url+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": "result"})
			var added time.Duration
			for b.Loop() {
				added += max(one()-processing-rtt, 0)
			}
			after, _ := testutil.MetricSum(url+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": "result"})
			b.ReportMetric((after-before)/float64(b.N), "result-GETs/report")
			b.ReportMetric(100*added.Seconds()/float64(b.N)/processing.Seconds(), "%-added")
			b.ReportMetric(float64(added.Milliseconds())/float64(b.N), "ms-added")
		})
	}
}
