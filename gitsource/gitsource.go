// Package gitsource brings the manifests of ledgerform watch, validate
// and plan from a git repository: it keeps a bare clone of the remote in
// the working directory's cache (.ledgerform/git/, 0700), fetches one
// branch (or the remote's HEAD, or any ref for plan --ref), and checks the
// manifests of a commit out into a directory of their own, which
// spec.LoadFrom reads while every path the manifests hold resolves
// against the working directory.
//
// # Why the system git
//
// It runs the git program (at least MinGitVersion) rather than a library
// such as go-git: git is the implementation every remote is tested
// against (smart HTTP, SSH with the user's ssh and its known_hosts,
// protocol v2, shallow or partial servers), it is kept up to date by the
// system's security updates, and it adds no dependency tree to the
// module; the cost is a process per step, which at one fetch a minute is
// nothing. 2.31 is the first git that reads configuration from the
// environment (GIT_CONFIG_COUNT), which is how a token reaches it without
// being on a command line that ps shows.
//
// # What git is run with
//
// Only what the operator configured: the URL, the branch and the path are
// checked when the Source is made (a URL with a password, a branch or path
// that starts with "-" or is no valid ref name are refused), and every
// ref or path is given after "--" or inside a refspec, never as an option.
// Nothing of a webhook's request ever reaches git: a request only makes
// the daemon fetch sooner. The system's and the user's git configuration
// are not read (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null), no
// prompt is ever shown (GIT_TERMINAL_PROMPT=0, no askpass), and only the
// file, git, http, https and ssh transports are allowed (GIT_ALLOW_PROTOCOL:
// no ext::). Nothing is checked out with git: the manifests are read from
// the object database (ls-tree, cat-file) and written as plain files
// (0600), so no hook, filter or attribute of the repository runs; a
// manifest that is a symbolic link in the repository is an error of that
// revision.
//
// # Credentials
//
// An HTTPS token (Auth.Token) is sent as HTTP basic authentication
// (Auth.Username, default x-access-token, which GitHub and Gitea take; for
// GitLab a user name such as oauth2) to the URL's host only, through
// http.<scheme>://<host>/.extraHeader given in git's environment; with a
// token no redirect is followed (git would send the header along), so
// give the repository's URL as it is now. An SSH
// key (Auth.SSHKeyFile) is used through GIT_SSH_COMMAND with
// IdentitiesOnly and BatchMode (an unknown host key fails; Auth.KnownHosts
// names a known_hosts file). The token is a nordigen.Secret: it prints as
// [redacted], and it is cut out of anything git says before that becomes
// an error.
//
// # Revisions
//
// A revision is a commit: Fetch returns the commit the branch points at,
// whatever it was before, so a force-push back to an older commit is a
// revision like any other. Its manifests are checked out once into
// rev/<commit>-<path key>/ and kept while it may be in force.
package gitsource

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/internal/redact"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/spec"
)

// MinGitVersion is the oldest git this package runs (see "Why the system
// git").
const MinGitVersion = "2.31"

// DefaultUsername is the user name sent with a token.
const DefaultUsername = "x-access-token"

// maxManifest bounds what is read of one blob; spec refuses more anyway.
const maxManifest = 8 << 20

// Config says which repository to follow.
type Config struct {
	URL    string // https://, http://, ssh://, user@host:path, file:// or a local path
	Branch string // "" follows the remote's HEAD
	Path   string // the directory of the manifests inside the repository; "" the top
	// Cache is the directory the clones live in (the working directory's
	// .ledgerform/git); made 0700 if missing.
	Cache string
	Auth  Auth
	// Git is the git program; "" is "git" from PATH.
	Git string
}

// Auth is how to authenticate to the remote; the zero value is none.
type Auth struct {
	Token    nordigen.Secret // HTTPS token
	Username string          // sent with Token (DefaultUsername)
	// SSHKeyFile is a private key for ssh:// and scp-like URLs.
	SSHKeyFile string
	// KnownHosts is a known_hosts file for SSH; "" is ssh's default.
	KnownHosts string
}

