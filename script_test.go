package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/pgtest"
	"github.com/ledgerform/ledgerform/internal/testutil"
	"github.com/ledgerform/ledgerform/nordigen"
)

// TestMain lets the test binary be the ledgerform command inside the
// scripts of testdata/script, and inside the crash test's children; the
// tests themselves get a PostgreSQL (internal/pgtest), which the children
// do not start.
func TestMain(m *testing.M) {
	testscript.Main(withPG{m}, map[string]func(){"ledgerform": main})
}

// withPG runs the tests with a PostgreSQL server for the state/pgstore
// tests of the CLI.
type withPG struct{ m *testing.M }

func (w withPG) Run() int { return pgtest.Main(w.m) }

// TestScripts runs the CLI scenarios of testdata/script/*.txtar. Each
// script gets its own engine on loopback: $ENGINE is its URL and
// NORDIGEN_CLIENT_ID / NORDIGEN_CLIENT_SECRET its credentials. Besides the
// standard commands the scripts have:
//
//	calls-reset                  remember the engine's request counts
//	calls ENDPOINT N             assert N requests to ENDPOINT (upload, process, result, token, all) since calls-reset
//	state-save NAME              remember the bytes of every file of .ledgerform
//	state-same NAME              assert they are unchanged
//	api-process VAR COUNTRY OPERATIONS FILE...
//	                             do by hand what curl would, for ledgerform import: upload the
//	                             files to $ENGINE and request OPERATIONS (comma-separated) for
//	                             COUNTRY; set VAR to the processing request id, VAR_UPLOAD to
//	                             the upload id
//	closed-port NAME             set $NAME to a loopback host:port that nothing listens on
//
// $ENGINE_ADDR is the engine's host:port, for URLs of another scheme.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			e, err := engine.StartEmbedded(engine.Config{})
			if err != nil {
				return err
			}
			env.Defer(func() { e.Close() })
			env.Setenv("ENGINE", e.URL)
			env.Setenv("ENGINE_ADDR", strings.TrimPrefix(e.URL, "http://"))
			env.Setenv("NORDIGEN_CLIENT_ID", e.ClientID)
			env.Setenv("NORDIGEN_CLIENT_SECRET", e.ClientSecret)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"calls-reset": func(ts *testscript.TestScript, neg bool, args []string) {
				for _, ep := range endpoints {
					ts.Setenv("CALLS_"+ep, strconv.FormatFloat(engineCalls(ts, ep), 'f', 0, 64))
				}
			},
			"calls": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: calls ENDPOINT N")
				}
				want, err := strconv.Atoi(args[1])
				ts.Check(err)
				eps := []string{args[0]}
				if args[0] == "all" {
					eps = endpoints
				} else if !slices.Contains(endpoints, args[0]) {
					ts.Fatalf("calls: unknown endpoint %q", args[0])
				}
				got := 0.0
				for _, ep := range eps {
					base, _ := strconv.ParseFloat(ts.Getenv("CALLS_"+ep), 64)
					got += engineCalls(ts, ep) - base
				}
				if (int(got) == want) == neg {
					ts.Fatalf("%s calls since calls-reset: got %v, want %s%d", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
				}
			},
			"api-process": apiProcess,
			"closed-port": func(ts *testscript.TestScript, neg bool, args []string) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				ts.Check(err)
				ts.Check(l.Close())
				ts.Setenv(args[0], l.Addr().String())
			},
			"state-save": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Setenv("STATE_"+args[0], stateHash(ts))
			},
			"state-same": func(ts *testscript.TestScript, neg bool, args []string) {
				if got, want := stateHash(ts), ts.Getenv("STATE_"+args[0]); (got == want) == neg {
					ts.Fatalf("state files changed since state-save %s", args[0])
				}
			},
		},
	})
}

var endpoints = []string{"upload", "process", "result", "token"}

// apiProcess is the script command api-process: an upload and a process
// request made outside ledgerform, through the API client alone.
func apiProcess(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: api-process VAR COUNTRY OPERATIONS FILE...")
	}
	cl, err := nordigen.New(nordigen.Config{BaseURL: ts.Getenv("ENGINE"), ClientID: ts.Getenv("NORDIGEN_CLIENT_ID"),
		ClientSecret: nordigen.NewSecret(ts.Getenv("NORDIGEN_CLIENT_SECRET"))})
	ts.Check(err)
	var files []api.File
	for _, name := range args[3:] {
		b, err := os.ReadFile(ts.MkAbs(name))
		ts.Check(err)
		files = append(files, api.File{Name: filepath.Base(name), Data: b})
	}
	ctx := context.Background()
	up, err := cl.Upload(ctx, files...)
	ts.Check(err)
	pr, err := cl.Process(ctx, up.RequestID, api.ProcessRequest{Country: args[1], Operations: strings.Split(args[2], ",")})
	ts.Check(err)
	ts.Setenv(args[0], pr.RequestID)
	ts.Setenv(args[0]+"_UPLOAD", up.RequestID)
}

func engineCalls(ts *testscript.TestScript, endpoint string) float64 {
	v, err := testutil.MetricSum(ts.Getenv("ENGINE")+"/metrics", "ledgerform_engine_requests_total", map[string]string{"endpoint": endpoint})
	ts.Check(err)
	return v
}

// stateHash hashes the name and content of every file of .ledgerform.
func stateHash(ts *testscript.TestScript) string {
	dir := ts.MkAbs(".ledgerform")
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return "no state"
	}
	ts.Check(err)
	h := sha256.New()
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		ts.Check(err)
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}
