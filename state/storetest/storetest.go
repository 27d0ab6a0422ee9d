// Package storetest is the contract of a state store: Run tests that an
// implementation of Store behaves the way the reconciler relies on.
//
// Every Store implementation must pass it. The file store, *state.Store,
// runs it in state's own tests (TestStore_contract), and so does the
// PostgreSQL store, *pgstore.Store (state/pgstore, against a real server);
// every further storage backend is held to this suite, as is every in-memory test double that
// stands in for a store, in the way litestream runs one suite against
// every replica client. A double that passes it cannot hide a bug the real
// store would expose, such as handing out records that share memory with
// the store, which is what the suite's isolation tests are for.
//
// Run it from the implementation's tests:
//
//	func TestStore_contract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store {
//			s := mystore.New(…) // empty, closed by t.Cleanup
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// and with -race: one subtest calls the store from many goroutines. A
// store that implements Reopener is also checked for durability: every
// Put and Delete that returned is there once it is reopened.
//
// Each rule has a subtest that fails when a store breaks it; the package's
// own tests run the suite against stores broken one way each to keep it
// so. A rule added to the contract gets a subtest here, and a broken store
// there that only it catches.
package storetest

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// Store is what the suite tests: the methods the reconciler uses, and
// Move, which ledgerform state mv uses. It must be safe for concurrent
// use. Put, Delete and Move must be durable when they return nil, to the
// extent the store outlives its process at all.
type Store interface {
	// Get returns the record of address, and whether there is one. The
	// record shares nothing with the store.
	Get(address report.Address) (state.Record, bool)
	// View returns the record of address for reading, and whether there
	// is one; it may be the store's own, and is not changed by later
	// changes of the store.
	View(address report.Address) (*state.Record, bool)
	// Records returns every record, sorted by address, sharing nothing
	// with the store.
	Records() []state.Record
	// Addresses returns every address, sorted.
	Addresses() []report.Address
	// Len returns the number of records.
	Len() int
	// Put records a copy of r under r.Address, with Updated set to the
	// current time in UTC; a record without an address is an error.
	Put(r state.Record) error
	// Delete forgets the record of address; a missing one is no error.
	Delete(address report.Address) error
	// Move records the record of from under to (with Address to, and
	// Updated set to the current time in UTC) and forgets from, as one
	// change: durable, and after a crash either done or not, never half
	// done (ledgerform state mv). A missing from, or a to that has a
	// record (from itself included), is an error, and nothing changes.
	Move(from, to report.Address) error
}

// Reopener is implemented by a Store whose records outlive it, in files
// or a database, for the durability tests. Reopen ends the store as its
// process would end (closing it, or abandoning it as a crash would) and
// returns a new Store opened on the same records; the suite no longer
// uses the old one. A Store that does not implement it skips them.
type Reopener interface {
	Reopen(t *testing.T) Store
}

// Run runs the contract as subtests of t. open must return a new, empty
// Store each time it is called, and arrange (with t.Cleanup) for its
// release at the end of the subtest t.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Record", func(t *testing.T) { checkFull(t, Record(1)) })
	tests := []struct {
		name string
		test func(t *testing.T, s Store)
	}{
		{"Empty", testEmpty},
		{"RoundTrip", testRoundTrip},
		{"PutWithoutAddress", testPutWithoutAddress},
		{"PutIsolated", testPutIsolated},
		{"GetIsolated", testGetIsolated},
		{"RecordsIsolated", testRecordsIsolated},
		{"Sorted", testSorted},
		{"Delete", testDelete},
		{"Len", testLen},
		{"Move", testMove},
		{"View", testView},
		{"Concurrent", testConcurrent},
		{"Durable", testDurable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, open(t)) })
	}
}

