package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serve --log-format json, as a process: every line it prints, from start
// to shutdown, on stdout or stderr, is a JSON log record, the generated
// credentials and the URL included; so is a failure to start.
func TestServe_LogFormatJSONEveryLine(t *testing.T) {
	cmd := exec.Command("ledgerform", "serve", "--listen", "127.0.0.1:0", "--log-format", "json")
	cmd.Env = append(os.Environ(), "LEDGERFORM_ENGINE_CLIENT_ID=", "LEDGERFORM_ENGINE_CLIENT_SECRET=")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// Read until the URL and the credentials are known.
	var stderr strings.Builder
	r := bufio.NewReader(pipe)
	var url, id, secret string
	deadline := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for url == "" || id == "" {
		line, err := r.ReadString('\n')
		stderr.WriteString(line)
		if err != nil {
			t.Fatalf("serve ended before it was ready: %v\n%s", err, stderr.String())
		}
		var rec struct {
			Msg, URL     string
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		json.Unmarshal([]byte(line), &rec) // every line is checked below
		switch rec.Msg {
		case "engine serving the Nordigen report API":
			url = rec.URL
		case "generated credentials":
			id, secret = rec.ClientID, rec.ClientSecret
		}
	}
	if code := tokenStatus(t, url, id, secret); code != 200 {
		t.Errorf("token with the logged credentials: %d", code)
	}
	if code := tokenStatus(t, url, id, "wrong"); code != 401 {
		t.Errorf("token with a wrong secret: %d", code)
	}
	if resp, err := http.Get(url + "/no/such/path"); err == nil {
		resp.Body.Close()
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	stderr.Write(rest)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, stderr.String())
	}
	recs := jsonLines(t, stdout.String()+stderr.String())
	msgs := map[string]bool{}
	for _, rec := range recs {
		if rec["time"] == nil || rec["level"] == nil || rec["msg"] == nil {
			t.Errorf("not a log record: %v", rec)
			continue
		}
		msgs[rec["msg"].(string)] = true
	}
	if !msgs["shutting down"] || len(recs) < 4 {
		t.Errorf("want the start, the credentials, the requests and the shutdown, got %d lines:\n%s", len(recs), stderr.String())
	}
	if n := strings.Count(stderr.String(), secret); n != 1 {
		t.Errorf("the generated secret is on %d lines, want once", n)
	}

	// A failure to start: one JSON record with the error and the hint,
	// exit status 1.
	out, err := exec.Command("ledgerform", "serve", "--listen", "256.0.0.1:1", "--log-format", "json").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("serve on a bad address: %v, want exit 1", err)
	}
	recs = jsonLines(t, string(out))
	if len(recs) != 1 || recs[0]["level"] != "ERROR" || !strings.Contains(recs[0]["error"].(string), "256.0.0.1") || recs[0]["hint"] == nil {
		t.Errorf("serve on a bad address printed:\n%s", out)
	}
}