// A Source is one repository, branch and path. Its methods are safe for
// concurrent use, and two Sources (two processes, even) may share a cache:
// each step holds the clone's lock.
type Source struct {
	cfg  Config
	dir  string // the cache entry of this URL
	repo string // the bare clone
	env  []string
	mu   sync.Mutex
}

// Revision is one commit's manifests, checked out.
type Revision struct {
	Commit string // the full hex commit id
	Dir    string // the directory holding the manifests of Path at Commit
}

// Short is the commit's first 12 hex digits, as positions show it.
func (r Revision) Short() string { return r.Commit[:min(12, len(r.Commit))] }

var (
	hexCommit = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	gitVer    = regexp.MustCompile(`git version (\d+)\.(\d+)`)
)

// New checks cfg, the git program and its version, and makes the cache.
// It runs nothing against the remote.
func New(cfg Config) (*Source, error) {
	cfg.Git = cmp.Or(cfg.Git, "git")
	cfg.Auth.Username = cmp.Or(cfg.Auth.Username, DefaultUsername)
	if err := checkURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Branch != "" {
		if err := checkRefName("--branch", cfg.Branch); err != nil {
			return nil, err
		}
	}
	p, err := cleanPath(cfg.Path)
	if err != nil {
		return nil, err
	}
	cfg.Path = p
	if cfg.Cache == "" {
		return nil, errors.New("git: no cache directory")
	}
	if err := checkVersion(cfg.Git); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(cfg.URL))
	s := &Source{cfg: cfg, dir: filepath.Join(cfg.Cache, hex.EncodeToString(sum[:8]))}
	s.repo = filepath.Join(s.dir, "repo.git")
	for _, d := range []string{cfg.Cache, s.dir, filepath.Join(s.dir, "rev")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("git: cache: %w", err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, fmt.Errorf("git: cache: %w", err)
		}
	}
	s.env = s.environ()
	return s, nil
}

// String names the source without credentials: URL, branch and path.
func (s *Source) String() string {
	b := cmp.Or(s.cfg.Branch, "HEAD")
	if s.cfg.Path != "" {
		return redact.URL(s.cfg.URL) + "@" + b + ":" + s.cfg.Path
	}
	return redact.URL(s.cfg.URL) + "@" + b
}

// Path is the directory of the manifests inside the repository ("" the top).
func (s *Source) Path() string { return s.cfg.Path }

// Branch is the branch followed ("" the remote's HEAD).
func (s *Source) Branch() string { return s.cfg.Branch }

// URL is the remote's URL without any user name.
func (s *Source) URL() string { return redact.URL(s.cfg.URL) }

// Fetch brings the followed branch (or the remote's HEAD) from the remote
// and checks the manifests of the commit it points at out. keep names
// commits whose checkouts must stay (the revision in force); every other
// checkout but the new one is removed.
func (s *Source) Fetch(ctx context.Context, keep ...string) (Revision, error) {
	src := "HEAD"
	if s.cfg.Branch != "" {
		src = "refs/heads/" + s.cfg.Branch
	}
	rev, err := s.fetch(ctx, src, "refs/ledgerform/tip")
	if err != nil {
		return Revision{}, err
	}
	s.prune(append(keep, rev.Commit))
	return rev, nil
}

// Latest is Fetch for the daemon (daemon.Source): the manifests of the
// newest revision as spec.LoadFrom reads them. A revision that was
// fetched but cannot be checked out comes back with its Revision set and
// a *RevisionError; an error with no Revision is the remote's (it cannot
// be reached, or refuses the credentials).
func (s *Source) Latest(ctx context.Context, keep string) (spec.Manifests, error) {
	rev, err := s.Fetch(ctx, keep)
	var re *RevisionError
	if errors.As(err, &re) {
		return spec.Manifests{Revision: re.Commit}, err
	}
	if err != nil {
		return spec.Manifests{}, err
	}
	return s.Manifests(rev), nil
}

