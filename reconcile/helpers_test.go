package reconcile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// testStore is the real file store in a temp dir, recording every Put
// as the store holds it, for tests of the step machine that look at every
// transition. Reconcile is tested under the rules it runs with: the
// store keeps deep copies.
type testStore struct {
	*state.Store
	mu      sync.Mutex
	history []state.Record // every Put, in order, as stored
	// together, when set, makes Puts fail, each held until that many
	// have come, so that they fail at once (changes recording side by
	// side).
	together int
	arrived  int
	release  chan struct{}
	// refuse, when set, is asked before each Put: an error it returns is
	// the Put's, and nothing is stored.
	refuse func(r state.Record) error
}

func newTestStore(t testing.TB) *testStore {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), ".ledgerform"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &testStore{Store: st}
}

func (m *testStore) Put(r state.Record) error {
	m.mu.Lock()
	if m.together > 0 {
		m.arrived++
		if m.arrived == m.together {
			close(m.release)
		}
		release := m.release
		m.mu.Unlock()
		<-release
		return fmt.Errorf("disk full")
	}
	defer m.mu.Unlock()
	if m.refuse != nil {
		if err := m.refuse(r); err != nil {
			return err
		}
	}
	if err := m.Store.Put(r); err != nil {
		return err
	}
	got, _ := m.Store.Get(r.Address)
	m.history = append(m.history, got)
	return nil
}

// failTogether makes the next n Puts fail together, once all n came.
func (m *testStore) failTogether(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.together, m.arrived, m.release = n, 0, make(chan struct{})
}

// statement returns a small valid statement whose content depends on n.
func statement(n int) string {
	return fmt.Sprintf(`{"account_list":[{"account_nr":"GB%02d","holder_name":"Holder %d","currency":"GBP","transaction_list":[
 {"date":"2026-01-05","sum":%d.00,"partner":"ACME LTD","info":"SALARY"}]}]}`, n, n, 1000+n)
}

func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// desired builds a report the way spec.Load would.
func desired(name string, statements ...string) spec.Report {
	return spec.Report{Address: report.ReportAddress(name), Name: name, Statements: statements,
		Operations: []string{"categorisation"}, Country: "uk", Output: "out/" + name + ".json"}
}

// fixture is a working directory, an engine and an applier over them.
type fixture struct {
	t      *testing.T
	dir    string
	engine *engine.Running
	client *nordigen.Client
	store  *testStore
}

func newFixture(t *testing.T, cfg engine.Config) *fixture {
	t.Helper()
	e, err := engine.StartEmbedded(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	c, err := nordigen.New(nordigen.Config{BaseURL: e.URL, ClientID: e.ClientID, ClientSecret: nordigen.NewSecret(e.ClientSecret),
		RateLimit: 1000, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, dir: t.TempDir(), engine: e, client: c, store: newTestStore(t)}
}

func (f *fixture) applier() *Reconciler {
	// The engine reports some failed processings as a lasting 500, which
	// is given up only at the poll deadline: keep it short.
	return &Reconciler{Dir: f.dir, Store: f.store, API: f.client, PollMin: 10 * time.Millisecond, PollMax: 50 * time.Millisecond,
		PollDeadline: 2 * time.Second, Endpoint: testEndpoint}
}

// testEndpoint is the Endpoint of the fixture's reconciler: plans with
// Options{Endpoint: testEndpoint} reuse its results.
const testEndpoint = "http://engine.test"

// run plans reports against the store and applies the plan.
func (f *fixture) run(opts Options, reports ...spec.Report) (*Plan, *Result) {
	f.t.Helper()
	p, err := NewPlan(&spec.Set{Dir: f.dir, Reports: reports}, f.store, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := f.applier().Apply(f.t.Context(), p)
	if err != nil {
		f.t.Fatal(err)
	}
	return p, res
}

// calls counts the engine's requests to an endpoint.
func (f *fixture) calls(endpoint string) int {
	f.t.Helper()
	v, err := testutil.MetricSum(f.engine.URL+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": endpoint})
	if err != nil {
		f.t.Fatal(err)
	}
	return int(v)
}

func actions(p *Plan) string {
	var s []string
	for _, c := range p.Changes {
		s = append(s, c.Address.String()+"="+string(c.Action))
	}
	return strings.Join(s, " ")
}
