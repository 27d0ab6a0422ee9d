package gitsource

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerform/ledgerform/internal/testutil"
)

// Over SSH with the key named in Auth: the key is used (and only it), the
// host key is checked against known_hosts, and a host key that is not
// known fails instead of being asked about.
func TestFetch_overSSHWithAKey(t *testing.T) {
	port, key, knownHosts := testutil.SSHServer(t)
	g := testutil.NewGitRepo(t)
	c := g.Commit("one", map[string]string{"reports.yaml": manifest})
	me, _ := user.Current()
	url := fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", me.Username, port, g.Bare)

	s := newSource(t, Config{URL: url, Auth: Auth{SSHKeyFile: key, KnownHosts: knownHosts}})
	rev, err := s.Fetch(context.Background())
	if err != nil || rev.Commit != c {
		t.Fatalf("over SSH: %v %+v", err, rev)
	}

	empty := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(empty, nil, 0o600)
	if _, err := newSource(t, Config{URL: url, Auth: Auth{SSHKeyFile: key, KnownHosts: empty}}).Fetch(context.Background()); err == nil ||
		!strings.Contains(err.Error(), "Host key verification failed") {
		t.Errorf("an unknown host key: %v", err)
	}
	other := filepath.Join(t.TempDir(), "other")
	exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).Run()
	if _, err := newSource(t, Config{URL: url, Auth: Auth{SSHKeyFile: other, KnownHosts: knownHosts}}).Fetch(context.Background()); err == nil {
		t.Error("a key the server does not take fetched")
	}
}