// Record returns a record with every field set, distinct for each i (its
// address is report.rNNNNNN). The suite fails if a field of state.Record
// is added and Record leaves it zero: set it here.
func Record(i int) state.Record {
	period, cur, shared, joint := 6+i%6, "GBP", true, true
	return state.Record{
		Address: report.Address(fmt.Sprintf("report.r%06d", i)),
		Spec: state.Spec{
			Statements: []string{fmt.Sprintf("statements/r%06d.json", i), "statements/common.json"},
			Operations: []string{"categorisation", "insights-income"},
			Country:    "uk",
			Params: &report.Params{Period: &period, Currency: &cur, DropSharedAccounts: &shared, DropJointAccounts: &joint,
				IncomeDefinition: []int{1, 2}, ExpenseDefinition: []int{3, i}},
			Output: fmt.Sprintf("out/r%06d.json", i),
		},
		Digest: fmt.Sprintf("%064x", i),
		Files: []state.File{{Path: fmt.Sprintf("statements/r%06d.json", i), Size: int64(1000 + i), MTime: 1700000000000000000 + int64(i),
			Inode: uint64(i + 1), SHA256: fmt.Sprintf("%064x", i+1)}},
		Phase:      state.Failed,
		UploadID:   fmt.Sprintf("9b2d4c1e-0000-4000-8000-%012d", i),
		ProcessID:  fmt.Sprintf("5f7a3b2c-0000-4000-8000-%012d", i),
		Attempts:   1 + i,
		LastError:  &state.Failure{Code: "SERVICE_UNAVAILABLE", Message: "try again", Permanent: true, Step: "poll"},
		Output:     &state.File{Path: fmt.Sprintf("out/r%06d.json", i), Size: 4242, MTime: 1700000001000000000, Inode: 9, SHA256: fmt.Sprintf("%064x", i+2)},
		Endpoint:   "https://api.example.test/v2",
		ReusedFrom: report.Address(fmt.Sprintf("report.r%06d", i+1)),
		// Put replaces it; not UTC, so that a store that keeps it is seen.
		Updated:  time.Date(2001, 2, 3, 4, 5, 6, 7, time.FixedZone("X", 3600)),
		Revision: fmt.Sprintf("%040x", i+3),
	}
}

// checkFull fails unless every field reachable from r is set.
func checkFull(t *testing.T, r state.Record) {
	t.Helper()
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		if v.IsZero() {
			t.Errorf("storetest.Record leaves %s zero: set it, so that the suite checks it round-trips", path)
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			walk(path, v.Elem())
		case reflect.Slice:
			for i := range v.Len() {
				walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				return
			}
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		}
	}
	walk("Record", reflect.ValueOf(r))
}

// put puts mk() and returns another mk() as the store should now hold it:
// with the Updated the store gave it, which must be about now, in UTC. The
// two share no memory, so that the result is what was put even if the
// store wrongly shares memory with what it was given.
func put(t *testing.T, s Store, mk func() state.Record) state.Record {
	t.Helper()
	r := mk()
	before := time.Now()
	if err := s.Put(r); err != nil {
		t.Fatalf("Put(%s): %v", r.Address, err)
	}
	after := time.Now()
	got, ok := s.Get(r.Address)
	if !ok {
		t.Fatalf("Get(%s) after Put: missing", r.Address)
	}
	// A second either side, for a store that keeps coarser times.
	if u := got.Updated; u.Location() != time.UTC || u.Before(before.Add(-time.Second)) || u.After(after.Add(time.Second)) {
		t.Errorf("Put(%s): Updated = %v, want the time of the Put (%v), in UTC", r.Address, u, before.UTC())
	}
	want := mk()
	want.Updated = got.Updated
	return want
}

// rec returns the func that makes Record(i).
func rec(i int) func() state.Record { return func() state.Record { return Record(i) } }

// sorted returns a copy of rs sorted by address, and sortedAddrs a sorted
// copy of as: for the subtests of rules other than the order, which is
// Sorted's business.
func sorted(rs []state.Record) []state.Record {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b state.Record) int { return cmp.Compare(a.Address, b.Address) })
	return rs
}

func sortedAddrs(as []report.Address) []report.Address {
	as = slices.Clone(as)
	slices.Sort(as)
	return as
}

func diff(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func testEmpty(t *testing.T, s Store) {
	if r, ok := s.Get("report.missing"); ok || !reflect.ValueOf(r).IsZero() {
		t.Errorf("Get of a missing address = %+v, %v; want a zero Record, false", r, ok)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len of a new store = %d, want 0", n)
	}
	if rs := s.Records(); len(rs) != 0 {
		t.Errorf("Records of a new store: %d records, want none", len(rs))
	}
	if as := s.Addresses(); len(as) != 0 {
		t.Errorf("Addresses of a new store = %q, want none", as)
	}
}

func testRoundTrip(t *testing.T, s Store) {
	want := put(t, s, rec(1))
	got, _ := s.Get(want.Address)
	diff(t, "Get after Put", got, want)
	diff(t, "Records after Put", s.Records(), []state.Record{want})

	// A second Put replaces the record whole.
	want = put(t, s, func() state.Record {
		r := Record(1)
		r.Phase, r.LastError, r.Output, r.Files = state.Completed, nil, nil, nil
		return r
	})
	got, _ = s.Get(want.Address)
	diff(t, "Get after a second Put", got, want)
	if n := s.Len(); n != 1 {
		t.Errorf("Len after two Puts of one address = %d, want 1", n)
	}
}

func testPutWithoutAddress(t *testing.T, s Store) {
	r := Record(1)
	r.Address = ""
	if err := s.Put(r); err == nil {
		t.Errorf("Put of a record without an address: no error")
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len after a refused Put = %d, want 0", n)
	}
}

// scribble changes everything reachable from v (addressable): every
// string, number, bool and time, through every pointer and slice.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribble(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			scribble(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			v.Set(reflect.ValueOf(t.Add(time.Hour)))
			return
		}
		for i := range v.NumField() {
			scribble(v.Field(i))
		}
	case reflect.String:
		v.SetString(v.String() + "!")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	}
}

