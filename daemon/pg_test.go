package daemon

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/pgtest"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestWatch_SharedStateUnreachable: a PostgreSQL state that stops taking
// connections while the daemon runs is a condition of the daemon
// (StateReachable False, naming the database; a /readyz reason), not a
// failure of its reports: the new report waits, retried with backoff,
// and completes once the database is back.
func TestWatch_SharedStateUnreachable(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	dir := t.TempDir()
	pg, err := pgstore.Open(context.Background(), pgstore.Options{URL: db.URL(), Workspace: "w", Mode: pgstore.Shared, LeaseTime: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	write(t, dir, "s/a.json", statement(1))
	write(t, dir, "s/b.json", statement(2))
	write(t, dir, "ledgerform.yaml", manifest(reportYAML("a", "categorisation")))
	h := start(t, dir, Config{Store: pg, Leases: pg, BaseDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond}, engine.Config{})
	h.eventually("report.a completed", func() bool { return h.phase("report.a") == state.Completed })
	if c, _ := FindCondition(h.status().Conditions, ConditionStateReachable); c.Status != "True" {
		t.Errorf("StateReachable = %+v, want True", c)
	}

	db.Server.Exec(t, "ALTER DATABASE "+db.Name+" WITH ALLOW_CONNECTIONS false")
	db.Server.Exec(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+db.Name+"'")
	saveLikeAnEditor(t, dir, "ledgerform.yaml", manifest(reportYAML("a", "categorisation"), reportYAML("b", "categorisation")))
	host := fmt.Sprintf("127.0.0.1:%d", db.Server.Port)
	h.eventually("StateReachable False", func() bool {
		c, _ := FindCondition(h.status().Conditions, ConditionStateReachable)
		return c.Status == "False" && strings.Contains(c.Message, host)
	})
	if body := h.get("/readyz"); !strings.Contains(body, "the state cannot be used") {
		t.Errorf("/readyz does not give the state as a reason: %s", body)
	}
	time.Sleep(500 * time.Millisecond) // a few retries
	if h.calls("upload") != 1 {
		t.Errorf("%d uploads while the state could not record one, want only a's", h.calls("upload"))
	}

	db.Server.Exec(t, "ALTER DATABASE "+db.Name+" WITH ALLOW_CONNECTIONS true")
	h.eventually("report.b completed", func() bool { return h.phase("report.b") == state.Completed })
	if c, _ := FindCondition(h.status().Conditions, ConditionStateReachable); c.Status != "True" {
		t.Errorf("StateReachable after the database is back = %+v", c)
	}
	if !strings.Contains(h.logs.String(), "the state can be used again") {
		t.Errorf("no log of the state's return:\n%s", h.logs.String())
	}
	if strings.Contains(h.logs.String(), db.Server.Password) {
		t.Error("the log quotes the database password")
	}
}
