package daemon

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/gitsource"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/notify"
)

// gitHarness is a daemon whose manifests come from a real git repository
// (a bare repository by file://, or over loopback HTTP), with its data
// directory in t.TempDir().
type gitHarness struct {
	*harness
	repo *testutil.GitRepo
}

func startGit(t *testing.T, repo *testutil.GitRepo, url string, cfg Config) *gitHarness {
	t.Helper()
	dir := t.TempDir()
	for i, n := range []string{"a", "b", "c", "d"} {
		write(t, dir, "s/"+n+".json", statement(i))
	}
	return startGitIn(t, dir, repo, url, gitsource.Auth{}, cfg)
}

// startGitIn is startGit in the data directory dir, with auth.
func startGitIn(t *testing.T, dir string, repo *testutil.GitRepo, url string, auth gitsource.Auth, cfg Config) *gitHarness {
	t.Helper()
	src, err := gitsource.New(gitsource.Config{URL: url, Path: "deploy", Cache: filepath.Join(dir, ".ledgerform", "git"), Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Source, cfg.SourceInfo = src, SourceInfo{URL: src.URL(), Path: src.Path()}
	if cfg.SourceInterval == 0 {
		cfg.SourceInterval = 100 * time.Millisecond
	}
	return &gitHarness{harness: start(t, dir, cfg, engine.Config{}), repo: repo}
}

func (h *gitHarness) report(addr string) ReportStatus {
	for _, r := range h.status().Reports {
		if r.Address == addr {
			return r
		}
	}
	return ReportStatus{}
}

// inForce waits until the revision is in force and its work is done.
func (h *gitHarness) inForce(rev string) {
	h.t.Helper()
	h.eventually("revision "+rev+" in force", func() bool {
		s := h.status()
		return s.Source != nil && s.Source.Revision == rev && s.Ready && s.Queue.Ready == 0 && s.Queue.InFlight == 0
	})
}

func (h *gitHarness) reconciles(action string) int {
	return h.metric("ledgerform_reconcile_total", map[string]string{"action": action, "outcome": "success"})
}

const threeReports = "  - {name: a, statements: [s/a.json], operations: [categorisation], country: uk}\n" +
	"  - {name: b, statements: [s/b.json], operations: [categorisation], country: uk}\n" +
	"  - {name: c, statements: [s/c.json], operations: [categorisation], country: uk}\n"

// The life of a git source: a commit that edits one report applies
// exactly that report; a broken commit changes nothing and shows on
// /status, as a condition and an event; the next good commit applies; a
// force-push back to an older revision is reconciled like any other.
func TestGit_Revisions(t *testing.T) {
	hook := newWebhook(t, "", 200)
	head := notifications(hook.URL, "") + "reports:\n"
	repo := testutil.NewGitRepo(t)
	c1 := repo.Commit("three reports", map[string]string{"deploy/m.yaml": head + threeReports, "README.md": "# manifests\n"})
	h := startGit(t, repo, repo.URL(), Config{})
	h.inForce(c1)
	if got := h.reconciles("create"); got != 3 {
		t.Fatalf("%d creates, want 3", got)
	}
	for _, a := range []string{"report.a", "report.b", "report.c"} {
		if got := h.report(a).Revision; got != c1 {
			t.Errorf("%s applied from %q, want %s", a, got, c1)
		}
	}
	if e := hook.of(notify.Completed, "report.a"); len(e) != 1 || e[0].Revision != c1 {
		t.Errorf("completed events of report.a: %+v", e)
	}
	if c, _ := FindCondition(h.status().Conditions, ConditionSourceReachable); c.Status != "True" {
		t.Errorf("SourceReachable: %+v", c)
	}

	// A commit that edits one report.
	uploads, total := h.calls("upload"), h.metric("ledgerform_reconcile_total", nil)
	bEdited := strings.Replace(threeReports, "s/b.json], operations: [categorisation]", "s/b.json], operations: [categorisation, simple-score]", 1)
	c2 := repo.Commit("b gets a score", map[string]string{"deploy/m.yaml": head + bEdited})
	h.inForce(c2)
	if got := h.calls("upload") - uploads; got != 1 {
		t.Errorf("%d uploads for the commit that edits report.b, want 1", got)
	}
	if got := h.metric("ledgerform_reconcile_total", nil) - total; got != 1 {
		t.Errorf("%d reconciles for the commit, want 1", got)
	}
	if a, b := h.report("report.a").Revision, h.report("report.b").Revision; a != c1 || b != c2 {
		t.Errorf("report.a applied from %s (want %s), report.b from %s (want %s)", a, c1, b, c2)
	}

	// A broken commit: nothing changes, and it shows.
	total = h.metric("ledgerform_reconcile_total", nil)
	c3 := repo.Commit("a typo", map[string]string{"deploy/m.yaml": head + bEdited + "  - {name: d, statements: [s/d.json], operatons: [categorisation], country: uk}\n"})
	h.eventually("the broken revision on /status", func() bool {
		s := h.status().Source
		return s != nil && s.Invalid == c3
	})
	s := h.status()
	if s.Source.Revision != c2 || s.Source.Fetched != c3 || s.Manifests.Valid {
		t.Errorf("source %+v, manifests %+v", s.Source, s.Manifests)
	}
	if len(s.Manifests.Errors) == 0 || !strings.HasPrefix(s.Manifests.Errors[0], c3[:12]+":deploy/m.yaml:") {
		t.Errorf("errors %q do not name the commit and the file", s.Manifests.Errors)
	}
	if c, _ := FindCondition(s.Conditions, ConditionManifestsValid); c.Status != "False" || !strings.Contains(c.Message, c3) || !strings.Contains(c.Message, c2+" stays in force") {
		t.Errorf("ManifestsValid: %+v", c)
	}
	h.eventually("the manifest-invalid event", func() bool {
		e := hook.of(notify.ManifestInvalid, "")
		return len(e) == 1 && e[0].Revision == c3 && strings.Contains(e[0].Message, "operatons")
	})
	if got := h.metric("ledgerform_reconcile_total", nil) - total; got != 0 {
		t.Errorf("%d reconciles for the broken commit, want 0", got)
	}

	// The next good commit applies: report.d is created.
	c4 := repo.Commit("the typo fixed", map[string]string{"deploy/m.yaml": head + bEdited + "  - {name: d, statements: [s/d.json], operations: [categorisation], country: uk}\n"})
	total = h.metric("ledgerform_reconcile_total", nil)
	h.inForce(c4)
	if got := h.metric("ledgerform_reconcile_total", nil) - total; got != 1 {
		t.Errorf("%d reconciles for the fixed commit, want 1 (the create of report.d)", got)
	}
	if got := h.reconciles("create"); got != 4 || h.report("report.d").Revision != c4 {
		t.Errorf("%d creates, report.d from %q; want 4 and %s", got, h.report("report.d").Revision, c4)
	}
	if s := h.status(); !s.Manifests.Valid || s.Source.Invalid != "" {
		t.Errorf("after the fix: %+v %+v", s.Manifests, s.Source)
	}

	// A force-push back to c1: report.b is replaced back, report.d deleted.
	replaces, deletes := h.reconciles("replace"), h.reconciles("delete")
	repo.ForcePush(c1)
	h.inForce(c1)
	if got := h.reconciles("replace") - replaces; got != 1 {
		t.Errorf("%d replaces after the force-push, want 1", got)
	}
	if got := h.reconciles("delete") - deletes; got != 1 {
		t.Errorf("%d deletes after the force-push, want 1", got)
	}
	if got := h.report("report.b").Revision; got != c1 {
		t.Errorf("report.b applied from %s, want %s", got, c1)
	}
}

func githubSignature(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (h *gitHarness) hook(header map[string]string, body []byte) int {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+"/hooks/git", bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The push webhook over loopback HTTP git: a signed request fetches at
// once (the interval is an hour); unsigned or badly signed ones get 401
// and change nothing. GitHub, Gitea and GitLab signatures all work.
func TestGit_PushWebhook(t *testing.T) {
	secret := []byte("hook-secret-value")
	repo := testutil.NewGitRepo(t)
	c1 := repo.Commit("one", map[string]string{"deploy/m.yaml": "reports:\n" + threeReports})
	h := startGit(t, repo, repo.ServeHTTP(""), Config{SourceInterval: time.Hour, HookSecret: nordigen.NewSecret(string(secret))})
	h.inForce(c1)
	fetches := h.metric("ledgerform_source_fetches_total", map[string]string{"result": "ok"})

	c2 := repo.Commit("two", map[string]string{"deploy/m.yaml": "reports:\n" + threeReports + "  - {name: d, statements: [s/d.json], operations: [categorisation], country: uk}\n"})
	body := []byte(`{"ref":"refs/heads/main","after":"` + c2 + `"}`)
	if code := h.hook(map[string]string{"X-Hub-Signature-256": githubSignature([]byte("wrong"), body)}, body); code != http.StatusUnauthorized {
		t.Errorf("a bad signature: %d, want 401", code)
	}
	if code := h.hook(nil, body); code != http.StatusUnauthorized {
		t.Errorf("no signature: %d, want 401", code)
	}
	if code := h.hook(map[string]string{"X-Gitlab-Token": "wrong"}, body); code != http.StatusUnauthorized {
		t.Errorf("a wrong GitLab token: %d, want 401", code)
	}
	// Give a wrongly accepted request the time to show (no pass condition
	// depends on this pause; the checks below fail only if one fetched).
	time.Sleep(300 * time.Millisecond)
	if got := h.metric("ledgerform_source_fetches_total", map[string]string{"result": "ok"}); got != fetches {
		t.Errorf("%d fetches after refused requests, want none", got-fetches)
	}
	if s := h.status().Source; s.Fetched != c1 {
		t.Errorf("fetched %s after refused requests", s.Fetched)
	}
	if got := h.metric("ledgerform_git_webhooks_total", map[string]string{"result": "bad-signature"}); got != 2 {
		t.Errorf("%d bad signatures counted, want 2", got)
	}

	if code := h.hook(map[string]string{"X-Hub-Signature-256": githubSignature(secret, body), "X-GitHub-Event": "push"}, body); code != http.StatusAccepted {
		t.Fatalf("a signed request: %d, want 202", code)
	}
	h.inForce(c2)
	if h.report("report.d").Revision != c2 {
		t.Errorf("report.d: %+v", h.report("report.d"))
	}

	// Gitea's and GitLab's signatures.
	c3 := repo.Commit("three", map[string]string{"deploy/m.yaml": "reports:\n" + threeReports})
	sig := githubSignature(secret, body)[len("sha256="):]
	if code := h.hook(map[string]string{"X-Gitea-Signature": sig}, body); code != http.StatusAccepted {
		t.Fatalf("Gitea: %d", code)
	}
	h.inForce(c3)
	c4 := repo.Commit("four", map[string]string{"deploy/m.yaml": "reports:\n" + threeReports + "  - {name: d, statements: [s/d.json], operations: [categorisation], country: uk}\n"})
	if code := h.hook(map[string]string{"X-Gitlab-Token": string(secret)}, body); code != http.StatusAccepted {
		t.Fatalf("GitLab: %d", code)
	}
	h.inForce(c4)

	// A burst is rate-limited.
	limited := 0
	for range 3 * hookBurst {
		if h.hook(nil, body) == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Error("no request of a burst was rate-limited")
	}
	if strings.Contains(h.logs.String(), string(secret)) || strings.Contains(h.get("/status"), string(secret)) {
		t.Error("the webhook's secret is in the logs or /status")
	}
}

// A remote that cannot be reached is an outage of the source: shown,
// told, retried; the revision in force goes on being reconciled (a
// changed statement is still replaced), and the end is seen.
func TestGit_UnreachableRemote(t *testing.T) {
	hook := newWebhook(t, "", 200)
	repo := testutil.NewGitRepo(t)
	c1 := repo.Commit("one", map[string]string{"deploy/m.yaml": notifications(hook.URL, "") + "reports:\n" + threeReports})
	h := startGit(t, repo, repo.URL(), Config{})
	h.inForce(c1)

	moved := repo.Bare + ".away"
	if err := os.Rename(repo.Bare, moved); err != nil {
		t.Fatal(err)
	}
	h.eventually("the source's outage", func() bool {
		c, _ := FindCondition(h.status().Conditions, ConditionSourceReachable)
		return c.Status == "False" && c.Reason == "Unreachable"
	})
	h.eventually("the outage event", func() bool {
		e := hook.of(notify.Outage, "")
		return len(e) == 1 && e[0].Reason == "SourceUnreachable"
	})
	replaces := h.reconciles("replace")
	write(t, h.dir, "s/b.json", statement(42))
	h.eventually("report.b replaced during the outage", func() bool { return h.reconciles("replace") == replaces+1 })
	if s := h.status().Source; s.Revision != c1 || s.Reachable || s.Error == "" {
		t.Errorf("source during the outage: %+v", s)
	}

	if err := os.Rename(moved, repo.Bare); err != nil {
		t.Fatal(err)
	}
	h.eventually("the source reachable again", func() bool {
		c, _ := FindCondition(h.status().Conditions, ConditionSourceReachable)
		return c.Status == "True" && len(hook.of(notify.OutageOver, "")) == 1
	})
}

// A daemon that starts while the remote cannot be reached puts the
// revision the last fetch brought in force (from its cache), shows the
// outage, and takes the remote's revision once it can fetch again. The
// remote is reached over loopback HTTP with a token, which reaches no log,
// /status or error.
func TestGit_StartWhileUnreachableUsesTheCache(t *testing.T) {
	const token = "git-token-value-1234"
	repo := testutil.NewGitRepo(t)
	c1 := repo.Commit("one", map[string]string{"deploy/m.yaml": "reports:\n" + threeReports})
	url := repo.ServeHTTP(token)
	auth := gitsource.Auth{Token: nordigen.NewSecret(token)}
	dir := t.TempDir()
	for i, n := range []string{"a", "b", "c", "d"} {
		write(t, dir, "s/"+n+".json", statement(i))
	}
	h := startGitIn(t, dir, repo, url, auth, Config{})
	h.inForce(c1)
	h.stop()
	logs := h.logs.String()

	moved := repo.Bare + ".away"
	if err := os.Rename(repo.Bare, moved); err != nil {
		t.Fatal(err)
	}
	h2 := startGitIn(t, dir, repo, url, auth, Config{})
	h2.eventually("the cached revision in force, the outage shown", func() bool {
		s := h2.status()
		return s.Source.Revision == c1 && !s.Source.Reachable && s.Ready
	})
	if got := h2.metric("ledgerform_reconcile_total", nil); got != 0 {
		t.Errorf("%d reconciles of the up-to-date revision from the cache, want 0", got)
	}
	status := h2.get("/status")

	if err := os.Rename(moved, repo.Bare); err != nil {
		t.Fatal(err)
	}
	c2 := repo.Commit("two", map[string]string{"deploy/m.yaml": "reports:\n" + threeReports + "  - {name: d, statements: [s/d.json], operations: [categorisation], country: uk}\n"})
	h2.inForce(c2)
	for what, text := range map[string]string{"the first run's logs": logs, "the second's": h2.logs.String(), "/status": status} {
		if strings.Contains(text, token) {
			t.Errorf("%s hold the token", what)
		}
	}
}

// A first start while the remote cannot be reached, with nothing in the
// cache: nothing is reconciled, the source's outage says why (not a
// manifest that does not load), and the first fetch that succeeds applies.
func TestGit_FirstStartWhileUnreachable(t *testing.T) {
	repo := testutil.NewGitRepo(t)
	moved := repo.Bare + ".away"
	if err := os.Rename(repo.Bare, moved); err != nil {
		t.Fatal(err)
	}
	h := startGit(t, repo, repo.URL(), Config{})
	h.eventually("the outage shown", func() bool {
		s := h.status()
		c, _ := FindCondition(s.Conditions, ConditionManifestsValid)
		return s.Source != nil && !s.Source.Reachable && c.Reason == "NotLoaded"
	})
	if err := os.Rename(moved, repo.Bare); err != nil {
		t.Fatal(err)
	}
	c1 := repo.Commit("one", map[string]string{"deploy/m.yaml": "reports:\n" + threeReports})
	h.inForce(c1)
	if got := h.reconciles("create"); got != 3 {
		t.Errorf("%d creates, want 3", got)
	}
	if strings.Contains(h.logs.String(), "manifest does not load") {
		t.Errorf("the outage was logged as a manifest that does not load:\n%s", h.logs.String())
	}
	// Nor as an API outage: with no manifest, the API was not asked.
	if strings.Contains(h.logs.String(), "cannot connect to the API") || strings.Contains(h.logs.String(), "connect to the API: no manifest") {
		t.Errorf("the source's outage was logged as the API's:\n%s", h.logs.String())
	}
}
