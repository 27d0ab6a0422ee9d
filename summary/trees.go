package summary

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/internal/fsutil"
)

// TreesDir is where a working directory caches category trees, under its
// state directory: D/.ledgerform/trees/.
const TreesDir = "trees"

// maxTreeFile bounds a cached tree that is read back.
const maxTreeFile = 64 << 20

// Trees finds the category tree a result was categorised with, for its
// titles. A tree is identified by its country and version (a result names
// its version, category_tree_version; the country is the one the report
// was processed for). Trees looks in Dir first; there every tree ever
// fetched is kept, one file per country and version
// (tree-COUNTRY-VERSION.json, 0600, written atomically), so that it is
// fetched once and titles work offline afterwards. A tree not in Dir is
// fetched with Fetch (GET /v2/category-tree/{country} of the API that
// produced the result) and saved there.
//
// The API serves only its current tree: when the tree fetched has another
// version than the result's, it is saved under its own version and used,
// with a note, and not fetched again for that result (a cached tree newer
// than the result's version stands in for it). Offline, the newest cached
// tree of the country stands in for a missing version, with a note. With no tree at all, Find returns
// nil and says why: the caller shows ids.
//
// A Trees is safe for concurrent use; it remembers what it read.
type Trees struct {
	Dir string
	// Fetch asks the API for a country's tree; nil: offline.
	Fetch func(ctx context.Context, country string) (*api.CategoryTree, error)

	mu   sync.Mutex
	seen map[string]*api.CategoryTree // by file name
}

// treeFile is the cache's format: the tree with its country.
type treeFile struct {
	Country string `json:"country"`
	api.CategoryTree
}

// validName is what a country or version may be to become part of a file
// name: a result is input, and its version must not lead out of Dir.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

func treeName(country, version string) string { return "tree-" + country + "-" + version + ".json" }

// Find returns the tree of country and version, or a stand-in, with a note
// for people when it is not exactly that tree; or nil and why there is none.
func (t *Trees) Find(ctx context.Context, country, version string) (*api.CategoryTree, string) {
	country = strings.ToLower(country)
	if !validName.MatchString(country) {
		return nil, "category titles unavailable: the report's country is not known"
	}
	if version != "" && !validName.MatchString(version) {
		return nil, fmt.Sprintf("category titles unavailable: the result's category tree version %q is not a valid name", version)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if version != "" {
		if tree, err := t.read(treeName(country, version)); err == nil && tree.Version == version {
			return tree, ""
		}
	}
	// A newer tree already fetched means the API has moved on from the
	// result's version: asking again would only fetch the newer one again.
	if tree := t.newest(country); tree != nil && version != "" && tree.Version > version {
		return tree, differs(tree, version)
	}
	var fetchErr error
	if t.Fetch != nil {
		tree, err := t.Fetch(ctx, country)
		if err == nil && tree != nil && tree.Version == "" {
			// The API's documentation leaves open whether its tree
			// names its version: one without is taken to be the
			// current tree, the result's.
			tree.Version = cmpOr(version, "unversioned")
		}
		if err == nil {
			err = t.save(country, tree)
		}
		if err == nil {
			return tree, differs(tree, version)
		}
		fetchErr = err
	}
	if tree := t.newest(country); tree != nil {
		return tree, differs(tree, version)
	}
	what := fmt.Sprintf("no cached category tree for %s", country)
	if version != "" {
		what += " " + version
	}
	if fetchErr != nil {
		return nil, fmt.Sprintf("category titles unavailable: %s, and fetching it failed: %v", what, fetchErr)
	}
	return nil, fmt.Sprintf("category titles unavailable: %s, and no API to fetch it from", what)
}

// differs is the note for a tree of another version than want.
func differs(tree *api.CategoryTree, want string) string {
	if want == "" || tree.Version == want {
		return ""
	}
	return fmt.Sprintf("titles are from category tree %s; the result was categorised with %s", tree.Version, want)
}

// read reads one cached tree; the caller holds mu.
func (t *Trees) read(name string) (*api.CategoryTree, error) {
	if tree, ok := t.seen[name]; ok {
		return tree, nil
	}
	data, _, err := fsutil.ReadRegular(filepath.Join(t.Dir, name), maxTreeFile)
	if err != nil {
		return nil, err
	}
	var f treeFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if f.Version == "" || len(f.Categories) == 0 || treeName(f.Country, f.Version) != name {
		return nil, fmt.Errorf("%s: not a cached category tree", name)
	}
	t.remember(name, &f.CategoryTree)
	return &f.CategoryTree, nil
}

func (t *Trees) remember(name string, tree *api.CategoryTree) {
	if t.seen == nil {
		t.seen = map[string]*api.CategoryTree{}
	}
	t.seen[name] = tree
}

// save writes a fetched tree into Dir; the caller holds mu.
func (t *Trees) save(country string, tree *api.CategoryTree) error {
	if tree == nil || len(tree.Categories) == 0 {
		return fmt.Errorf("the API answered an empty category tree for %s", country)
	}
	if !validName.MatchString(tree.Version) {
		return fmt.Errorf("the API's category tree for %s has version %q, not a valid name", country, tree.Version)
	}
	data, err := json.Marshal(treeFile{Country: country, CategoryTree: *tree})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(t.Dir, 0o700); err != nil {
		return fmt.Errorf("cache the category tree: %w", err)
	}
	name := treeName(country, tree.Version)
	if err := fsutil.WriteFile(filepath.Join(t.Dir, name), append(data, '\n')); err != nil {
		return fmt.Errorf("cache the category tree: %w", err)
	}
	t.remember(name, tree)
	return nil
}

// newest is the cached tree of country with the greatest version (versions
// end in a timestamp, so the greatest name is the newest), or nil.
func (t *Trees) newest(country string) *api.CategoryTree {
	entries, err := os.ReadDir(t.Dir)
	if err != nil {
		return nil
	}
	prefix := "tree-" + country + "-"
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ".json") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for i := len(names) - 1; i >= 0; i-- {
		if tree, err := t.read(names[i]); err == nil {
			return tree
		}
	}
	return nil
}
