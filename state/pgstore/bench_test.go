package pgstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerform/ledgerform/internal/pgtest"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
	"github.com/ledgerform/ledgerform/state/storetest"
)

// transitionStore is what BenchmarkTransition times.
type transitionStore interface {
	Put(state.Record) error
	Close() error
}

// BenchmarkTransition times one state transition (a Put, durable when it
// returns) of a full record, on the file store (an append and an fsync)
// and on PostgreSQL over loopback TCP: as the only writer (apply), and as
// a daemon whose every change is fenced by its lease (watch). The test
// server runs with fsync off; for the benchmark it is turned on, with
// synchronous_commit, so that a commit waits for its WAL flush as in
// production.
func BenchmarkTransition(b *testing.B) {
	db := pgtest.New(b)
	db.Env(b)
	db.Server.Exec(b, "ALTER SYSTEM SET fsync = on")
	db.Server.Exec(b, "ALTER SYSTEM SET synchronous_commit = on")
	db.Server.Exec(b, "SELECT pg_reload_conf()")
	b.Cleanup(func() {
		db.Server.Exec(b, "ALTER SYSTEM RESET fsync")
		db.Server.Exec(b, "ALTER SYSTEM RESET synchronous_commit")
		db.Server.Exec(b, "SELECT pg_reload_conf()")
	})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.URL())
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"fsync", "synchronous_commit"} {
		var v string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil || v != "on" {
			b.Fatalf("%s = %q, %v; want on", name, v, err)
		}
	}
	conn.Close(ctx)
	for _, c := range []struct {
		name string
		open func(b *testing.B) (transitionStore, func(state.Record))
	}{
		{"file", func(b *testing.B) (transitionStore, func(state.Record)) {
			s, err := state.Open(filepath.Join(b.TempDir(), ".ledgerform"))
			if err != nil {
				b.Fatal(err)
			}
			return s, func(state.Record) {}
		}},
		{"postgres", func(b *testing.B) (transitionStore, func(state.Record)) {
			s, err := pgstore.Open(ctx, pgstore.Options{URL: db.URL(), Workspace: b.Name(), Mode: pgstore.Exclusive})
			if err != nil {
				b.Fatal(err)
			}
			return s, func(state.Record) {}
		}},
		{"postgres-leased", func(b *testing.B) (transitionStore, func(state.Record)) {
			s, err := pgstore.Open(ctx, pgstore.Options{URL: db.URL(), Workspace: b.Name(), Mode: pgstore.Shared})
			if err != nil {
				b.Fatal(err)
			}
			return s, func(r state.Record) {
				if _, _, err := s.Claim(ctx, r.Address); err != nil {
					b.Fatal(err)
				}
			}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, prepare := c.open(b)
			defer s.Close()
			recs := make([]state.Record, 100)
			for i := range recs {
				recs[i] = storetest.Record(i)
				prepare(recs[i])
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.Put(recs[i%len(recs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
