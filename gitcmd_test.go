package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/daemon"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/state"
)

const gitReportA = "  - {name: a, statements: [s/a.json], operations: [categorisation], country: uk}\n"
const gitReportB = "  - {name: b, statements: [s/b.json], operations: [categorisation], country: uk}\n"

// engineWithCredentials starts an engine on loopback for the test, with
// its credentials in the environment.
func engineWithCredentials(t *testing.T) *engine.Running {
	t.Helper()
	e, err := engine.StartEmbedded(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	t.Setenv("NORDIGEN_CLIENT_ID", e.ClientID)
	t.Setenv("NORDIGEN_CLIENT_SECRET", e.ClientSecret)
	return e
}

// plan --git --ref on a ref that adds a report shows exactly that create,
// against the state of --dir, whose statements the paths resolve against.
func TestPlanGit_RefThatAddsAReport(t *testing.T) {
	e := engineWithCredentials(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "s"), 0o700)
	writeFile(t, filepath.Join(dir, "s", "a.json"), goodStatement)
	writeFile(t, filepath.Join(dir, "s", "b.json"), goodStatement)
	// report.a applied, as a watch of main would have.
	writeFile(t, filepath.Join(dir, "m.yaml"), "reports:\n"+gitReportA)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"apply", "--dir", dir, "--endpoint", e.URL}, &out, &errb); err != nil {
		t.Fatalf("apply: %v\n%s%s", err, out.String(), errb.String())
	}
	os.Remove(filepath.Join(dir, "m.yaml"))

	repo := testutil.NewGitRepo(t)
	repo.Commit("a", map[string]string{"deploy/m.yaml": "reports:\n" + gitReportA})
	repo.Git("checkout", "--quiet", "-b", "add-b")
	c2 := repo.Commit("b", map[string]string{"deploy/m.yaml": "reports:\n" + gitReportA + gitReportB})
	repo.Git("checkout", "--quiet", "main")

	out.Reset()
	errb.Reset()
	if err := run(context.Background(), []string{"plan", "--dir", dir, "--git", repo.URL(), "--path", "deploy", "--ref", "add-b", "--json"}, &out, &errb); err != nil {
		t.Fatalf("plan: %v\n%s", err, errb.String())
	}
	var doc struct {
		Changes []struct{ Address, Action string }
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var changes []string
	for _, c := range doc.Changes {
		if c.Action != "noop" {
			changes = append(changes, c.Action+" "+c.Address)
		}
	}
	if strings.Join(changes, ", ") != "create report.b" {
		t.Errorf("changes %q, want exactly the create of report.b\n%s", changes, out.String())
	}

	out.Reset()
	if err := run(context.Background(), []string{"plan", "--dir", dir, "--git", repo.URL(), "--path", "deploy", "--ref", "add-b"}, &out, &errb); err != nil {
		t.Fatalf("plan: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "revision "+c2) || !strings.Contains(out.String(), "report.b will be created") || strings.Contains(out.String(), "report.a will") {
		t.Errorf("plan text:\n%s", out.String())
	}
	// Without --ref: the remote's HEAD (main), which has no change.
	out.Reset()
	if err := run(context.Background(), []string{"plan", "--dir", dir, "--git", repo.URL(), "--path", "deploy", "--detailed-exitcode"}, &out, &errb); err != nil {
		t.Fatalf("plan of main: %v\n%s", err, out.String())
	}
	if fi, err := os.Stat(filepath.Join(dir, ".ledgerform", "git")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the cache: %v %v", fi, err)
	}

	// why names the revision a report was applied from.
	st, err := state.Open(filepath.Join(dir, ".ledgerform"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := st.Get("report.a")
	r.Revision = c2
	if err := st.Put(r); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out.Reset()
	if err := run(context.Background(), []string{"why", "report.a", "--dir", dir, "--git", repo.URL(), "--path", "deploy", "--addr", ""}, &out, &errb); err != nil {
		t.Fatalf("why: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "applied from revision "+c2) || !strings.Contains(out.String(), ":deploy/m.yaml:2:5") {
		t.Errorf("why:\n%s", out.String())
	}
}

func TestValidateGit_errorsNameTheCommit(t *testing.T) {
	repo := testutil.NewGitRepo(t)
	c := repo.Commit("typo", map[string]string{"m.yaml": "reports:\n  - name: a\n    operatons: [categorisation]\n"})
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"validate", "--dir", t.TempDir(), "--git", repo.URL()}, &out, &errb)
	if err == nil || !strings.Contains(errb.String()+err.Error(), c[:12]+`:m.yaml:3:5: unknown key "operatons"`) {
		t.Fatalf("validate: %v\n%s", err, errb.String())
	}

	good := repo.Commit("fixed", map[string]string{"m.yaml": "reports: []\n"})
	out.Reset()
	if err := run(context.Background(), []string{"validate", "--dir", t.TempDir(), "--git", repo.URL()}, &out, &errb); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if !strings.Contains(out.String(), "Revision "+good) {
		t.Errorf("validate says %q", out.String())
	}
}

// A --ref the remote does not have is named in the error as given, not as
// the remote's HEAD that was not asked for.
func TestPlanGit_unknownRefNamesTheRef(t *testing.T) {
	repo := testutil.NewGitRepo(t)
	repo.Commit("a", map[string]string{"deploy/m.yaml": "reports: []\n"})
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"plan", "--dir", t.TempDir(), "--git", repo.URL(), "--path", "deploy", "--ref", "no-such-branch"}, &out, &errb)
	msg := errb.String()
	if err != nil {
		msg += err.Error()
	}
	if err == nil || !strings.Contains(msg, "@no-such-branch:deploy") || strings.Contains(msg, "@HEAD") {
		t.Errorf("plan --ref no-such-branch: %v\n%s", err, msg)
	}
}

