package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerform/ledgerform/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestNew: a fresh database per call, reached over TCP with the password
// from PGPASSWORD, and refused without it.
func TestNew(t *testing.T) {
	a, b := pgtest.New(t), pgtest.New(t)
	if a.Name == b.Name {
		t.Fatalf("two databases named %s", a.Name)
	}
	ctx := context.Background()
	t.Setenv("PGPASSWORD", "wrong")
	if c, err := pgx.Connect(ctx, a.URL()); err == nil {
		c.Close(ctx)
		t.Fatal("connected with a wrong password")
	}
	a.Env(t)
	c, err := pgx.Connect(ctx, a.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var db string
	if err := c.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != a.Name {
		t.Fatalf("current_database() = %q, %v; want %q", db, err, a.Name)
	}
}
