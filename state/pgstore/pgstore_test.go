package pgstore_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/internal/pgtest"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
	"github.com/ledgerform/ledgerform/state/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var _ storetest.Store = (*pgstore.Store)(nil)

func open(t *testing.T, url string, mode pgstore.Mode) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), pgstore.Options{URL: url, Workspace: "w", Mode: mode, LeaseTime: 3 * time.Second})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// reopenable is a Store that storetest can reopen: closed, or abandoned
// as a killed process would leave it.
type reopenable struct {
	*pgstore.Store
	url   string
	mode  pgstore.Mode
	crash bool
}

func (r *reopenable) Reopen(t *testing.T) storetest.Store {
	if r.crash {
		pgstore.Crash(r.Store)
	} else if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return &reopenable{Store: open(t, r.url, r.mode), url: r.url, mode: r.mode, crash: r.crash}
}

// TestStore_contract holds the PostgreSQL store to the contract the file
// store is held to, as the only writer and as one of several daemons
// (where each change is fenced by a lease, which the test takes first).
func TestStore_contract(t *testing.T) {
	for _, c := range []struct {
		name  string
		crash bool
	}{{"closed", false}, {"crashed", true}} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Store {
				db := pgtest.New(t)
				db.Env(t)
				return &reopenable{Store: open(t, db.URL(), pgstore.Exclusive), url: db.URL(), mode: pgstore.Exclusive, crash: c.crash}
			})
		})
	}
}

