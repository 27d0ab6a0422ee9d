package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerform/ledgerform/daemon"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/pgtest"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/state"
)

// pgState points the commands of this test at a fresh PostgreSQL
// database (LEDGERFORM_STATE, PGPASSWORD) and returns it.
func pgState(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	db.Env(t)
	t.Setenv(stateEnv, db.URL())
	return db
}

// ledgerform runs the command as a process of its own.
func ledgerform(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("ledgerform", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPG_ApplyPlanState: apply, plan and state list on a PostgreSQL
// workspace, nothing of the state in .ledgerform/; a second workspace in
// the same database is another state; a password in the URL reaches no
// output, right or wrong.
func TestPG_ApplyPlanState(t *testing.T) {
	db := pgState(t)
	dir, e, _ := watchFixture(t, 3, 0)
	creds := []string{"NORDIGEN_CLIENT_ID=" + e.ClientID, "NORDIGEN_CLIENT_SECRET=" + e.ClientSecret}
	// The password in the URL this time, PGPASSWORD wrong.
	withPW := strings.Replace(db.URL(), pgtest.User+"@", pgtest.User+":"+url.UserPassword("", db.Server.Password).String()[1:]+"@", 1)
	env := append(creds, stateEnv+"="+withPW, "PGPASSWORD=wrong")
	var outputs []string
	out, err := ledgerform(t, env, "apply", "--dir", dir, "--endpoint", e.URL)
	outputs = append(outputs, out)
	if err != nil || !strings.Contains(out, "Apply complete: 3 created, 0 failed.") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, ".ledgerform", "state.json")); err == nil {
		t.Error("apply with --state wrote a file state too")
	}
	out, err = ledgerform(t, env, "plan", "--dir", dir)
	outputs = append(outputs, out)
	if err != nil || !strings.Contains(out, "No changes. 3 up to date.") {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	out, err = ledgerform(t, env, "state", "list", "--dir", dir)
	outputs = append(outputs, out)
	if err != nil || strings.Count(out, "completed") != 3 {
		t.Fatalf("state list: %v\n%s", err, out)
	}
	out, err = ledgerform(t, env, "show", "report.r0", "--dir", dir, "--offline")
	outputs = append(outputs, out)
	if err != nil {
		t.Fatalf("show of a report recorded in PostgreSQL: %v\n%s", err, out)
	}
	// Another workspace of the same database knows none of it.
	out, err = ledgerform(t, env, "plan", "--dir", dir, "--state", withPW+"&workspace=other")
	outputs = append(outputs, out)
	if err != nil || !strings.Contains(out, "3 to create") {
		t.Fatalf("plan of another workspace: %v\n%s", err, out)
	}
	// The file store is still the default.
	out, err = ledgerform(t, append(creds, stateEnv+"="), "plan", "--dir", dir)
	outputs = append(outputs, out)
	if err != nil || !strings.Contains(out, "3 to create") {
		t.Fatalf("plan of the file state: %v\n%s", err, out)
	}
	// A wrong password, in the URL: refused, clearly, without quoting it.
	wrong := strings.Replace(withPW, url.UserPassword("", db.Server.Password).String()[1:], "Wr0ngPa55", 1)
	out, err = ledgerform(t, creds, "apply", "--dir", dir, "--endpoint", e.URL, "--state", wrong)
	outputs = append(outputs, out)
	host := fmt.Sprintf("127.0.0.1:%d", db.Server.Port)
	if exitCode(err) != 1 || !strings.Contains(out, host) || !strings.Contains(out, "password authentication failed") ||
		!strings.Contains(out, "hint: check the user and database in the URL, and the password in PGPASSWORD") {
		t.Errorf("apply with a wrong password: %v\n%s", err, out)
	}
	for _, o := range outputs {
		for _, pw := range []string{db.Server.Password, "Wr0ngPa55"} {
			if strings.Contains(o, pw) {
				t.Errorf("an output quotes a password:\n%s", o)
			}
		}
	}
	// Nothing that is not a postgres URL.
	out, err = ledgerform(t, creds, "plan", "--dir", dir, "--state", "mysql://x")
	if exitCode(err) != 1 || !strings.Contains(out, "want a postgres:// URL") {
		t.Errorf("plan --state mysql://x: %v\n%s", err, out)
	}
}

// TestPG_ApplyBesideWatch: apply fails at once while a daemon works the
// workspace, naming the daemon's host and pid; plan runs beside it; an
// unreachable database is a clear error naming the host.
func TestPG_ApplyBesideWatch(t *testing.T) {
	pgState(t)
	dir, e, run := watchFixture(t, 2, 0)
	creds := []string{"NORDIGEN_CLIENT_ID=" + e.ClientID, "NORDIGEN_CLIENT_SECRET=" + e.ClientSecret}
	cmd, log := run()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(log.String(), "watching"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("watch did not start:\n%s", log.String())
		}
	}
	host, _ := os.Hostname()
	start := time.Now()
	out, err := ledgerform(t, creds, "apply", "--dir", dir, "--endpoint", e.URL)
	if exitCode(err) != 1 || !strings.Contains(out, fmt.Sprintf("locked by pid %d on host %s", cmd.Process.Pid, host)) {
		t.Errorf("apply beside watch: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("apply took %s to fail: it should fail at once", d)
	}
	if out, err := ledgerform(t, creds, "plan", "--dir", dir); err != nil {
		t.Errorf("plan beside watch: %v\n%s", err, out)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	out, err = ledgerform(t, creds, "plan", "--dir", dir, "--state", "postgres://ledgerform@"+dead+"/x?sslmode=disable&connect_timeout=3")
	if exitCode(err) != 1 || !strings.Contains(out, dead) || !strings.Contains(out, "hint: check the host and port") {
		t.Errorf("plan with an unreachable database: %v\n%s", err, out)
	}
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitLog waits until a daemon's log has s in it, for at most d.
func waitLog(log *testutil.SyncBuffer, s string, d time.Duration) {
	for deadline := time.Now().Add(d); !strings.Contains(log.String(), s) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

// killOutsideProcessing kills cmd with SIGKILL at an instant when none
// of its workers can be between the API's accepting a processing request
// and the commit of its id: stopped (SIGSTOP), it holds the lease of no
// report whose record is at uploaded (upload id recorded, processing id
// not yet), else it goes on a little and is looked at again. A kill
// there costs a second processing request whatever the daemons do (the
// API has no idempotency key; see daemon/leases.go); everywhere else
// (uploading, polling, writing, between steps) it must cost none.
func killOutsideProcessing(t *testing.T, url string, cmd *exec.Cmd) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s:%d:%%", host, cmd.Process.Pid)
	waits := 0
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		var held, exposed int
		if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE r.record->>'phase' = $2)
			FROM ledgerform_leases l LEFT JOIN ledgerform_records r USING (workspace, address)
			WHERE l.owner LIKE $1`, owner, string(state.Uploaded)).Scan(&held, &exposed); err != nil {
			t.Fatal(err)
		}
		if exposed == 0 || time.Now().After(deadline) {
			t.Logf("killed pid %d holding %d leases (%d waits for a processing id to be recorded)", cmd.Process.Pid, held, waits)
			break
		}
		waits++
		cmd.Process.Signal(syscall.SIGCONT)
		time.Sleep(time.Duration(20+rand.IntN(60)) * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// TestPG_WatchFailover: three daemons share one workspace of 60 reports
// and one engine whose processing takes a while; one of them is killed
// with SIGKILL again and again, and restarted. Every report completes
// with its output whole; no report is processed twice (exactly 60
// processing requests); a kill costs an upload again only for a report
// whose upload's answer it cut off before the id was recorded (allowed:
// one per kill). /status shows the leases' owners.
//
// The kills land anywhere but at the one instant where a kill costs a
// second processing request whatever the daemons do (between the
// engine's accepting one and the commit of its id: killOutsideProcessing).
func TestPG_WatchFailover(t *testing.T) {
	const n, kills = 60, 4
	db := pgState(t)
	dir, e, run := watchFixture(t, n, time.Second)
	args := []string{"--lease", "2s", "--parallelism", "4", "--resync", "3s"}
	addr := freeAddr(t)
	steady, log0 := run(append(args, "--listen", addr)...)
	_, log1 := run(args...)
	victim, logv := run(args...)
	_ = steady
	logs := []*testutil.SyncBuffer{log0, log1, logv}

	owners := map[string]bool{}
	textOwners := 0 // rows of status's table that name a lease owner
	leaseRow := regexp.MustCompile(`(?m)^report\.r\d+ .* \S+:\d+:\S+ \((\d+s left|expiring)\)$`)
	seeOwners := func() {
		if out, err := ledgerform(t, nil, "status", "--addr", addr); err == nil {
			textOwners += len(leaseRow.FindAllString(out, -1))
		}
		resp, err := http.Get("http://" + addr + "/status")
		if err != nil {
			return
		}
		defer resp.Body.Close()
		var s daemon.Status
		if json.NewDecoder(resp.Body).Decode(&s) == nil {
			for _, r := range s.Reports {
				if r.Lease != nil {
					owners[r.Lease.Owner] = true
				}
			}
		}
	}
	for k := range kills {
		// Killed once it works on reports (on a loaded machine a daemon
		// may take seconds to start; late in the run it may find none
		// left), a little later each time, so that the kills land in
		// different steps.
		waitLog(logv, "msg=step", 15*time.Second)
		time.Sleep(time.Duration(100+300*k) * time.Millisecond)
		seeOwners()
		killOutsideProcessing(t, db.URL(), victim)
		victim.Wait()
		victim, logv = run(args...)
		logs = append(logs, logv)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		seeOwners()
		ph := phases(t, dir)
		done := 0
		for _, p := range ph {
			if p == state.Completed {
				done++
			}
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d completed: %v\n--- daemon 0:\n%s\n--- daemon 1:\n%s\n--- victim:\n%s", done, n, ph, log0, log1, logv)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := range n {
		b, err := os.ReadFile(filepath.Join(dir, "out", fmt.Sprintf("r%d.json", i)))
		var res struct {
			Data struct {
				Attributes struct {
					Status         string          `json:"status"`
					Categorisation json.RawMessage `json:"categorisation"`
				} `json:"attributes"`
			} `json:"data"`
		}
		if err != nil || json.Unmarshal(b, &res) != nil || res.Data.Attributes.Status != "completed" || len(res.Data.Attributes.Categorisation) == 0 {
			t.Errorf("output of r%d: %v, %.80q", i, err, b)
		}
	}
	if got := engineCount(t, e, "process"); got != n {
		t.Errorf("%d processing requests, want exactly %d", got, n)
	}
	if got := engineCount(t, e, "upload"); got < n || got > n+kills {
		t.Errorf("%d uploads, want %d to %d", got, n, n+kills)
	}
	if len(owners) < 2 {
		t.Errorf("/status showed the leases of %d daemons (%v), want several", len(owners), owners)
	}
	if textOwners == 0 {
		t.Error("ledgerform status never showed a lease owner in its table")
	}
	host, _ := os.Hostname()
	for o := range owners {
		if !strings.HasPrefix(o, host+":") {
			t.Errorf("lease owner %q does not name the host %s", o, host)
		}
	}
	// The killed daemon's reports were resumed from their records.
	resumed := 0
	for _, l := range logs {
		resumed += strings.Count(l.String(), "action=resume step=start")
	}
	if resumed == 0 {
		t.Error("no report was resumed: the kills interrupted nothing")
	}
	t.Logf("uploads %d, processing requests %d, resumed %d, lease owners seen %d", engineCount(t, e, "upload"), engineCount(t, e, "process"), resumed, len(owners))
}

// BenchmarkWatch_Daemons measures how long 1 and 3 watch daemons sharing
// one PostgreSQL workspace take to complete 60 reports, each daemon with
// --parallelism 4, against the same engine (16 processing workers, 500 ms
// of processing, 5 ms of latency per answer). Each op is a whole run, from
// the daemons' start to the last report recorded completed.
func BenchmarkWatch_Daemons(b *testing.B) {
	const n = 60
	for _, daemons := range []int{1, 3} {
		b.Run(fmt.Sprintf("daemons=%d", daemons), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := pgtest.New(b)
				db.Env(b)
				b.Setenv(stateEnv, db.URL())
				dir, _, run := watchFixtureWith(b, n, engine.Config{Workers: 16, Faults: engine.Faults{ProcessingTime: 500 * time.Millisecond, Latency: 5 * time.Millisecond}})
				b.StartTimer()
				var logs []*testutil.SyncBuffer
				for range daemons {
					_, log := run("--parallelism", "4", "--lease", "10s")
					logs = append(logs, log)
				}
				for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
					done := 0
					for _, p := range phases(b, dir) {
						if p == state.Completed {
							done++
						}
					}
					if done == n {
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("%d of %d completed\n%s", done, n, logs[0])
					}
				}
			}
		})
	}
}

// TestPG_FileStateLeftBehind: a directory applied with the file state and
// then planned against an empty PostgreSQL workspace would do every report
// again; plan and apply say so on stderr, naming how many records the
// file state holds, and nothing is said once the workspace has records.
func TestPG_FileStateLeftBehind(t *testing.T) {
	db := pgtest.New(t)
	db.Env(t)
	dir, e, _ := watchFixture(t, 2, 0)
	t.Setenv("NORDIGEN_CLIENT_ID", e.ClientID)
	t.Setenv("NORDIGEN_CLIENT_SECRET", e.ClientSecret)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"apply", "--dir", dir, "--endpoint", e.URL}, &out, &errb); err != nil {
		t.Fatalf("apply with the file state: %v\n%s", err, errb.String())
	}
	for _, cmd := range []string{"plan", "apply"} {
		out.Reset()
		errb.Reset()
		if err := run(context.Background(), []string{cmd, "--dir", dir, "--endpoint", e.URL, "--state", db.URL()}, &out, &errb); err != nil {
			t.Fatalf("%s --state: %v\n%s\n%s", cmd, err, errb.String(), out.String())
		}
		if !strings.Contains(errb.String(), "warning: the PostgreSQL workspace has no records, but .ledgerform/state.json holds 2") {
			t.Errorf("%s --state into an empty workspace: stderr\n%s", cmd, errb.String())
		}
	}
	errb.Reset()
	if err := run(context.Background(), []string{"plan", "--dir", dir, "--state", db.URL()}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(errb.String(), "warning") {
		t.Errorf("a warning with the workspace applied:\n%s", errb.String())
	}
}
