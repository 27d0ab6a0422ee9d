package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
)

// stateDir is where a working directory keeps its state and lock.
func stateDir(dir string) string { return filepath.Join(dir, ".ledgerform") }

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// parseInterleaved parses flags that may come before, between or after
// positional arguments (state show ADDR --dir D) and returns the
// positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// loadManifests reads the manifests of dir; their errors are the whole
// message, one per line with file:line:col.
func loadManifests(dir string) (*spec.Set, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, hinted{fmt.Errorf("%s is not a directory", dir), "give the directory that holds the manifests with --dir"}
	}
	set, err := spec.Load(dir)
	if err != nil {
		return nil, hinted{err, "fix the manifests above; nothing was planned or applied"}
	}
	return set, nil
}

// openState opens the state of dir for writing, or explains why not.
func openState(dir string) (*state.Store, error) {
	st, err := state.Open(stateDir(dir))
	return st, stateHint(dir, err)
}

// openStateReadOnly reads the state of dir without locking it.
func openStateReadOnly(dir string) (*state.Store, error) {
	st, err := state.OpenReadOnly(stateDir(dir))
	return st, stateHint(dir, err)
}

// stateHint says what to do about a state that cannot be opened.
func stateHint(dir string, err error) error {
	var le *state.LockedError
	var ve *state.VersionError
	var ce *state.CorruptError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		return hinted{err, fmt.Sprintf("another ledgerform (pid %d) is working on %s; wait for it, or stop it", le.PID, dir)}
	case errors.As(err, &ve):
		return hinted{err, "use the newer ledgerform that wrote it; nothing was changed"}
	case errors.As(err, &ce):
		return hinted{err, "nothing was changed; restore " + stateDir(dir) + " from a backup, or move it aside to start afresh (every report is then created again)"}
	}
	return err
}

// connect returns a client for the endpoint given by --endpoint, else by
// the manifests' settings, else the embedded engine, which it starts (and
// says so in one line). close releases whatever connect started.
func connect(flagEndpoint string, set *spec.Set, stderr io.Writer) (api *nordigen.Client, close func(), err error) {
	return connectVia(flagEndpoint, set, stderr, nil)
}

// connectWith is connect for the daemon: an API over the given base
// transport.
func connectWith(flagEndpoint string, set *spec.Set, stderr io.Writer, t http.RoundTripper) (reconcile.API, func(), error) {
	c, closeFn, err := connectVia(flagEndpoint, set, stderr, t)
	if err != nil {
		return nil, nil, err
	}
	return c, closeFn, nil
}

func connectVia(flagEndpoint string, set *spec.Set, stderr io.Writer, t http.RoundTripper) (api *nordigen.Client, close func(), err error) {
	endpoint := flagEndpoint
	if endpoint == "" {
		endpoint = set.Settings.Endpoint
	}
	if endpoint == "" || endpoint == "embedded" {
		e, err := engine.StartEmbedded(engine.Config{})
		if err != nil {
			return nil, nil, fmt.Errorf("start the embedded engine: %w", err)
		}
		c, err := nordigen.New(nordigen.Config{BaseURL: e.URL, ClientID: e.ClientID, ClientSecret: nordigen.NewSecret(e.ClientSecret),
			RateLimit: 1000, Transport: t})
		if err != nil {
			e.Close()
			return nil, nil, err
		}
		why := "no endpoint configured"
		if endpoint != "" {
			why = "endpoint: embedded"
		}
		fmt.Fprintf(stderr, "ledgerform: using the embedded engine at %s (%s); its records last as long as this run\n", e.URL, why)
		return c, func() { e.Close() }, nil
	}
	id, secret := os.Getenv("NORDIGEN_CLIENT_ID"), os.Getenv("NORDIGEN_CLIENT_SECRET")
	if id == "" || secret == "" {
		return nil, nil, hinted{fmt.Errorf("endpoint %s needs credentials", endpoint),
			"set NORDIGEN_CLIENT_ID and NORDIGEN_CLIENT_SECRET in the environment (never in a manifest or a flag)"}
	}
	c, err := nordigen.New(nordigen.Config{BaseURL: endpoint, ClientID: id, ClientSecret: nordigen.NewSecret(secret), Transport: t})
	if err != nil {
		return nil, nil, err
	}
	return c, func() {}, nil
}