// Cached is the revision the last fetch brought (of this cache, by any
// process), checked out from the clone without the network: what a
// daemon starts with while the remote cannot be reached.
func (s *Source) Cached(ctx context.Context) (spec.Manifests, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockDir(s.dir)
	if err != nil {
		return spec.Manifests{}, err
	}
	defer unlock()
	out, err := s.git(ctx, s.repo, "rev-parse", "--verify", "--quiet", "refs/ledgerform/tip^{commit}")
	if err != nil {
		return spec.Manifests{}, errors.New("git: nothing fetched yet")
	}
	id := strings.TrimSpace(string(out))
	dir, err := s.checkout(ctx, id)
	if err != nil {
		return spec.Manifests{Revision: id}, err
	}
	return s.Manifests(Revision{Commit: id, Dir: dir}), nil
}

// FetchRef fetches ref (a branch, a tag, a full ref such as
// refs/pull/7/head, or a full commit id) and checks its manifests out,
// for plan --ref and validate --ref. It removes no checkout.
func (s *Source) FetchRef(ctx context.Context, ref string) (Revision, error) {
	if err := checkRefName("--ref", ref); err != nil && !hexCommit.MatchString(ref) {
		return Revision{}, err
	}
	sum := sha256.Sum256([]byte(ref))
	dst := "refs/ledgerform/ref/" + hex.EncodeToString(sum[:8])
	rev, err := s.fetch(ctx, ref, dst)
	if err != nil && hexCommit.MatchString(ref) {
		// A server may refuse a commit id as a want: fetch every branch
		// and tag, and look for it there.
		rev, err = s.fetch(ctx, "refs/*", "refs/ledgerform/all/*", ref)
	}
	return rev, err
}

// fetch runs one fetch of src into dst under the clone's lock and checks
// out the commit dst (or commit, when given) names.
func (s *Source) fetch(ctx context.Context, src, dst string, commit ...string) (Revision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockDir(s.dir)
	if err != nil {
		return Revision{}, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(s.repo, "HEAD")); err != nil {
		os.RemoveAll(s.repo) // a clone made in part
		if _, err := s.git(ctx, "", "init", "--bare", "--quiet", "--template=", s.repo); err != nil {
			return Revision{}, err
		}
	}
	if _, err := s.git(ctx, s.repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--force", "--", s.cfg.URL, "+"+src+":"+dst); err != nil {
		return Revision{}, err
	}
	name := dst
	if len(commit) > 0 {
		name = commit[0]
	}
	out, err := s.git(ctx, s.repo, "rev-parse", "--verify", "--quiet", "--end-of-options", name+"^{commit}")
	if err != nil {
		return Revision{}, fmt.Errorf("git: %s is no commit of %s", name, redact.URL(s.cfg.URL))
	}
	id := strings.TrimSpace(string(out))
	dir, err := s.checkout(ctx, id)
	if err != nil {
		return Revision{}, err
	}
	return Revision{Commit: id, Dir: dir}, nil
}

// checkout writes the manifests of Path at commit into their own
// directory, once: an existing one is the same (commits do not change).
func (s *Source) checkout(ctx context.Context, commit string) (string, error) {
	dir := filepath.Join(s.dir, "rev", commit+"-"+s.pathKey())
	if _, err := os.Stat(dir); err == nil {
		now := time.Now()
		os.Chtimes(dir, now, now) // in use: prune leaves it for a while
		return dir, nil
	}
	rev := Revision{Commit: commit}
	where := rev.Short() + ":" + cmp.Or(s.cfg.Path, ".")
	tree := commit + "^{tree}"
	if s.cfg.Path != "" {
		tree = commit + ":" + s.cfg.Path
	}
	if out, err := s.git(ctx, s.repo, "cat-file", "-t", "--end-of-options", tree); err != nil || strings.TrimSpace(string(out)) != "tree" {
		return "", &RevisionError{Commit: commit, Msg: fmt.Sprintf("%s: no directory %q in the repository at this commit", where, s.cfg.Path)}
	}
	out, err := s.git(ctx, s.repo, "ls-tree", "-z", "--end-of-options", tree)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.dir, "rev"), ".tmp-")
	if err != nil {
		return "", fmt.Errorf("git: checkout: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, entry := range bytes.Split(out, []byte{0}) {
		meta, name, ok := strings.Cut(string(entry), "\t")
		if !ok || !spec.IsManifest(name) {
			continue
		}
		f := strings.Fields(meta) // mode type object
		if len(f) != 3 || f[1] != "blob" {
			continue // a directory named like a manifest, or a submodule
		}
		if f[0] == "120000" {
			return "", &RevisionError{Commit: commit, Msg: fmt.Sprintf("%s/%s: is a symbolic link in the repository; a manifest must be a regular file", where, name)}
		}
		data, err := s.git(ctx, s.repo, "cat-file", "blob", f[2])
		if err != nil {
			return "", err
		}
		if len(data) > maxManifest {
			data = data[:maxManifest+1] // spec refuses it by its size
		}
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o600); err != nil {
			return "", fmt.Errorf("git: checkout: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return "", fmt.Errorf("git: checkout: %w", err)
		}
	}
	fsutil.SyncDir(filepath.Dir(dir))
	return dir, nil
}

