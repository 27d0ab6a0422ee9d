package state_test

import (
	"path/filepath"
	"testing"

	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/storetest"
)

var _ storetest.Store = (*state.Store)(nil)

// fileStore is a *state.Store that storetest can reopen: closed as a
// process exiting closes it, or abandoned as a killed one would be.
type fileStore struct {
	*state.Store
	dir   string
	crash bool
}

func openFileStore(t *testing.T, dir string, crash bool) *fileStore {
	t.Helper()
	s, err := state.Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &fileStore{Store: s, dir: dir, crash: crash}
}

func (f *fileStore) Reopen(t *testing.T) storetest.Store {
	if f.crash {
		state.Crash(f.Store)
	} else if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return openFileStore(t, f.dir, f.crash)
}

// TestStore_contract holds the file store to the contract every store is
// held to, reopening it after a Close and after a crash.
func TestStore_contract(t *testing.T) {
	for _, c := range []struct {
		name  string
		crash bool
	}{{"closed", false}, {"crashed", true}} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Store {
				return openFileStore(t, filepath.Join(t.TempDir(), ".ledgerform"), c.crash)
			})
		})
	}
}
