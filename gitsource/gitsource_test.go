package gitsource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/spec"
)

const manifest = "reports:\n  - name: a\n    statements: [s.json]\n    operations: [categorisation]\n    country: uk\n"

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	if cfg.Cache == "" {
		cfg.Cache = filepath.Join(t.TempDir(), ".ledgerform", "git")
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readManifest(t *testing.T, rev Revision, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rev.Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFetch_followsTheBranchAndForcePushes(t *testing.T) {
	defer func(d time.Duration) { pruneAfter = d }(pruneAfter)
	pruneAfter = 0
	g := testutil.NewGitRepo(t)
	c1 := g.Commit("one", map[string]string{"deploy/reports.yaml": manifest, "README.md": "not a manifest", "deploy/notes.txt": "no"})
	s := newSource(t, Config{URL: g.URL(), Path: "deploy"})
	ctx := context.Background()
	rev, err := s.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Commit != c1 {
		t.Fatalf("commit %s, want %s", rev.Commit, c1)
	}
	entries, _ := os.ReadDir(rev.Dir)
	if len(entries) != 1 || entries[0].Name() != "reports.yaml" || readManifest(t, rev, "reports.yaml") != manifest {
		t.Fatalf("checkout holds %v", entries)
	}
	if fi, _ := os.Stat(rev.Dir); fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("checkout is %v", fi.Mode())
	}
	if fi, _ := os.Stat(s.cfg.Cache); fi.Mode().Perm() != 0o700 {
		t.Errorf("cache is %v, want 0700", fi.Mode())
	}

	c2 := g.Commit("two", map[string]string{"deploy/reports.yaml": manifest + "    suspend: true\n"})
	rev2, err := s.Fetch(ctx, rev.Commit)
	if err != nil || rev2.Commit != c2 || !strings.Contains(readManifest(t, rev2, "reports.yaml"), "suspend") {
		t.Fatalf("second fetch: %v %+v", err, rev2)
	}
	if _, err := os.Stat(rev.Dir); err != nil {
		t.Errorf("the kept checkout is gone: %v", err)
	}

	g.ForcePush(c1)
	rev3, err := s.Fetch(ctx)
	if err != nil || rev3.Commit != c1 || readManifest(t, rev3, "reports.yaml") != manifest {
		t.Fatalf("after the force-push: %v %+v", err, rev3)
	}
	if _, err := os.Stat(rev2.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a checkout no longer kept is still there: %v", err)
	}
}

func TestFetch_loadsThroughSpec(t *testing.T) {
	g := testutil.NewGitRepo(t)
	c := g.Commit("bad", map[string]string{"reports.yaml": "reports:\n  - name: a\n    operatons: [x]\n"})
	s := newSource(t, Config{URL: g.URL()})
	rev, err := s.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = spec.LoadFrom(t.TempDir(), s.Manifests(rev))
	if err == nil || !strings.Contains(err.Error(), c[:12]+":reports.yaml:3:5: unknown key \"operatons\"") {
		t.Fatalf("error %v does not name the commit and the file", err)
	}
}

func TestFetch_overSmartHTTPWithAToken(t *testing.T) {
	g := testutil.NewGitRepo(t)
	c := g.Commit("one", map[string]string{"reports.yaml": manifest})
	const token = "s3cr3t-t0ken-value"
	url := g.ServeHTTP(token)

	s := newSource(t, Config{URL: url, Auth: Auth{Token: nordigen.NewSecret(token)}})
	rev, err := s.Fetch(context.Background())
	if err != nil || rev.Commit != c {
		t.Fatalf("with the token: %v %+v", err, rev)
	}

	bad := newSource(t, Config{URL: url, Auth: Auth{Token: nordigen.NewSecret("wrong-token-value")}})
	_, err = bad.Fetch(context.Background())
	if err == nil {
		t.Fatal("a wrong token fetched")
	}
	if strings.Contains(err.Error(), "wrong-token-value") || strings.Contains(err.Error(), basic(DefaultUsername, "wrong-token-value")) {
		t.Errorf("the error holds the token: %v", err)
	}
	none := newSource(t, Config{URL: url})
	if _, err := none.Fetch(context.Background()); err == nil {
		t.Fatal("no token fetched")
	}
}

func TestFetch_unreachable(t *testing.T) {
	s := newSource(t, Config{URL: "file://" + filepath.Join(t.TempDir(), "none.git")})
	_, err := s.Fetch(context.Background())
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %T %v", err, err)
	}
}

func TestFetchRef_branchAndCommit(t *testing.T) {
	g := testutil.NewGitRepo(t)
	c1 := g.Commit("one", map[string]string{"reports.yaml": manifest})
	g.Git("checkout", "--quiet", "-b", "feature")
	c2 := g.Commit("two", map[string]string{"more.yaml": "reports: []\n"})
	s := newSource(t, Config{URL: g.URL()})
	ctx := context.Background()
	rev, err := s.FetchRef(ctx, "feature")
	if err != nil || rev.Commit != c2 {
		t.Fatalf("feature: %v %+v", err, rev)
	}
	rev, err = s.FetchRef(ctx, c1)
	if err != nil || rev.Commit != c1 {
		t.Fatalf("commit: %v %+v", err, rev)
	}
	if _, err := os.Stat(filepath.Join(rev.Dir, "more.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the older commit's checkout has the newer file")
	}
	if _, err := s.FetchRef(ctx, "--upload-pack=touch /tmp/x"); err == nil {
		t.Error("an option was taken for a ref")
	}
}

func TestCheckout_refusesSymlinksAndMissingPaths(t *testing.T) {
	g := testutil.NewGitRepo(t)
	if err := os.MkdirAll(filepath.Join(g.Work, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(g.Work, "deploy", "x.yaml")); err != nil {
		t.Fatal(err)
	}
	g.Commit("link", nil)
	var re *RevisionError
	if _, err := newSource(t, Config{URL: g.URL(), Path: "deploy"}).Fetch(context.Background()); !errors.As(err, &re) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("symlink: %v", err)
	}
	if _, err := newSource(t, Config{URL: g.URL(), Path: "nowhere"}).Fetch(context.Background()); !errors.As(err, &re) || !strings.Contains(err.Error(), `no directory "nowhere"`) {
		t.Errorf("missing path: %v", err)
	}
}

func TestNew_refuses(t *testing.T) {
	cache := t.TempDir()
	for _, c := range []Config{
		{URL: "https://user:pw@example.com/r.git"},
		{URL: "ext::sh -c touch% /tmp/x"},
		{URL: "-uhoh"},
		{URL: "ftp://example.com/r.git"},
		{URL: "file:///r.git", Branch: "--upload-pack=x"},
		{URL: "file:///r.git", Branch: "a..b"},
		{URL: "file:///r.git", Path: "../up"},
		{URL: "file:///r.git", Path: "/abs"},
	} {
		c.Cache = cache
		if _, err := New(c); err == nil {
			t.Errorf("%+v: accepted", c)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("error holds the password: %v", err)
		}
	}
}