func scribbleRecord(r *state.Record) { scribble(reflect.ValueOf(r).Elem()) }

func testPutIsolated(t *testing.T, s Store) {
	var made []state.Record // what was put, then what is wanted
	want := put(t, s, func() state.Record {
		made = append(made, Record(1))
		return made[len(made)-1]
	})
	scribbleRecord(&made[0]) // what the caller of Put still holds
	got, _ := s.Get(want.Address)
	diff(t, "Get after changing the record given to Put", got, want)
}

func testGetIsolated(t *testing.T, s Store) {
	want := put(t, s, rec(1))
	got, _ := s.Get(want.Address)
	scribbleRecord(&got)
	got, _ = s.Get(want.Address)
	diff(t, "Get after changing what an earlier Get returned", got, want)
}

func testRecordsIsolated(t *testing.T, s Store) {
	want := []state.Record{put(t, s, rec(1)), put(t, s, rec(2))}
	rs := s.Records()
	for i := range rs {
		scribbleRecord(&rs[i])
	}
	rs[0] = state.Record{Address: "report.changed"}
	diff(t, "Records after changing what an earlier Records returned", sorted(s.Records()), want)
	as := s.Addresses()
	as[0] = "report.changed"
	diff(t, "Addresses after changing what an earlier Addresses returned", sortedAddrs(s.Addresses()), []report.Address{want[0].Address, want[1].Address})
}

func testSorted(t *testing.T, s Store) {
	const n = 50
	var want []state.Record
	for k := range n {
		want = append(want, put(t, s, rec((k*37)%n))) // every i < n, out of order
	}
	// Addresses that sort differently as strings and as numbers, and drop
	// addresses whose file names need quoting.
	for _, a := range []report.Address{
		report.ReportAddress("a10"), report.ReportAddress("a9"), report.ReportAddress("a-b"), report.ReportAddress("a.b"),
		report.DropAddress("inbox", "Ünïcode.json"), report.DropAddress("inbox", `a"b.json`), report.DropAddress("in", "z.json"),
	} {
		want = append(want, put(t, s, func() state.Record {
			r := Record(0)
			r.Address = a
			return r
		}))
	}
	want = sorted(want)
	diff(t, "Records", s.Records(), want)
	var addrs []report.Address
	for _, r := range want {
		addrs = append(addrs, r.Address)
	}
	diff(t, "Addresses", s.Addresses(), addrs)
}

func testDelete(t *testing.T, s Store) {
	if err := s.Delete("report.missing"); err != nil {
		t.Errorf("Delete of a missing address from an empty store: %v", err)
	}
	a, b := put(t, s, rec(1)), put(t, s, rec(2))
	if err := s.Delete(a.Address); err != nil {
		t.Fatalf("Delete(%s): %v", a.Address, err)
	}
	if r, ok := s.Get(a.Address); ok {
		t.Errorf("Get after Delete = %+v, true; want nothing", r)
	}
	if err := s.Delete(a.Address); err != nil {
		t.Errorf("Delete of an address deleted already: %v", err)
	}
	if err := s.Delete("report.missing"); err != nil {
		t.Errorf("Delete of a missing address: %v", err)
	}
	if n := s.Len(); n != 1 {
		t.Errorf("Len after Delete = %d, want 1", n)
	}
	diff(t, "Records after Delete", s.Records(), []state.Record{b})
	diff(t, "Addresses after Delete", s.Addresses(), []report.Address{b.Address})
	// And it can be put again.
	a = put(t, s, rec(1))
	diff(t, "Records after putting a deleted address again", sorted(s.Records()), []state.Record{a, b})
}

func testLen(t *testing.T, s Store) {
	for i := range 10 {
		put(t, s, rec(i))
		put(t, s, rec(i/2)) // again, or an address put already
		if n := s.Len(); n != i+1 {
			t.Fatalf("Len after putting %d addresses = %d", i+1, n)
		}
	}
	if n, as, rs := s.Len(), len(s.Addresses()), len(s.Records()); n != as || n != rs {
		t.Errorf("Len = %d, but Addresses has %d and Records %d", n, as, rs)
	}
}