// pathKey tells the checkouts of different paths of one commit apart.
func (s *Source) pathKey() string {
	sum := sha256.Sum256([]byte(s.cfg.Path))
	return hex.EncodeToString(sum[:4])
}

// pruneAfter is how long a checkout not kept stays after its last use:
// another process sharing the cache (a plan --git beside the watch) may
// be reading it.
var pruneAfter = time.Minute

// prune removes the checkouts of every commit not in keep, once they have
// not been used for pruneAfter.
func (s *Source) prune(keep []string) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "rev"))
	if err != nil {
		return
	}
	for _, e := range entries {
		commit, _, _ := strings.Cut(e.Name(), "-")
		if slices.Contains(keep, commit) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) >= pruneAfter {
			os.RemoveAll(filepath.Join(s.dir, "rev", e.Name()))
		}
	}
}

// Manifests is how spec.LoadFrom reads rev: positions are
// "<short commit>:<path>/<file>".
func (s *Source) Manifests(rev Revision) spec.Manifests {
	return spec.Manifests{Dir: rev.Dir, Name: rev.Short() + ":" + s.cfg.Path, Revision: rev.Commit}
}

// A RevisionError is a revision whose manifests cannot be checked out
// (the path is missing, a manifest is a symbolic link): like a manifest
// that does not load, it never replaces the revision in force.
type RevisionError struct {
	Commit string
	Msg    string
}

func (e *RevisionError) Error() string { return e.Msg }

// git runs git in dir ("" the current directory) and returns its
// standard output; its error holds what git said, without credentials.
func (s *Source) git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, s.cfg.Git, args...)
	cmd.Dir = dir
	cmd.Env = s.env
	cmd.WaitDelay = 5 * time.Second // a helper (ssh, git-remote-https) that outlives a cancelled git
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(s.scrub(stderr.String()))
		if msg == "" {
			msg = err.Error()
		}
		return nil, &Error{Op: args[0], Msg: msg}
	}
	return stdout.Bytes(), nil
}

// An Error is a git command that failed: most often a remote that cannot
// be reached, or refuses the credentials. Msg is what git said, with the
// credentials cut out.
type Error struct {
	Op  string // fetch, rev-parse, …
	Msg string
}

func (e *Error) Error() string { return "git " + e.Op + ": " + e.Msg }

// scrub cuts the token (and its basic-auth form) out of what git said.
func (s *Source) scrub(msg string) string {
	if t := s.cfg.Auth.Token.Reveal(); t != "" {
		msg = strings.ReplaceAll(msg, t, "[redacted]")
		msg = strings.ReplaceAll(msg, basic(s.cfg.Auth.Username, t), "[redacted]")
	}
	return msg
}

func basic(user, token string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + token))
}

