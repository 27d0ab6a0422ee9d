package gitsource

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ledgerform/ledgerform/internal/testutil"
)

// BenchmarkLatest_NoChange is what one --interval costs when nothing was
// pushed: a fetch that brings nothing, and the checkout found in place.
func BenchmarkLatest_NoChange(b *testing.B) {
	g := testutil.NewGitRepo(b)
	g.Commit("one", map[string]string{"deploy/m.yaml": manifest})
	s, err := New(Config{URL: g.URL(), Path: "deploy", Cache: filepath.Join(b.TempDir(), "git")})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Latest(ctx, ""); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Latest(ctx, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGitFetch_Plain is the same fetch as one git command, the
// floor of BenchmarkLatest_NoChange.
func BenchmarkGitFetch_Plain(b *testing.B) {
	g := testutil.NewGitRepo(b)
	g.Commit("one", map[string]string{"deploy/m.yaml": manifest})
	repo := filepath.Join(b.TempDir(), "repo.git")
	if out, err := exec.Command("git", "init", "--quiet", "--bare", repo).CombinedOutput(); err != nil {
		b.Fatalf("%v %s", err, out)
	}
	for b.Loop() {
		cmd := exec.Command("git", "-C", repo, "fetch", "--quiet", "--no-tags", "--", g.URL(), "+HEAD:refs/x")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v %s", err, out)
		}
	}
}
