package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/internal/testutil"
)

// waitFor polls buf until re matches; the deadline only guards a hang.
func waitFor(t *testing.T, buf *testutil.SyncBuffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no match for %s in:\n%s", re, buf.String())
	return nil
}

// tokenStatus asks the engine at url for a token and returns the status.
func tokenStatus(t *testing.T, url, id, secret string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": id,
		"client_secret": secret, "audience": "https://nordigen/api"})
	resp, err := http.Post(url+"/oauth/token", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServe_GeneratedCredentials(t *testing.T) {
	t.Setenv("LEDGERFORM_ENGINE_CLIENT_ID", "")
	t.Setenv("LEDGERFORM_ENGINE_CLIENT_SECRET", "")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, &stdout, &stderr) }()

	url := waitFor(t, &stderr, regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)\n`))[1]
	creds := waitFor(t, &stderr, regexp.MustCompile(`client id (\S+), client secret (\S+)\n`))
	if code := tokenStatus(t, url, creds[1], creds[2]); code != 200 {
		t.Errorf("token with the printed credentials: %d", code)
	}
	if n := strings.Count(stderr.String(), creds[2]); n != 1 {
		t.Errorf("the generated secret appears %d times on stderr, want once", n)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel = %v, want nil", err)
	}
}

func TestServe_CredentialsFromEnvironment(t *testing.T) {
	t.Setenv("LEDGERFORM_ENGINE_CLIENT_ID", "env-id")
	t.Setenv("LEDGERFORM_ENGINE_CLIENT_SECRET", "env-secret")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testutil.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "-listen=127.0.0.1:0"}, &stdout, &stderr) }()
	url := waitFor(t, &stderr, regexp.MustCompile(`on (http://\S+)\n`))[1]
	if code := tokenStatus(t, url, "env-id", "env-secret"); code != 200 {
		t.Errorf("token with the environment's credentials: %d", code)
	}
	if strings.Contains(stderr.String(), "env-secret") || strings.Contains(stderr.String(), "generated") {
		t.Errorf("serve printed credentials it did not generate:\n%s", stderr.String())
	}
	cancel()
	<-done
}

func TestRun_Errors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 1, "no command given"},
		{[]string{"frobnicate"}, 1, `unknown command "frobnicate"`},
		{[]string{"serve", "--fail-500", "2"}, 1, "fail-500: 2 is not a fraction"},
		{[]string{"serve", "--no-such-flag"}, 1, "flag provided but not defined: -no-such-flag"},
		{[]string{"serve", "--client-id", "only-id"}, 1, "set both the client id and the client secret"},
		{[]string{"serve", "--listen", "256.0.0.1:1"}, 1, "listen"},
		{[]string{"version", "extra"}, 1, `unexpected argument "extra"`},
		{[]string{"version"}, 0, ""},
	} {
		t.Setenv("LEDGERFORM_ENGINE_CLIENT_ID", "")
		t.Setenv("LEDGERFORM_ENGINE_CLIENT_SECRET", "")
		var stdout, stderr bytes.Buffer
		code := exitStatus(run(context.Background(), tc.args, &stdout, &stderr), &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("ledgerform %q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr.String(), tc.code, tc.msg)
		}
		if tc.code != 0 && !strings.Contains(stderr.String(), "ledgerform: error: ") {
			t.Errorf("ledgerform %q: stderr %q lacks \"ledgerform: error: \"", tc.args, stderr.String())
		}
	}
}

func TestCategorise(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/s.json"
	bad := dir + "/bad.json"
	writeFile(t, good, `{"account_list":[{"currency":"GBP","transaction_list":[
		{"date":"2026-01-05","sum":1500,"partner":"Acme Ltd","info":"SALARY JAN"},
		{"date":"2026-01-06","sum":-20.5,"partner":"Tesco Stores 123","info":"CARD PAYMENT"}]}]}`)
	writeFile(t, bad, `{"account_list":[{"transaction_list":[{"date":"2026-01-05"}]}]}`)

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"categorise", good}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1500.00", "85        Salary", "-20.50", "Supermarkets"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}

	stdout.Reset()
	if err := run(context.Background(), []string{"categorise", "--json", good}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), `"category_tree_version": "uk_`) {
		t.Errorf("--json output lacks the tree version:\n%s", stdout.String())
	}

	err := run(context.Background(), []string{"categorise", good, bad}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "bad.json: account_list[0].transaction_list[0].sum: missing") {
		t.Errorf("categorise of a bad file = %v, want the file and field named", err)
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
