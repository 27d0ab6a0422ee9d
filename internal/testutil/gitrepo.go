package testutil

import (
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A GitRepo is a real git repository for tests: a bare repository (the
// remote, reached by file:// or, with ServeHTTP, by git's smart HTTP on
// loopback) and a work clone whose commits are pushed to it.
type GitRepo struct {
	t    testing.TB
	Bare string // the bare repository's directory
	Work string // the work clone
}

// NewGitRepo makes an empty bare repository with branch main and a work
// clone of it.
func NewGitRepo(t testing.TB) *GitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git on PATH")
	}
	root := t.TempDir()
	g := &GitRepo{t: t, Bare: filepath.Join(root, "remote.git"), Work: filepath.Join(root, "work")}
	g.git(root, "init", "--quiet", "--bare", "--initial-branch=main", g.Bare)
	g.git(root, "init", "--quiet", "--initial-branch=main", g.Work)
	g.Git("remote", "add", "origin", g.Bare)
	return g
}

// URL is the bare repository's file:// URL.
func (g *GitRepo) URL() string { return "file://" + g.Bare }

// Git runs git in the work clone and returns its output.
func (g *GitRepo) Git(args ...string) string {
	g.t.Helper()
	return g.git(g.Work, args...)
}

func (g *GitRepo) git(dir string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Commit writes files (path → content; "" removes the file) in the work
// clone, commits them on the current branch and pushes it; it returns the
// commit.
func (g *GitRepo) Commit(msg string, files map[string]string) string {
	g.t.Helper()
	for name, content := range files {
		p := filepath.Join(g.Work, filepath.FromSlash(name))
		if content == "" {
			os.Remove(p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			g.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			g.t.Fatal(err)
		}
	}
	g.Git("add", "--all")
	g.Git("commit", "--quiet", "--allow-empty", "-m", msg)
	g.Git("push", "--quiet", "origin", "HEAD")
	return g.Git("rev-parse", "HEAD")
}

// ForcePush resets the branch to commit and force-pushes it.
func (g *GitRepo) ForcePush(commit string) {
	g.t.Helper()
	g.Git("reset", "--quiet", "--hard", commit)
	g.Git("push", "--quiet", "--force", "origin", "HEAD")
}

// ServeHTTP serves the bare repository over git's smart HTTP protocol
// (git http-backend under net/http/cgi) on loopback, until the test ends,
// and returns its URL. With token set, every request must carry it as
// the password of HTTP basic authentication (any user name).
func (g *GitRepo) ServeHTTP(token string) string {
	g.t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		g.t.Fatal(err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		g.t.Skip("no git-http-backend")
	}
	h := &cgi.Handler{Path: backend, Dir: filepath.Dir(g.Bare), Stderr: io.Discard, // "not a git repository" while a test moves it away
		Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(g.Bare), "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			if _, pass, ok := r.BasicAuth(); !ok || pass != token {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorised", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	g.t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(g.Bare)
}
