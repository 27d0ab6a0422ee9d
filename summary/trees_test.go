package summary

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/nordigen"
)

// engineFetch starts an engine on loopback and returns a Fetch over real
// HTTP that counts its calls.
func engineFetch(t *testing.T) (func(context.Context, string) (*api.CategoryTree, error), *atomic.Int32) {
	t.Helper()
	e, err := engine.StartEmbedded(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	cl, err := nordigen.New(nordigen.Config{BaseURL: e.URL, ClientID: e.ClientID, ClientSecret: nordigen.NewSecret(e.ClientSecret)})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	return func(ctx context.Context, country string) (*api.CategoryTree, error) {
		n.Add(1)
		return cl.CategoryTree(ctx, country)
	}, &n
}

func TestTrees_FetchOnceThenOffline(t *testing.T) {
	ctx := context.Background()
	fetch, calls := engineFetch(t)
	dir := filepath.Join(t.TempDir(), ".ledgerform", TreesDir)
	tree, note := (&Trees{Dir: dir, Fetch: fetch}).Find(ctx, "uk", "")
	if tree == nil || note != "" {
		t.Fatalf("Find = %v, %q; want the engine's tree", tree, note)
	}
	version := tree.Version
	if calls.Load() != 1 {
		t.Errorf("fetches = %d, want 1", calls.Load())
	}
	name := filepath.Join(dir, treeName("uk", version))
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatalf("cached tree: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cached tree mode %v, want 0600", fi.Mode().Perm())
	}

	// A new Trees (another run) with the version known: from the cache,
	// no call; and offline (no Fetch) alike.
	for _, f := range []func(context.Context, string) (*api.CategoryTree, error){fetch, nil} {
		got, note := (&Trees{Dir: dir, Fetch: f}).Find(ctx, "UK", version)
		if got == nil || note != "" || got.Version != version || len(got.Categories) != len(tree.Categories) {
			t.Errorf("cached Find = %v, %q", got, note)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("fetches = %d after cached finds, want 1", calls.Load())
	}

	// A result of an older version: the API has moved on, so the newer
	// cached tree stands in, named in the note, without a call.
	got, note := (&Trees{Dir: dir, Fetch: fetch}).Find(ctx, "uk", "uk_200001010000")
	if got == nil || !strings.Contains(note, version) || !strings.Contains(note, "uk_200001010000") || calls.Load() != 1 {
		t.Errorf("older version: %v, %q, %d fetches", got, note, calls.Load())
	}
}

func TestTrees_Unavailable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	down := func(context.Context, string) (*api.CategoryTree, error) { return nil, errors.New("connection refused") }
	for _, tc := range []struct {
		name, country, version string
		fetch                  func(context.Context, string) (*api.CategoryTree, error)
		want                   string
	}{
		{"offline", "uk", "uk_1", nil, "no cached category tree for uk uk_1, and no API to fetch it from"},
		{"down", "uk", "uk_1", down, "fetching it failed: connection refused"},
		{"no country", "", "uk_1", down, "country is not known"},
		{"version leads out", "uk", "../../etc", down, "not a valid name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree, note := (&Trees{Dir: dir, Fetch: tc.fetch}).Find(ctx, tc.country, tc.version)
			if tree != nil || !strings.Contains(note, tc.want) || !strings.HasPrefix(note, "category titles unavailable") {
				t.Errorf("Find = %v, %q; want nil and %q", tree, note, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the cache has %d entries after failures, want none", len(entries))
	}
}

func TestTrees_DamagedCacheIsFetchedAgain(t *testing.T) {
	ctx := context.Background()
	fetch, calls := engineFetch(t)
	dir := t.TempDir()
	tree, _ := (&Trees{Dir: dir, Fetch: fetch}).Find(ctx, "uk", "")
	name := filepath.Join(dir, treeName("uk", tree.Version))
	if err := os.WriteFile(name, []byte(`{"country":"uk","categor`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, note := (&Trees{Dir: dir}).Find(ctx, "uk", tree.Version)
	if got != nil || !strings.Contains(note, "unavailable") {
		t.Errorf("damaged cache offline: %v, %q; want no tree", got, note)
	}
	got, note = (&Trees{Dir: dir, Fetch: fetch}).Find(ctx, "uk", tree.Version)
	if got == nil || note != "" || calls.Load() != 2 {
		t.Errorf("damaged cache online: %v, %q, %d fetches; want it fetched again", got, note, calls.Load())
	}
	if got, note := (&Trees{Dir: dir}).Find(ctx, "uk", tree.Version); got == nil || note != "" {
		t.Errorf("after the new fetch, offline: %v, %q; want the cache repaired", got, note)
	}
}

// A tree answered without a version is kept under the result's.
func TestTrees_UnversionedAnswer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var calls int
	fetch := func(context.Context, string) (*api.CategoryTree, error) {
		calls++
		return &api.CategoryTree{Categories: []api.Category{{ID: 85, ReadableTitle: "Salary"}}}, nil
	}
	for range 2 {
		tree, note := (&Trees{Dir: dir, Fetch: fetch}).Find(ctx, "uk", "uk_7")
		if tree == nil || note != "" || tree.Version != "uk_7" {
			t.Errorf("Find = %+v, %q", tree, note)
		}
	}
	if calls != 1 {
		t.Errorf("fetches = %d, want 1", calls)
	}
}
