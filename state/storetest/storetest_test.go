package storetest_test

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/storetest"
)

// memStore is a Store in memory that keeps its records as JSON on a
// "disk" that outlives it: the smallest correct implementation, and, with
// a bug switched on, one the suite must fail.
type memStore struct {
	bug  string
	disk *disk
}

type disk struct {
	mu      sync.Mutex
	records map[report.Address][]byte
	shared  map[report.Address]*state.Record // for the bug "shares"
}

func newMemStore(bug string) *memStore {
	return &memStore{bug: bug, disk: &disk{records: map[report.Address][]byte{}, shared: map[report.Address]*state.Record{}}}
}

func decode(b []byte) state.Record {
	var r state.Record
	if err := json.Unmarshal(b, &r); err != nil {
		panic(err)
	}
	return r
}

// View decodes the record afresh: a store need not share to give a view.
func (m *memStore) View(a report.Address) (*state.Record, bool) {
	r, ok := m.Get(a)
	return &r, ok
}

func (m *memStore) Get(a report.Address) (state.Record, bool) {
	m.disk.mu.Lock()
	defer m.disk.mu.Unlock()
	if m.bug == "shares" {
		r, ok := m.disk.shared[a]
		if !ok {
			return state.Record{}, false
		}
		return *r, true
	}
	b, ok := m.disk.records[a]
	if !ok {
		return state.Record{}, false
	}
	return decode(b), true
}

func (m *memStore) Records() []state.Record {
	var rs []state.Record
	for _, a := range m.Addresses() {
		if r, ok := m.Get(a); ok {
			rs = append(rs, r)
		}
	}
	return rs
}

func (m *memStore) Addresses() []report.Address {
	m.disk.mu.Lock()
	defer m.disk.mu.Unlock()
	as := slices.Collect(maps.Keys(m.disk.records))
	slices.Sort(as)
	if m.bug == "unsorted" {
		slices.Reverse(as)
	}
	return as
}

func (m *memStore) Len() int {
	m.disk.mu.Lock()
	defer m.disk.mu.Unlock()
	if m.bug == "len" {
		return len(m.disk.records) + len(m.disk.records)/5
	}
	return len(m.disk.records)
}

func (m *memStore) Put(r state.Record) error {
	if r.Address == "" && m.bug != "empty address" {
		return errors.New("put: record without an address")
	}
	if m.bug != "keeps Updated" {
		r.Updated = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	m.disk.mu.Lock()
	defer m.disk.mu.Unlock()
	m.disk.records[r.Address] = b
	m.disk.shared[r.Address] = &r
	return nil
}

func (m *memStore) Delete(a report.Address) error {
	m.disk.mu.Lock()
	defer m.disk.mu.Unlock()
	if _, ok := m.disk.records[a]; !ok && m.bug == "delete missing" {
		return errors.New("no such record")
	}
	delete(m.disk.records, a)
	delete(m.disk.shared, a)
	return nil
}

func (m *memStore) Move(from, to report.Address) error {
	m.disk.mu.Lock()
	defer m.disk.mu.Unlock()
	b, ok := m.disk.records[from]
	if _, taken := m.disk.records[to]; !ok || (taken && m.bug != "move overwrites") {
		return errors.New("cannot move")
	}
	r := decode(b)
	r.Address, r.Updated = to, time.Now().UTC()
	nb, err := json.Marshal(r)
	if err != nil {
		return err
	}
	m.disk.records[to], m.disk.shared[to] = nb, &r
	if m.bug != "move copies" {
		delete(m.disk.records, from)
		delete(m.disk.shared, from)
	}
	return nil
}

func (m *memStore) Reopen(t *testing.T) storetest.Store {
	if m.bug == "forgets" {
		return newMemStore(m.bug)
	}
	return &memStore{bug: m.bug, disk: m.disk}
}

func TestRun_memStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return newMemStore("") })
}

// TestRun_notReopenable: a store that cannot be reopened skips Durable.
func TestRun_notReopenable(t *testing.T) {
	type plain struct{ storetest.Store }
	storetest.Run(t, func(t *testing.T) storetest.Store { return plain{newMemStore("")} })
}

const bugEnv = "STORETEST_BUG"

// TestRun_broken is run by TestRun_catchesBugs in a process of its own,
// against a store with the bug the environment names.
func TestRun_broken(t *testing.T) {
	bug := os.Getenv(bugEnv)
	if bug == "" {
		t.Skip("run by TestRun_catchesBugs")
	}
	storetest.Run(t, func(t *testing.T) storetest.Store { return newMemStore(bug) })
}

// TestRun_catchesBugs runs the suite against stores that each break one
// rule of the contract, and expects the subtests of that rule to fail
// (and the others to pass).
func TestRun_catchesBugs(t *testing.T) {
	for _, c := range []struct {
		bug  string
		fail []string
	}{
		{"shares", []string{"PutIsolated", "GetIsolated", "RecordsIsolated"}},
		{"unsorted", []string{"Sorted"}},
		{"delete missing", []string{"Delete"}},
		{"keeps Updated", []string{"RoundTrip", "PutIsolated", "GetIsolated", "RecordsIsolated", "Sorted", "Delete", "Len", "Move", "Durable"}},
		{"len", []string{"Len", "Concurrent"}},
		{"empty address", []string{"PutWithoutAddress"}},
		{"forgets", []string{"Durable", "Move"}},
		{"move copies", []string{"Move"}},
		{"move overwrites", []string{"Move"}},
	} {
		t.Run(c.bug, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestRun_broken$", "-test.v")
			cmd.Env = append(os.Environ(), bugEnv+"="+c.bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store with the bug %q:\n%s", c.bug, out)
			}
			for _, name := range []string{"Record", "Empty", "RoundTrip", "PutWithoutAddress", "PutIsolated", "GetIsolated",
				"RecordsIsolated", "Sorted", "Delete", "Len", "Move", "Concurrent", "Durable"} {
				failed := strings.Contains(string(out), "--- FAIL: TestRun_broken/"+name+" ")
				if want := slices.Contains(c.fail, name); failed != want {
					t.Errorf("subtest %s failed: %v, want %v", name, failed, want)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}
