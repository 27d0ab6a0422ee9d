package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ledgerform/ledgerform/state"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// A migration is one file of migrations/: NNN_name.sql brings the schema
// to version NNN.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations are the embedded migrations, in order; their versions run
// 1, 2, … without a gap (TestMigrations checks it).
var migrations = func() []migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("pgstore: migration without a version: " + e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			panic(err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	return ms
}()

// SchemaVersion is the version of the schema this ledgerform writes: the
// last migration's.
var SchemaVersion = migrations[len(migrations)-1].version

// querier is what schemaVersion needs: a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion is the database's schema version (0: none), refused as a
// *state.VersionError if it is newer than this ledgerform's.
func (s *Store) schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM ledgerform_schema").Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, s.dbError("read the schema version", err)
	}
	if v > SchemaVersion {
		return v, &state.VersionError{Path: s.target + " (table ledgerform_schema)", Version: v, Newest: SchemaVersion}
	}
	return v, nil
}

// migrate brings the schema to SchemaVersion, one migration per
// transaction, under a transaction-level advisory lock that serialises
// the processes migrating one database at once.
func (s *Store) migrate(ctx context.Context) error {
	for {
		done := false
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, 0)", int32(lockClass)); err != nil {
				return s.dbError("migrate the schema", err)
			}
			if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS ledgerform_schema (version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())"); err != nil {
				return s.dbError("migrate the schema", err)
			}
			v, err := s.schemaVersion(ctx, tx)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(migrations, func(m migration) bool { return m.version > v })
			if i < 0 {
				done = true
				return nil
			}
			m := migrations[i]
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return s.dbError(fmt.Sprintf("migrate the schema to version %d (%s)", m.version, m.name), err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO ledgerform_schema (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
				return s.dbError("migrate the schema", err)
			}
			return nil
		})
		if err != nil {
			var e *Error
			var ve *state.VersionError
			if !errors.As(err, &e) && !errors.As(err, &ve) {
				err = s.dbError("migrate the schema", err)
			}
			return err
		}
		if done {
			return nil
		}
	}
}