// environ is git's environment: the process's, less git's own variables,
// with the settings of "What git is run with" and the credentials.
func (s *Source) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "SSH_ASKPASS=") {
			env = append(env, kv)
		}
	}
	env = append(env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=", "SSH_ASKPASS=", "GIT_ALLOW_PROTOCOL=file:git:http:https:ssh", "LC_ALL=C")
	var keys, values []string
	if t := s.cfg.Auth.Token.Reveal(); t != "" {
		if u, err := url.Parse(s.cfg.URL); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
			// No redirect is followed with a token: git would send the
			// header to wherever the redirect leads.
			keys = append(keys, "http."+u.Scheme+"://"+u.Host+"/.extraHeader", "http.followRedirects")
			values = append(values, "Authorization: Basic "+basic(s.cfg.Auth.Username, t), "false")
		}
	}
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(keys)))
	for i := range keys {
		env = append(env, "GIT_CONFIG_KEY_"+strconv.Itoa(i)+"="+keys[i], "GIT_CONFIG_VALUE_"+strconv.Itoa(i)+"="+values[i])
	}
	ssh := "ssh -o BatchMode=yes"
	if s.cfg.Auth.SSHKeyFile != "" {
		ssh += " -o IdentitiesOnly=yes -i " + shellQuote(s.cfg.Auth.SSHKeyFile)
	}
	if s.cfg.Auth.KnownHosts != "" {
		ssh += " -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + shellQuote(s.cfg.Auth.KnownHosts)
	}
	return append(env, "GIT_SSH_COMMAND="+ssh)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// checkURL refuses a URL that carries a password, or that git would take
// for an option or a transport this package does not allow.
func checkURL(raw string) error {
	switch {
	case raw == "":
		return errors.New("--git: no URL")
	case strings.HasPrefix(raw, "-"):
		return errors.New("--git: a URL cannot start with \"-\"")
	case strings.Contains(raw, "::"):
		return errors.New("--git: remote helpers (transport::address) are not allowed")
	}
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		switch u.Scheme {
		case "https", "http", "ssh", "git", "file":
		default:
			return fmt.Errorf("--git: scheme %q is not one of https, http, ssh, git, file", u.Scheme)
		}
		if _, ok := u.User.Password(); ok {
			return errors.New("--git: the URL holds a password; give the token in LEDGERFORM_GIT_TOKEN or --git-token-file instead, never in the URL")
		}
	}
	return nil
}

// checkRefName refuses what git would not take as a branch or ref name,
// or would take for an option.
func checkRefName(flag, name string) error {
	bad := name == "" || strings.HasPrefix(name, "-") || strings.ContainsAny(name, " ~^:?*[\\\x7f") ||
		strings.Contains(name, "..") || strings.Contains(name, "@{") || strings.HasSuffix(name, "/") ||
		strings.HasSuffix(name, ".lock") || strings.HasPrefix(name, "/") || strings.Contains(name, "//")
	for _, r := range name {
		if r < 0x20 {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("%s %q: not a valid git ref name", flag, name)
	}
	return nil
}

// cleanPath checks --path: relative, inside the repository.
func cleanPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	c := path.Clean(strings.Trim(filepath.ToSlash(p), "/"))
	if strings.HasPrefix(p, "/") || c == ".." || strings.HasPrefix(c, "../") || strings.HasPrefix(c, "-") || strings.ContainsRune(c, ':') {
		return "", fmt.Errorf("--path %q: want a directory inside the repository, such as deploy/ledgerform", p)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

// checkVersion refuses a git older than MinGitVersion, or none.
func checkVersion(git string) error {
	out, err := exec.Command(git, "version").Output()
	if err != nil {
		return fmt.Errorf("git: cannot run %s: %w; install git %s or later", git, err, MinGitVersion)
	}
	m := gitVer.FindStringSubmatch(string(out))
	if m == nil {
		return fmt.Errorf("git: cannot tell the version of %s from %q", git, strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	wantMajor, wantMinor, _ := strings.Cut(MinGitVersion, ".")
	wm, _ := strconv.Atoi(wantMajor)
	wn, _ := strconv.Atoi(wantMinor)
	if major < wm || major == wm && minor < wn {
		return fmt.Errorf("git: %s is version %s.%s; ledgerform needs %s or later", git, m[1], m[2], MinGitVersion)
	}
	return nil
}
