package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/internal/redact"
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
)

// stateDir is where a working directory keeps its state and lock.
func stateDir(dir string) string { return filepath.Join(dir, spec.StateDir) }

// addrFlag is an address flag that may be given several times; each value
// must parse as an address.
type addrFlag []report.Address

func (l *addrFlag) String() string {
	s := make([]string, len(*l))
	for i, a := range *l {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (l *addrFlag) Set(s string) error {
	a, err := report.Parse(s)
	if err != nil {
		return err
	}
	*l = append(*l, a)
	return nil
}

// parseInterleaved parses flags that may come before, between or after
// positional arguments (state show ADDR --dir D) and returns the
// positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
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
	if err := checkManifestDir(dir); err != nil {
		return nil, err
	}
	set, err := spec.Load(dir)
	if err != nil {
		return nil, hinted{err, "fix the manifests above; nothing was planned or applied"}
	}
	return set, nil
}

// checkManifestDir refuses a --dir that is not a directory or holds no
// manifest: watch checks it at start too, before it creates a state.
func checkManifestDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return hinted{fmt.Errorf("%s is not a directory", dir), "give the directory that holds the manifests with --dir"}
	}
	for _, e := range entries {
		if !e.IsDir() && spec.IsManifest(e.Name()) {
			return nil
		}
	}
	return noManifests(dir)
}

// noManifests is the error of a directory without a manifest, which is
// almost always the wrong directory (Terraform's "No configuration
// files"). Nothing is planned, applied or created in it; to declare no
// reports at all, a manifest says so.
func noManifests(dir string) error {
	return hinted{fmt.Errorf("no manifests in %s: no *.yaml or *.yml file", dir),
		"give the directory that holds the manifests with --dir; to declare no reports, write a manifest with \"reports: []\""}
}

// openWorkdir loads the manifests of dir and opens its state (in dir, or
// at url: see openStore): locked for writing (waiting up to lockTimeout
// for the lock), or, with write false, read-only (no lock, no write) for
// plan.
func openWorkdir(ctx context.Context, dir, url string, write bool, lockTimeout time.Duration, warn io.Writer) (*spec.Set, stateStore, error) {
	set, err := loadManifests(dir)
	if err != nil {
		return nil, nil, err
	}
	mode := pgstore.ReadOnly
	if write {
		mode = pgstore.Exclusive
	}
	st, err := openStore(ctx, dir, url, mode, lockTimeout, 0, warn)
	if err != nil {
		return nil, nil, err
	}
	return set, st, nil
}

// lockTimeoutFlag defines --lock-timeout, on every command that takes the
// state's lock.
func lockTimeoutFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("lock-timeout", 0, "wait up to `D` for the state's lock if another ledgerform holds it (a cron apply waiting for a running apply); 0 fails at once")
}

// checkLockTimeout refuses a negative --lock-timeout.
func checkLockTimeout(cmd string, d time.Duration) error {
	if d < 0 {
		return usageError{fmt.Errorf("%s: --lock-timeout %s: want 0 or more", cmd, d)}
	}
	return nil
}

// openState opens the state of dir (or at url) for writing, waiting up to
// lockTimeout for its lock, or explains why not.
func openState(ctx context.Context, dir, url string, lockTimeout time.Duration, warn io.Writer) (stateStore, error) {
	return openStore(ctx, dir, url, pgstore.Exclusive, lockTimeout, 0, warn)
}

// openStateReadOnly reads the state in dir without locking it.
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
	case errors.As(err, &le) && le.Waited > 0:
		return hinted{err, fmt.Sprintf("another ledgerform (pid %d) is still working on %s; wait longer with a larger --lock-timeout, or stop it", le.PID, dir)}
	case errors.As(err, &le):
		return hinted{err, fmt.Sprintf("another ledgerform (pid %d) is working on %s; wait for it (--lock-timeout D waits up to D), or stop it", le.PID, dir)}
	case errors.As(err, &ve):
		return hinted{err, "use the newer ledgerform that wrote it; nothing was changed"}
	case errors.As(err, &ce):
		return hinted{err, "nothing was changed; restore " + stateDir(dir) + " from a backup, or move it aside to start afresh (every report is then created again)"}
	}
	return err
}

// A connector makes the API client for the endpoint given by --endpoint,
// else by the manifests' settings, else the embedded engine, which it
// starts (and says so in one line). Close releases what it started. It
// is safe for concurrent use.
type connector struct {
	flagEndpoint string
	stderr       io.Writer
	// Log, if set, is told the endpoint of every client made, as a log
	// record (slog.Logger.Info): the embedded engine with its URL, or the
	// endpoint's URL, never a credential. Without it the embedded engine
	// is announced in one line on stderr and a real endpoint is not.
	Log func(msg string, args ...any)
	// Observe, if set, is told of every HTTP attempt (the daemon's metrics).
	Observe func(nordigen.Attempt)

	mu      sync.Mutex
	engines []*engine.Running
	clients []*nordigen.Client
}

