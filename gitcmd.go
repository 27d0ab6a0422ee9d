package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ledgerform/ledgerform/gitsource"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/spec"
)

// The environment variables of the git source. Credentials come from
// these or from files named in flags, never from a flag's value, a
// manifest or the URL.
const (
	envGitToken      = "LEDGERFORM_GIT_TOKEN"          // an HTTPS token
	envGitSSHKey     = "LEDGERFORM_GIT_SSH_KEY"        // an SSH private key, the key itself
	envWebhookSecret = "LEDGERFORM_GIT_WEBHOOK_SECRET" // the secret of POST /hooks/git
)

// gitFlags are the flags of a git source (watch, plan, validate --git).
type gitFlags struct {
	url, branch, path, ref            *string
	tokenFile, sshKeyFile, knownHosts *string
	username                          *string
}

// addGitFlags defines --git and its companions on fs; withRef adds --ref
// (plan and validate: any ref, for a pull request), otherwise --branch.
func addGitFlags(fs *flag.FlagSet, withRef bool) *gitFlags {
	g := &gitFlags{}
	g.url = fs.String("git", "", "read the manifests from this git `URL` (https, ssh, file); --dir is then the data directory of statements, drop folders and outputs")
	g.path = fs.String("path", "", "the `directory` of the manifests inside the repository (with --git)")
	if withRef {
		g.ref = fs.String("ref", "", "the `ref` to read (a branch, tag, refs/pull/N/head or commit id; default the remote's HEAD)")
	} else {
		g.branch = fs.String("branch", "", "the `branch` to follow (with --git; default the remote's HEAD)")
	}
	g.tokenFile = fs.String("git-token-file", "", "a `file` holding an HTTPS token for the remote (else $"+envGitToken+")")
	g.username = fs.String("git-username", gitsource.DefaultUsername, "the user `name` sent with the token (GitLab: oauth2)")
	g.sshKeyFile = fs.String("git-ssh-key-file", "", "an SSH private key `file` for the remote (else $"+envGitSSHKey+", the key itself)")
	g.knownHosts = fs.String("git-known-hosts", "", "a known_hosts `file` for SSH (default ssh's own)")
	return g
}

// set reports whether --git was given; the companions without it are a
// mistake.
func (g *gitFlags) set(cmd string) (bool, error) {
	if *g.url != "" {
		return true, nil
	}
	for name, v := range map[string]*string{"path": g.path, "ref": g.ref, "branch": g.branch, "git-token-file": g.tokenFile,
		"git-ssh-key-file": g.sshKeyFile, "git-known-hosts": g.knownHosts} {
		if v != nil && *v != "" {
			return false, usageError{fmt.Errorf("%s: --%s needs --git", cmd, name)}
		}
	}
	return false, nil
}

// source makes the git source of the flags, its cache in dir's
// .ledgerform/git (0700).
func (g *gitFlags) source(dir string) (*gitsource.Source, error) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, hinted{fmt.Errorf("%s is not a directory", dir), "with --git, --dir is the data directory (statements, drop folders, outputs): create it first"}
	}
	state := stateDir(dir)
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, err
	}
	cache := filepath.Join(state, "git")
	auth := gitsource.Auth{Username: *g.username, KnownHosts: *g.knownHosts, SSHKeyFile: *g.sshKeyFile}
	switch {
	case *g.tokenFile != "":
		b, err := os.ReadFile(*g.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--git-token-file: %w", err)
		}
		auth.Token = nordigen.NewSecret(strings.TrimSpace(string(b)))
		if auth.Token.IsZero() {
			return nil, fmt.Errorf("--git-token-file %s is empty", *g.tokenFile)
		}
	case os.Getenv(envGitToken) != "":
		auth.Token = nordigen.NewSecret(strings.TrimSpace(os.Getenv(envGitToken)))
	}
	if key := os.Getenv(envGitSSHKey); key != "" && auth.SSHKeyFile == "" {
		// ssh reads keys from files only: the key goes into the cache, 0600.
		if err := os.MkdirAll(cache, 0o700); err != nil {
			return nil, err
		}
		auth.SSHKeyFile = filepath.Join(cache, "ssh-key")
		if err := os.WriteFile(auth.SSHKeyFile, []byte(strings.TrimSpace(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write the SSH key of %s: %w", envGitSSHKey, err)
		}
	}
	cfg := gitsource.Config{URL: *g.url, Path: *g.path, Cache: cache, Auth: auth}
	if g.branch != nil {
		cfg.Branch = *g.branch
	}
	src, err := gitsource.New(cfg)
	if err != nil {
		return nil, usageError{err}
	}
	return src, nil
}

// load fetches the ref of the flags (or the remote's HEAD)
// and loads its manifests, paths resolved against dir. Their errors are
// the whole message, as loadManifests's are.
func (g *gitFlags) load(ctx context.Context, dir string) (*spec.Set, error) {
	src, err := g.source(dir)
	if err != nil {
		return nil, err
	}
	// FetchRef, even for the remote's HEAD: it removes no checkout, so a
	// plan beside a watch of the same cache leaves the watch's alone.
	ref := "HEAD"
	if g.ref != nil && *g.ref != "" {
		ref = *g.ref
	}
	rev, err := src.FetchRef(ctx, ref)
	var re *gitsource.RevisionError
	switch {
	case errors.As(err, &re):
		return nil, hinted{err, "fix the revision's manifests; nothing was planned or applied"}
	case err != nil:
		// Named by the ref asked for: src's String names the branch watch follows.
		name := src.URL() + "@" + ref
		if src.Path() != "" {
			name += ":" + src.Path()
		}
		return nil, hinted{fmt.Errorf("cannot fetch %s: %w", name, err), "check --git, --ref and the credentials (" + envGitToken + ", --git-token-file, --git-ssh-key-file)"}
	}
	set, err := spec.LoadFrom(dir, src.Manifests(rev))
	if err != nil {
		return nil, hinted{err, fmt.Sprintf("fix the manifests of revision %s above; nothing was planned or applied", rev.Short())}
	}
	return set, nil
}

// loadSet loads the manifests of dir, or with --git those of the remote.
func loadSet(ctx context.Context, cmd, dir string, git *gitFlags) (*spec.Set, error) {
	on, err := git.set(cmd)
	switch {
	case err != nil:
		return nil, err
	case on:
		return git.load(ctx, dir)
	}
	return loadManifests(dir)
}