func testMove(t *testing.T, s Store) {
	if err := s.Move("report.missing", "report.new"); err == nil {
		t.Errorf("Move of a missing address: no error")
	}
	a, b := put(t, s, rec(1)), put(t, s, rec(2))
	to := report.ReportAddress("moved")
	before := time.Now()
	if err := s.Move(a.Address, to); err != nil {
		t.Fatalf("Move(%s, %s): %v", a.Address, to, err)
	}
	after := time.Now()
	if r, ok := s.Get(a.Address); ok {
		t.Errorf("Get(%s) after moving it = %+v, true; want nothing", a.Address, r)
	}
	got, ok := s.Get(to)
	if !ok {
		t.Fatalf("Get(%s) after moving a record there: missing", to)
	}
	if u := got.Updated; u.Location() != time.UTC || u.Before(before.Add(-time.Second)) || u.After(after.Add(time.Second)) {
		t.Errorf("Move: Updated = %v, want the time of the Move (%v), in UTC", u, before.UTC())
	}
	moved := a
	moved.Address, moved.Updated = to, got.Updated
	diff(t, "Get of the address moved to", got, moved)
	if n := s.Len(); n != 2 {
		t.Errorf("Len after Move = %d, want 2", n)
	}

	// Refused: onto a record, onto itself, from a missing address.
	for _, m := range [][2]report.Address{{b.Address, to}, {to, b.Address}, {b.Address, b.Address}, {a.Address, "report.other"}} {
		if err := s.Move(m[0], m[1]); err == nil {
			t.Errorf("Move(%s, %s): no error", m[0], m[1])
		}
	}
	want := []state.Record{b, moved}
	diff(t, "Records after the refused Moves", sorted(s.Records()), sorted(want))
	if re, ok := s.(Reopener); ok {
		diff(t, "Records after Move and reopening", sorted(re.Reopen(t).Records()), sorted(want))
	}
}

// testConcurrent calls every method from many goroutines at once; under
// -race it also finds unsynchronised access.
func testConcurrent(t *testing.T, s Store) {
	const workers, each = 16, 12
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := Record(w*each + i)
				r.Attempts = w
				if err := s.Put(r); err != nil {
					t.Error(err)
					return
				}
				if got, ok := s.Get(r.Address); !ok || got.Attempts != w {
					t.Errorf("Get(%s) just after its Put = attempts %d, %v; want %d", r.Address, got.Attempts, ok, w)
				}
				if i%3 == 2 {
					if err := s.Delete(r.Address); err != nil {
						t.Error(err)
					}
				}
				s.Records()
				s.Addresses()
				s.Len()
			}
		})
	}
	wg.Wait()
	var want []report.Address
	for w := range workers {
		for i := range each {
			if i%3 != 2 {
				want = append(want, Record(w*each+i).Address)
			}
		}
	}
	slices.Sort(want)
	diff(t, "Addresses after the concurrent Puts and Deletes", sortedAddrs(s.Addresses()), want)
	if n := s.Len(); n != len(want) {
		t.Errorf("Len = %d, want %d", n, len(want))
	}
}

// testDurable: every Put and Delete that returned is there after the store
// is reopened, and the reopened store is as durable.
func testDurable(t *testing.T, s Store) {
	if _, ok := s.(Reopener); !ok {
		t.Skipf("%T cannot be reopened (it does not implement storetest.Reopener)", s)
	}
	want := map[report.Address]state.Record{}
	for round := range 2 {
		for i := range 20 {
			r := put(t, s, rec(round*10+i)) // half of them put again in round 1
			want[r.Address] = r
		}
		for i := 0; i < 20; i += 4 {
			a := Record(round*10 + i).Address
			if err := s.Delete(a); err != nil {
				t.Fatal(err)
			}
			delete(want, a)
		}
		re, ok := s.(Reopener)
		if !ok {
			t.Fatalf("the Store that Reopen returned, a %T, cannot be reopened", s)
		}
		s = re.Reopen(t)
		recs := sorted(slices.Collect(maps.Values(want)))
		diff(t, fmt.Sprintf("Records after reopening (round %d)", round+1), sorted(s.Records()), recs)
	}
}

// testView: View gives the record as Get does, and a record it gave does
// not change when the address is put again or deleted.
func testView(t *testing.T, s Store) {
	if _, ok := s.View("report.none"); ok {
		t.Error("View of an address never put: found")
	}
	r := put(t, s, func() state.Record { return Record(3) })
	v, ok := s.View(r.Address)
	got, _ := s.Get(r.Address)
	if !ok || !gocmp.Equal(*v, got) {
		t.Fatalf("View = %+v, %v; want what Get gives, %+v", v, ok, got)
	}
	put(t, s, func() state.Record { r2 := Record(4); r2.Address = r.Address; return r2 })
	if !gocmp.Equal(*v, got) {
		t.Errorf("a record from View changed when its address was put again")
	}
	if err := s.Delete(r.Address); err != nil {
		t.Fatal(err)
	}
	if !gocmp.Equal(*v, got) {
		t.Errorf("a record from View changed when its address was deleted")
	}
}