func TestGitFlags_needGit(t *testing.T) {
	for _, args := range [][]string{{"plan", "--ref", "x"}, {"validate", "--path", "p"}, {"watch", "--branch", "main"}} {
		var out, errb bytes.Buffer
		err := run(context.Background(), append(args, "--dir", t.TempDir()), &out, &errb)
		if err == nil || !strings.Contains(errb.String()+err.Error(), "needs --git") {
			t.Errorf("%q: %v %s", args, err, errb.String())
		}
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"plan", "--dir", t.TempDir(), "--git", "https://u:hunter2@example.com/r.git"}, &out, &errb)
	if err == nil || strings.Contains(errb.String()+err.Error(), "hunter2") {
		t.Errorf("a URL with a password: %v %s", err, errb.String())
	}
}

// watch --git from the command line: the manifests from a remote over
// loopback HTTP with a token from the environment, a signed push webhook
// with the secret from the environment; neither reaches the logs or
// /status.
func TestWatchGit_FromTheCommandLine(t *testing.T) {
	const token, secret = "cli-git-token-5678", "cli-hook-secret-9012"
	e := engineWithCredentials(t)
	t.Setenv(envGitToken, token)
	t.Setenv(envWebhookSecret, secret)
	repo := testutil.NewGitRepo(t)
	c1 := repo.Commit("a", map[string]string{"deploy/m.yaml": "reports:\n" + gitReportA})
	url := repo.ServeHTTP(token)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "s"), 0o700)
	writeFile(t, filepath.Join(dir, "s", "a.json"), goodStatement)
	writeFile(t, filepath.Join(dir, "s", "b.json"), goodStatement)

	ctx, cancel := context.WithCancel(context.Background())
	logs := &testutil.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"watch", "--git", url, "--path", "deploy", "--interval", "1h", "--dir", dir, "--endpoint", e.URL, "--listen", "127.0.0.1:0"}, &bytes.Buffer{}, logs)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v\n%s", err, logs)
		}
	}()
	addr := waitFor(t, logs, regexp.MustCompile(`serving /healthz.* addr=(\S+)`))[1]
	status := func() (daemon.Status, string) {
		resp, err := http.Get("http://" + addr + "/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var s daemon.Status
		json.Unmarshal(b, &s)
		return s, string(b)
	}
	settled := func(rev string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			s, raw := status()
			if s.Source != nil && s.Source.Revision == rev && s.Ready && s.Queue.Ready == 0 && s.Queue.InFlight == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("revision %s not settled:\n%s\n%s", rev, raw, logs)
			}
		}
	}
	settled(c1)

	c2 := repo.Commit("b", map[string]string{"deploy/m.yaml": "reports:\n" + gitReportA + gitReportB})
	body := []byte(`{"ref":"refs/heads/main"}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hooks/git", bytes.NewReader(body))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	settled(c2)
	s, raw := status()
	for _, r := range s.Reports {
		if want := map[string]string{"report.a": c1, "report.b": c2}[r.Address]; r.Revision != want || r.Phase != "completed" {
			t.Errorf("%s: %s from %q, want completed from %s", r.Address, r.Phase, r.Revision, want)
		}
	}
	for _, text := range []string{logs.String(), raw} {
		if strings.Contains(text, token) || strings.Contains(text, secret) {
			t.Errorf("a credential in the logs or /status:\n%s", text)
		}
	}
}

// plan --git over SSH with the key itself in $LEDGERFORM_GIT_SSH_KEY and
// --git-known-hosts: the key is written into the cache (0600) for ssh,
// and never reaches the output.
func TestPlanGit_overSSHWithTheKeyInTheEnvironment(t *testing.T) {
	port, keyFile, knownHosts := testutil.SSHServer(t)
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(envGitSSHKey, string(key))
	repo := testutil.NewGitRepo(t)
	c := repo.Commit("a", map[string]string{"m.yaml": "reports:\n" + gitReportA})
	me, _ := user.Current()
	url := fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", me.Username, port, repo.Bare)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "s"), 0o700)
	writeFile(t, filepath.Join(dir, "s", "a.json"), goodStatement)

	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"plan", "--dir", dir, "--git", url, "--git-known-hosts", knownHosts}, &out, &errb); err != nil {
		t.Fatalf("plan: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "revision "+c) || !strings.Contains(out.String(), "report.a will be created") {
		t.Errorf("plan:\n%s", out.String())
	}
	written := filepath.Join(dir, ".ledgerform", "git", "ssh-key")
	if fi, err := os.Stat(written); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key for ssh: %v %v", fi, err)
	}
	body := strings.TrimSpace(string(key))
	if line := strings.Split(body, "\n")[1]; strings.Contains(out.String()+errb.String(), line) {
		t.Error("the key is in the output")
	}
}