// held is how long the throttles of the clients made so far held their
// requests back, all together (nordigen.Client.Held).
func (c *connector) held() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d time.Duration
	for _, cl := range c.clients {
		d += cl.Held()
	}
	return d
}

// made notes a client made, for held.
func (c *connector) made(cl *nordigen.Client) {
	c.mu.Lock()
	c.clients = append(c.clients, cl)
	c.mu.Unlock()
}

// endpoint is the endpoint in use with the settings s, and where it was
// given.
func (c *connector) endpoint(s spec.Settings) (endpoint, source string) {
	if c.flagEndpoint != "" {
		return c.flagEndpoint, "--endpoint"
	}
	return s.Endpoint, "settings.endpoint"
}

// id names the endpoint in use with the settings s as the state records
// it (state.Record.Endpoint): "embedded", or the base URL without user
// information or a trailing slash. Results are reused only between
// reports of the same id.
func (c *connector) id(s spec.Settings) string {
	e, _ := c.endpoint(s)
	if e == "" || e == "embedded" {
		return "embedded"
	}
	return strings.TrimRight(redact.URL(e), "/")
}

// Connect returns a client for the settings.
func (c *connector) Connect(_ context.Context, s spec.Settings) (reconcile.API, error) {
	endpoint, _ := c.endpoint(s)
	if endpoint == "" || endpoint == "embedded" {
		e, err := engine.StartEmbedded(engine.Config{})
		if err != nil {
			return nil, fmt.Errorf("start the embedded engine: %w", err)
		}
		cl, err := nordigen.New(nordigen.Config{BaseURL: e.URL, ClientID: e.ClientID, ClientSecret: nordigen.NewSecret(e.ClientSecret),
			RateLimit: s.RateLimit, Observe: c.Observe})
		if err != nil {
			e.Close()
			return nil, err
		}
		c.made(cl)
		c.mu.Lock()
		c.engines = append(c.engines, e)
		c.mu.Unlock()
		why := "no endpoint configured"
		if endpoint != "" {
			why = "endpoint: embedded"
		}
		if c.Log != nil {
			c.Log("using the embedded engine; its records last as long as this process", "endpoint", "embedded", "url", e.URL, "reason", why)
		} else {
			fmt.Fprintf(c.stderr, "ledgerform: using the embedded engine at %s (%s); its records last as long as this run\n", e.URL, why)
		}
		return cl, nil
	}
	id, secret := os.Getenv("NORDIGEN_CLIENT_ID"), os.Getenv("NORDIGEN_CLIENT_SECRET")
	if id == "" || secret == "" {
		return nil, hinted{fmt.Errorf("endpoint %s needs credentials", endpoint),
			"set NORDIGEN_CLIENT_ID and NORDIGEN_CLIENT_SECRET in the environment (never in a manifest or a flag)"}
	}
	cl, err := nordigen.New(nordigen.Config{BaseURL: endpoint, ClientID: id, ClientSecret: nordigen.NewSecret(secret),
		RateLimit: s.RateLimit, Observe: c.Observe})
	if err != nil {
		return nil, err
	}
	c.made(cl)
	if c.Log != nil {
		c.Log("using the API", "endpoint", redact.URL(endpoint))
	}
	return cl, nil
}

// unusable is the run's error for a failure of Reconciler.Reach, which
// comes before any report is started: it names the endpoint, the cause and
// what to check. Other errors are returned as they are.
func (c *connector) unusable(s spec.Settings, err error) error {
	endpoint, source := c.endpoint(s)
	switch {
	case api.IsUnreachable(err):
		return hinted{fmt.Errorf("cannot reach the API at %s: %w", endpoint, err),
			fmt.Sprintf("check %s, or that the service is up; no report was started", source)}
	case api.IsPermanent(err):
		return hinted{fmt.Errorf("the API at %s refused the client: %w", endpoint, err),
			fmt.Sprintf("check NORDIGEN_CLIENT_ID and NORDIGEN_CLIENT_SECRET, and that %s is the API's; no report was started", source)}
	}
	return err
}

// checkEndpointFlag refuses an --endpoint that could never be connected
// to, before any work, by the rules of settings.endpoint.
func checkEndpointFlag(cmd, endpoint string) error {
	if endpoint == "" {
		return nil
	}
	if err := spec.CheckEndpoint(endpoint); err != nil {
		return usageError{fmt.Errorf("%s: --endpoint: %w", cmd, err)}
	}
	return nil
}

// Close stops the engines Connect started.
func (c *connector) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.engines {
		e.Close()
	}
	c.engines = nil
}

// closeState closes the state, and turns a failure to do so into the
// command's error if it had none: the run did its work, but the state
// was not saved as it should have been.
func closeState(st stateStore, err error, stderr io.Writer) error {
	cerr := st.Close()
	if cerr == nil {
		return err
	}
	if err != nil {
		fmt.Fprintf(stderr, "ledgerform: warning: %v\n", cerr)
		return err
	}
	return hinted{fmt.Errorf("save the state: %w", cerr),
		"every step that was reported is in the state's journal, which the next run reads; free space or fix the permissions of the state directory, then run plan"}
}
