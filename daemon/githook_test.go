package daemon

import (
	"net/http"
	"testing"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
)

func TestCheckSignature(t *testing.T) {
	secret, body := []byte("k"), []byte(`{"ref":"refs/heads/main"}`)
	good := githubSignature(secret, body)
	for _, tc := range []struct {
		name   string
		header map[string]string
		ok     bool
	}{
		{"github", map[string]string{"X-Hub-Signature-256": good}, true},
		{"github without its prefix", map[string]string{"X-Hub-Signature-256": good[len("sha256="):]}, false},
		{"github, another body's", map[string]string{"X-Hub-Signature-256": githubSignature(secret, []byte("{}"))}, false},
		{"gitea", map[string]string{"X-Gitea-Signature": good[len("sha256="):]}, true},
		{"gogs", map[string]string{"X-Gogs-Signature": good[len("sha256="):]}, true},
		{"gitea, not hex", map[string]string{"X-Gitea-Signature": "zz"}, false},
		{"gitlab", map[string]string{"X-Gitlab-Token": "k"}, true},
		{"gitlab, a prefix of it", map[string]string{"X-Gitlab-Token": "k2"}, false},
		{"the old sha1 header alone", map[string]string{"X-Hub-Signature": "sha1=00"}, false},
		{"none", nil, false},
	} {
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		if err := checkSignature(h, body, secret); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// Without a secret the hook refuses every request, signed or not; a
// daemon without a git source has no hook.
func TestGitHook_refusedWithoutSecretOrSource(t *testing.T) {
	repo := testutil.NewGitRepo(t)
	repo.Commit("one", map[string]string{"deploy/m.yaml": "reports: []\n"})
	h := startGit(t, repo, repo.URL(), Config{})
	body := []byte("{}")
	if code := h.hook(map[string]string{"X-Hub-Signature-256": githubSignature(nil, body)}, body); code != http.StatusForbidden {
		t.Errorf("no secret: %d, want 403", code)
	}
	dir := t.TempDir()
	write(t, dir, "m.yaml", "reports: []\n")
	plain := start(t, dir, Config{}, engine.Config{})
	req, _ := http.NewRequest(http.MethodPost, plain.url+"/hooks/git", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("no source: %d, want 404", resp.StatusCode)
	}
}
