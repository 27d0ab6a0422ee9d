package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
)

// TestApply_SurvivesSIGKILL runs apply in a child process against an
// engine with a processing time, kills it with SIGKILL at random moments
// and restarts it, then lets it finish. After every kill the state must
// load; at the end every report must be completed with its whole output;
// and no report may have been given a second processing id once one was
// recorded (a processing request is never repeated for a report whose id
// the state holds).
func TestApply_SurvivesSIGKILL(t *testing.T) { testApplySurvivesSIGKILL(t) }

// TestPG_ApplySurvivesSIGKILL is the same with the state in PostgreSQL.
func TestPG_ApplySurvivesSIGKILL(t *testing.T) {
	pgState(t)
	testApplySurvivesSIGKILL(t)
}

func testApplySurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process 20+ times")
	}
	bin, err := exec.LookPath("ledgerform")
	if err != nil {
		t.Fatalf("the test binary is not installed as ledgerform: %v", err)
	}
	e, err := engine.StartEmbedded(engine.Config{Faults: engine.Faults{ProcessingTime: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	dir := t.TempDir()
	const reports = 8
	var manifest strings.Builder
	manifest.WriteString("settings:\n  parallelism: 3\nreports:\n")
	for i := range reports {
		name := fmt.Sprintf("r%d", i)
		stmt := fmt.Sprintf(`{"account_list":[{"account_nr":"GB%02d","holder_name":"Holder %d","currency":"GBP","transaction_list":[
 {"date":"2026-01-05","sum":%d.00,"partner":"ACME LTD","info":"SALARY"},
 {"date":"2026-01-09","sum":-%d.50,"partner":"TESCO","info":"CARD"}]}]}`, i, i, 1000+i, 10+i)
		if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(stmt), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&manifest, "  - {name: %s, statements: [%s.json], operations: [categorisation], country: uk}\n", name, name)
	}
	if err := os.WriteFile(filepath.Join(dir, "ledgerform.yaml"), []byte(manifest.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	// Every processing id seen for each version of each report: in the
	// state (keyed by the record's digest) and in the children's output
	// (keyed by the round: statements are rewritten only between runs).
	seen := map[string]map[string]bool{}
	note := func(key, id string) {
		if id == "" {
			return
		}
		if seen[key] == nil {
			seen[key] = map[string]bool{}
		}
		seen[key][id] = true
	}
	round := 0
	observeState := func(when string) {
		st, err := openStore(context.Background(), dir, "", pgstore.ReadOnly, 0, 0, io.Discard)
		if err != nil {
			t.Fatalf("%s: the state does not load: %v", when, err)
		}
		for _, r := range st.Records() {
			note("state "+r.Address.String()+"@"+r.Digest, r.ProcessID)
		}
		st.Close()
	}
	observeOutput := func(out []byte) {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			var ev struct {
				Address   string `json:"address"`
				Step      string `json:"step"`
				Status    string `json:"status"`
				ProcessID string `json:"process_id"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Step == "process" && ev.Status == "ok" {
				note(fmt.Sprintf("output %s@round%d", ev.Address, round), ev.ProcessID)
			}
		}
	}
	apply := func() *exec.Cmd {
		cmd := exec.Command(bin, "apply", "--json", "--dir", dir, "--endpoint", e.URL)
		cmd.Env = append(os.Environ(), "NORDIGEN_CLIENT_ID="+e.ClientID, "NORDIGEN_CLIENT_SECRET="+e.ClientSecret)
		return cmd
	}

	kills := 0
	for kills < 20 {
		cmd := apply()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.N(1200)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		observeOutput(out.Bytes())
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			kills++
		} else if err != nil {
			t.Fatalf("apply ended on its own with %v:\n%s", err, out.String())
		} else {
			// It finished before the kill: make it all to do again, so the
			// next kills land in the middle of work.
			round++
			for i := range reports {
				p := filepath.Join(dir, fmt.Sprintf("r%d.json", i))
				b, _ := os.ReadFile(p)
				os.WriteFile(p, append(b, ' '), 0o600)
			}
		}
		observeState(fmt.Sprintf("after kill %d", kills))
	}

	cmd := apply()
	out, err := cmd.CombinedOutput()
	observeOutput(out)
	if err != nil {
		t.Fatalf("the last apply failed: %v\n%s", err, out)
	}
	observeState("at the end")

	st, err := openStore(context.Background(), dir, "", pgstore.ReadOnly, 0, 0, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs := st.Records()
	if len(recs) != reports {
		t.Fatalf("%d records, want %d", len(recs), reports)
	}
	for _, r := range recs {
		if r.Phase != state.Completed {
			t.Errorf("%s: phase %s, want completed", r.Address, r.Phase)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(r.Spec.Output)))
		if err != nil {
			t.Errorf("%s: %v", r.Address, err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); r.Output == nil || got != r.Output.SHA256 {
			t.Errorf("%s: output hash %s differs from the recorded one", r.Address, got)
		}
		if !json.Valid(b) || !bytes.Contains(b, []byte(`"categorisation"`)) {
			t.Errorf("%s: output is not a complete result:\n%s", r.Address, b)
		}
	}
	for key, ids := range seen {
		if len(ids) > 1 {
			t.Errorf("%s: processed %d times once an id was recorded: %v", key, len(ids), ids)
		}
	}
	t.Logf("%d kills, %d rounds of new statements, %d report versions processed", kills, round+1, len(seen))
}

// TestApply_SecondProcessFailsAtOnce: while one apply holds the state, a
// second fails at once, naming the first's pid; plan still works.
func TestApply_SecondProcessFailsAtOnce(t *testing.T) {
	bin, err := exec.LookPath("ledgerform")
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.StartEmbedded(engine.Config{Faults: engine.Faults{ProcessingTime: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.json"), []byte(`{"account_list":[{"transaction_list":[{"date":"2026-01-05","sum":1}]}]}`), 0o600)
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("reports:\n  - {name: a, statements: [s.json], operations: [categorisation], country: uk}\n"), 0o600)
	cmd := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, append(args, "--dir", dir)...)
		c.Env = append(os.Environ(), "NORDIGEN_CLIENT_ID="+e.ClientID, "NORDIGEN_CLIENT_SECRET="+e.ClientSecret)
		return c
	}
	first := cmd("apply", "--json", "--endpoint", e.URL)
	var out testutil.SyncBuffer
	first.Stdout = &out
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	// Wait until the first is polling: it holds the lock by then. The
	// deadline only guards a hang.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), `"step":"process"`); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first apply never reached processing: %s", out.String())
		}
	}
	second, err := cmd("apply", "--endpoint", e.URL).CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Fatalf("second apply: exit %d, want 1\n%s", code, second)
	}
	if want := fmt.Sprintf("locked by pid %d", first.Process.Pid); !strings.Contains(string(second), want) {
		t.Errorf("second apply says:\n%s\nwant it to name the holder: %q", second, want)
	}
	if plan, err := cmd("plan").CombinedOutput(); err != nil || !strings.Contains(string(plan), "report.a will be resumed") {
		t.Errorf("plan beside a running apply: %v\n%s", err, plan)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