// TestWorkspaces: two workspaces in one database share nothing, and a
// workspace is found again by its name.
func TestWorkspaces(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	ctx := context.Background()
	a, err := pgstore.Open(ctx, pgstore.Options{URL: db.URL(), Workspace: "a", Mode: pgstore.Exclusive})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := pgstore.Open(ctx, pgstore.Options{URL: db.URL() + "&workspace=b", Workspace: "ignored", Mode: pgstore.Exclusive})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != "b" {
		t.Errorf("workspace = %q, want the URL's b", b.Name())
	}
	if err := a.Put(storetest.Record(1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(storetest.Record(2)); err != nil {
		t.Fatal(err)
	}
	if got := a.Addresses(); len(got) != 1 || got[0] != storetest.Record(1).Address {
		t.Errorf("workspace a has %v", got)
	}
	if a.Lineage() == b.Lineage() || a.Lineage() == "" {
		t.Errorf("lineages %q and %q: want two distinct ones", a.Lineage(), b.Lineage())
	}
	lineage, serial := a.Lineage(), a.Serial()
	a.Close()
	ro, err := pgstore.Open(ctx, pgstore.Options{URL: db.URL(), Workspace: "a", Mode: pgstore.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.Lineage() != lineage || ro.Serial() != serial || ro.Len() != 1 {
		t.Errorf("reopened: lineage %q serial %d len %d; want %q %d 1", ro.Lineage(), ro.Serial(), ro.Len(), lineage, serial)
	}
	if err := ro.Put(storetest.Record(3)); !errors.Is(err, state.ErrReadOnly) {
		t.Errorf("Put on a read-only store: %v, want ErrReadOnly", err)
	}
}

// TestReadOnly_writesNothing: plan's store on a database without a schema
// is an empty state, and creates nothing.
func TestReadOnly_writesNothing(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	ro := open(t, db.URL(), pgstore.ReadOnly)
	if ro.Len() != 0 || ro.Lineage() != "" {
		t.Errorf("read-only store of an empty database: %d records, lineage %q", ro.Len(), ro.Lineage())
	}
	ro.Close()
	db.Admin(t, "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_tables WHERE tablename LIKE 'ledgerform%') THEN RAISE 'tables were created'; END IF; END $$")
}

// TestSchema_newerRefused: a schema newer than this ledgerform's is
// refused, naming both versions, and nothing is written.
func TestSchema_newerRefused(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	s := open(t, db.URL(), pgstore.Exclusive)
	if err := s.Put(storetest.Record(1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db.Admin(t, "INSERT INTO ledgerform_schema (version, name) VALUES (999, '999_future.sql')")
	for _, mode := range []pgstore.Mode{pgstore.ReadOnly, pgstore.Exclusive, pgstore.Shared} {
		_, err := pgstore.Open(context.Background(), pgstore.Options{URL: db.URL(), Workspace: "w", Mode: mode})
		var ve *state.VersionError
		if !errors.As(err, &ve) || ve.Version != 999 || ve.Newest != pgstore.SchemaVersion {
			t.Errorf("mode %d: Open of a newer schema: %v; want a VersionError 999 > %d", mode, err, pgstore.SchemaVersion)
		}
	}
	db.Admin(t, "DO $$ BEGIN IF (SELECT count(*) FROM ledgerform_records) <> 1 THEN RAISE 'records changed'; END IF; END $$")
}

// TestSchema_migrates: a database at version 1 (as the first ledgerform
// with this store left it) is migrated to the current version, its
// records kept.
func TestSchema_migrates(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	v1, err := os.ReadFile("migrations/001_records.sql")
	if err != nil {
		t.Fatal(err)
	}
	db.Admin(t, "SET ROLE "+pgtest.User+";"+string(v1)+`;
		CREATE TABLE ledgerform_schema (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now());
		INSERT INTO ledgerform_schema (version, name) VALUES (1, '001_records.sql');
		INSERT INTO ledgerform_workspaces (name, lineage, serial) VALUES ('w', 'old-lineage', 7);
		INSERT INTO ledgerform_records (workspace, address, record, serial, updated)
			SELECT id, 'report.kept', '{"address":"report.kept","spec":{"statements":["a.json"],"operations":["categorisation"],"country":"uk","output":"out/a.json"},"digest":"d","files":null,"phase":"completed","updated":"2026-01-02T03:04:05Z"}', 7, now()
			FROM ledgerform_workspaces`)
	s := open(t, db.URL(), pgstore.Shared)
	r, ok := s.Get("report.kept")
	if !ok || r.Phase != state.Completed || s.Lineage() != "old-lineage" || s.Serial() != 7 {
		t.Fatalf("after the migration: %+v, %v, lineage %q, serial %d", r, ok, s.Lineage(), s.Serial())
	}
	ctx := context.Background()
	if _, release, err := s.Claim(ctx, "report.kept"); err != nil {
		t.Fatalf("Claim after migrating to leases: %v", err)
	} else {
		release()
	}
	db.Admin(t, "DO $$ BEGIN IF (SELECT max(version) FROM ledgerform_schema) <> "+strconv.Itoa(pgstore.SchemaVersion)+" THEN RAISE 'not migrated'; END IF; END $$")
}

// TestLock: a second writer fails at once naming the holder's host and
// pid; daemons share; a reader takes no lock; the lock goes with the
// holder's session.
func TestLock(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	ctx := context.Background()
	a := open(t, db.URL(), pgstore.Exclusive)
	start := time.Now()
	_, err := pgstore.Open(ctx, pgstore.Options{URL: db.URL(), Workspace: "w", Mode: pgstore.Exclusive})
	var le *state.LockedError
	host, _ := os.Hostname()
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.Host != host {
		t.Fatalf("second exclusive Open: %v; want a LockedError naming pid %d on %s", err, os.Getpid(), host)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the second Open took %s: it should fail at once", d)
	}
	if !strings.Contains(err.Error(), "pid") || !strings.Contains(err.Error(), host) {
		t.Errorf("message %q does not name the holder", err)
	}
	if _, err := pgstore.Open(ctx, pgstore.Options{URL: db.URL(), Workspace: "w", Mode: pgstore.Shared}); !errors.As(err, &le) {
		t.Errorf("a daemon beside an apply: %v, want a LockedError", err)
	}
	open(t, db.URL(), pgstore.ReadOnly) // plan: no lock
	// Another workspace is not locked.
	other, err := pgstore.Open(ctx, pgstore.Options{URL: db.URL(), Workspace: "other", Mode: pgstore.Exclusive})
	if err != nil {
		t.Fatalf("another workspace: %v", err)
	}
	other.Close()
	// The lock goes with a crashed holder's session.
	pgstore.Crash(a)
	d1 := open(t, db.URL(), pgstore.Shared)
	d2 := open(t, db.URL(), pgstore.Shared)
	_, _ = d1, d2
	if _, err := pgstore.Open(ctx, pgstore.Options{URL: db.URL(), Workspace: "w", Mode: pgstore.Exclusive, LockTimeout: 300 * time.Millisecond}); !errors.As(err, &le) || le.Waited == 0 {
		t.Errorf("an apply beside two daemons, waiting: %v; want a LockedError after the wait", err)
	}
}

// TestLeases: a claim is exclusive between daemons without blocking; a
// change is fenced by the lease; a released lease is free at once; a
// crashed daemon's lease is free once it expires, and the next holder
// reads the record it left.
func TestLeases(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	ctx := context.Background()
	a, b := open(t, db.URL(), pgstore.Shared), open(t, db.URL(), pgstore.Shared)
	r := storetest.Record(1)
	if err := a.Put(r); !errors.Is(err, state.ErrLeaseLost) {
		t.Fatalf("Put without the lease: %v, want ErrLeaseLost", err)
	}
	lctx, release, err := a.Claim(ctx, r.Address)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(r); err != nil {
		t.Fatalf("Put with the lease: %v", err)
	}
	start := time.Now()
	_, _, err = b.Claim(ctx, r.Address)
	var he *state.HeldError
	if !errors.As(err, &he) || he.Owner != a.Owner() {
		t.Fatalf("b's claim of a's report: %v; want a HeldError naming %s", err, a.Owner())
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("the refused claim took %s", time.Since(start))
	}
	if err := b.Put(r); !errors.Is(err, state.ErrLeaseLost) {
		t.Errorf("b's Put of a's report: %v, want ErrLeaseLost", err)
	}
	if err := b.Delete(r.Address); !errors.Is(err, state.ErrLeaseLost) {
		t.Errorf("b's Delete of a's report: %v, want ErrLeaseLost", err)
	}
	ls, err := b.Leases(ctx)
	if err != nil || len(ls) != 1 || ls[0].Owner != a.Owner() || ls[0].Address != r.Address {
		t.Errorf("Leases = %+v, %v", ls, err)
	}
	// Renewed: still held past the lease time.
	time.Sleep(a.LeaseTime() + 500*time.Millisecond)
	if lctx.Err() != nil {
		t.Fatalf("the lease was lost while renewed: %v", context.Cause(lctx))
	}
	if _, _, err := b.Claim(ctx, r.Address); !errors.As(err, &he) {
		t.Fatalf("b's claim after the lease time, a renewing: %v", err)
	}
	release()
	if lctx.Err() == nil {
		t.Error("the lease's context lives on after release")
	}
	_, brelease, err := b.Claim(ctx, r.Address)
	if err != nil {
		t.Fatalf("b's claim of a released lease: %v", err)
	}
	got, ok := b.Get(r.Address)
	if !ok || got.UploadID != r.UploadID {
		t.Fatalf("b's record after the claim: %+v, %v; want a's", got, ok)
	}
	brelease()

	// A crashed daemon's lease expires; the record it left is read.
	c := open(t, db.URL(), pgstore.Shared)
	_, _, err = c.Claim(ctx, r.Address)
	if err != nil {
		t.Fatal(err)
	}
	r.ProcessID = "recorded-by-c"
	if err := c.Put(r); err != nil {
		t.Fatal(err)
	}
	pgstore.Crash(c)
	if _, _, err := a.Claim(ctx, r.Address); !errors.As(err, &he) {
		t.Fatalf("a claim while the crashed daemon's lease runs: %v", err)
	}
	deadline := time.Now().Add(2 * a.LeaseTime())
	for {
		_, rel, err := a.Claim(ctx, r.Address)
		if err == nil {
			if got, _ := a.Get(r.Address); got.ProcessID != "recorded-by-c" {
				t.Errorf("after taking over: process id %q, want the one recorded", got.ProcessID)
			}
			rel()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the crashed daemon's lease never expired: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLeases_lostIsCancelled: a lease another daemon takes over (here by
// force, as after a pause longer than the lease) cancels the holder's
// context, and its changes are refused.
func TestLeases_lostIsCancelled(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	ctx := context.Background()
	a := open(t, db.URL(), pgstore.Shared)
	addr := report.Address("report.a")
	lctx, release, err := a.Claim(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	db.Admin(t, "UPDATE ledgerform_leases SET owner = 'thief', expires = now() + interval '1 hour'")
	select {
	case <-lctx.Done():
		if !errors.Is(context.Cause(lctx), state.ErrLeaseLost) {
			t.Errorf("cause %v, want ErrLeaseLost", context.Cause(lctx))
		}
	case <-time.After(2 * a.LeaseTime()):
		t.Fatal("the lost lease's context was not cancelled")
	}
	r := storetest.Record(1)
	r.Address = addr
	if err := a.Put(r); !errors.Is(err, state.ErrLeaseLost) {
		t.Errorf("Put after losing the lease: %v", err)
	}
}

// TestRefresh_keepsHeldRecords: a refresh does not undo, in memory, the
// record of a report this store holds the lease of (a read that began
// before its last change would); the others are read afresh.
func TestRefresh_keepsHeldRecords(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	ctx := context.Background()
	a, b := open(t, db.URL(), pgstore.Shared), open(t, db.URL(), pgstore.Shared)
	held, other := storetest.Record(1), storetest.Record(2)
	for _, r := range []state.Record{held, other} {
		_, release, err := b.Claim(ctx, r.Address)
		if err != nil {
			t.Fatal(err)
		}
		r.Phase = state.Uploaded
		if err := b.Put(r); err != nil {
			t.Fatal(err)
		}
		release()
	}
	_, release, err := a.Claim(ctx, held.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	held.Phase = state.Processing
	if err := a.Put(held); err != nil {
		t.Fatal(err)
	}
	// What an older read would bring back, and another's change.
	db.Admin(t, `UPDATE ledgerform_records SET record = jsonb_set(record, '{phase}', '"uploaded"') WHERE address = '`+string(held.Address)+`';
		UPDATE ledgerform_records SET record = jsonb_set(record, '{phase}', '"completed"') WHERE address = '`+string(other.Address)+`'`)
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := a.Get(held.Address); r.Phase != state.Processing {
		t.Errorf("the held report after a refresh: %s, want processing (this store's last change)", r.Phase)
	}
	if r, _ := a.Get(other.Address); r.Phase != state.Completed {
		t.Errorf("another report after a refresh: %s, want completed (as the database has it)", r.Phase)
	}
}
