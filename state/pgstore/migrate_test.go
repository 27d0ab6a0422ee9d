package pgstore

import (
	"strings"
	"testing"
)

// TestMigrations: the embedded migrations are numbered 1, 2, … without a
// gap or a repeat, each with SQL in it, and SchemaVersion is the last.
func TestMigrations(t *testing.T) {
	if len(migrations) == 0 {
		t.Fatal("no migration embedded")
	}
	for i, m := range migrations {
		if m.version != i+1 {
			t.Errorf("migration %d is %s, numbered %d", i+1, m.name, m.version)
		}
		if strings.TrimSpace(m.sql) == "" {
			t.Errorf("%s is empty", m.name)
		}
	}
	if SchemaVersion != len(migrations) {
		t.Errorf("SchemaVersion = %d, want %d", SchemaVersion, len(migrations))
	}
}
