package reconcile

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// memStore is an in-memory Store that counts its writes, for tests of
// the step machine that look at every transition.
type memStore struct {
	mu      sync.Mutex
	recs    map[string]state.Record
	history []state.Record // every Put, in order
	failPut bool
}

func newMemStore() *memStore { return &memStore{recs: map[string]state.Record{}} }

func (m *memStore) Get(a string) (state.Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[a]
	return r, ok
}

func (m *memStore) Records() []state.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []state.Record
	for _, k := range slices.Sorted(maps.Keys(m.recs)) {
		out = append(out, m.recs[k])
	}
	return out
}

func (m *memStore) Addresses() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.recs))
}

func (m *memStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.recs)
}

func (m *memStore) Put(r state.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPut {
		return fmt.Errorf("disk full")
	}
	m.recs[r.Address] = r
	m.history = append(m.history, r)
	return nil
}

func (m *memStore) Delete(a string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, a)
	return nil
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
	return spec.Report{Address: "report." + name, Name: name, Statements: statements,
		Operations: []string{"categorisation"}, Country: "uk", Output: "out/" + name + ".json"}
}

// fixture is a working directory, an engine and an applier over them.
type fixture struct {
	t      *testing.T
	dir    string
	engine *engine.Running
	client *nordigen.Client
	store  *memStore
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
	return &fixture{t: t, dir: t.TempDir(), engine: e, client: c, store: newMemStore()}
}

func (f *fixture) applier() *Applier {
	return &Applier{Dir: f.dir, Store: f.store, API: f.client, PollMin: 10 * time.Millisecond, PollMax: 50 * time.Millisecond}
}

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
		s = append(s, c.Address+"="+string(c.Action))
	}
	return strings.Join(s, " ")
}
