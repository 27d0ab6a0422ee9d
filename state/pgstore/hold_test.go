package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerform/ledgerform/internal/pgtest"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
	"github.com/ledgerform/ledgerform/state/storetest"
)

// TestLeases_ClaimDuringRenewal: a lease claimed while a renewal's
// statement is under way is not in that statement's answer; it must not
// be taken for lost. The renewal is held up on a row lock of another of
// the Store's leases, the claim made and committed meanwhile.
func TestLeases_ClaimDuringRenewal(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	ctx := context.Background()
	a := open(t, db.URL(), pgstore.Shared)
	r1, r2 := storetest.Record(1), storetest.Record(2)
	l1, release1, err := a.Claim(ctx, r1.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer release1()
	conn, err := pgx.Connect(ctx, db.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM ledgerform_leases WHERE address = $1 FOR UPDATE", string(r1.Address)); err != nil {
		t.Fatal(err)
	}
	// Wait for the renewal to wait on that lock (seen from another
	// session: a transaction sees one snapshot of pg_stat_activity).
	watch, err := pgx.Connect(ctx, db.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(ctx)
	for deadline := time.Now().Add(2 * a.LeaseTime()); ; time.Sleep(10 * time.Millisecond) {
		var waiting bool
		if err := watch.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
			AND query LIKE 'UPDATE ledgerform_leases SET expires%owner = $2 RETURNING address')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no renewal came to wait on the lock")
		}
	}
	l2, release2, err := a.Claim(ctx, r2.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Past the renewal that was held up, and the next.
	time.Sleep(a.LeaseTime() * 2 / 3)
	for _, l := range []context.Context{l1, l2} {
		if l.Err() != nil {
			t.Errorf("a lease was taken for lost: %v", context.Cause(l))
		}
	}
	if err := a.Put(r2); err != nil {
		t.Errorf("Put of the report claimed during the renewal: %v", err)
	}
}

// TestHold: Hold renews a held lease and returns an instant about half a
// lease time ahead; a lease not held, or taken by another after it
// expired, is ErrLeaseLost and ends the lease's context.
func TestHold(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	ctx := context.Background()
	a, b := open(t, db.URL(), pgstore.Shared), open(t, db.URL(), pgstore.Shared)
	r := storetest.Record(1)
	if _, err := a.Hold(ctx, r.Address); !errors.Is(err, state.ErrLeaseLost) {
		t.Fatalf("Hold without the lease: %v, want ErrLeaseLost", err)
	}
	lctx, release, err := a.Claim(ctx, r.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	start := time.Now()
	until, err := a.Hold(ctx, r.Address)
	if err != nil {
		t.Fatal(err)
	}
	if until.Before(start.Add(a.LeaseTime()/2)) || until.After(time.Now().Add(a.LeaseTime()/2)) {
		t.Errorf("Hold returned %s after its start, want half the lease time (%s)", until.Sub(start), a.LeaseTime()/2)
	}
	// Another daemon takes it after it expired (the expiry set by hand,
	// and the owner, so that a's renewal does not win it back first).
	db.Admin(t, "UPDATE ledgerform_leases SET owner = 'expired', expires = now() - interval '1 second'")
	if _, rel, err := b.Claim(ctx, r.Address); err != nil {
		t.Fatal(err)
	} else {
		defer rel()
	}
	if _, err := a.Hold(ctx, r.Address); !errors.Is(err, state.ErrLeaseLost) {
		t.Errorf("Hold of a lease another took: %v, want ErrLeaseLost", err)
	}
	if !errors.Is(context.Cause(lctx), state.ErrLeaseLost) {
		t.Errorf("the lease's context after Hold found it taken: %v", context.Cause(lctx))
	}
}

// TestHold_exclusive: the only writer (apply) has no leases, and needs
// none: Hold answers the zero time (no bound) and no error, so apply's
// processing requests are made.
func TestHold_exclusive(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	s := open(t, db.URL(), pgstore.Exclusive)
	until, err := s.Hold(context.Background(), storetest.Record(1).Address)
	if err != nil || !until.IsZero() {
		t.Errorf("Hold on an exclusive store = %v, %v; want the zero time and no error", until, err)
	}
}
