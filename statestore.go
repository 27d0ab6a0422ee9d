package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
)

// stateStore is a working directory's state as the commands use it: the
// file store in .ledgerform/ (package state), or a workspace in
// PostgreSQL (package state/pgstore), chosen by --state or
// LEDGERFORM_STATE. Both pass the contract of state/storetest.
type stateStore interface {
	reconcile.Store
	Move(from, to report.Address) error
	Lineage() string
	Serial() uint64
	Close() error
}

var (
	_ stateStore = (*state.Store)(nil)
	_ stateStore = (*pgstore.Store)(nil)
)

// stateEnv names the state when --state is not given.
const stateEnv = "LEDGERFORM_STATE"

// stateFlag defines --state on every command that reads or writes the
// state. Its default is read from the environment only when it is used,
// so that a URL there is never printed by the usage.
func stateFlag(fs *flag.FlagSet) *string {
	return fs.String("state", "", "keep the state in PostgreSQL at this postgres:// `URL` (default $"+stateEnv+
		"; the password from PGPASSWORD or a pgpass file), instead of .ledgerform/ in --dir")
}

// stateURL is the state's URL given by the flag or the environment; ""
// for the file store.
func stateURL(flagValue string) string { return cmp.Or(flagValue, os.Getenv(stateEnv)) }

// openStore opens the state of dir: the file store, or the PostgreSQL
// workspace of url (named by its workspace parameter, else the base name
// of dir, so that checkouts of one repository on two machines share
// one). mode says how: read-only (plan), the only writer (apply), or
// one of several daemons (watch). What the file store dropped on opening
// (a damaged last journal line: state.Store.Warnings) is written to warn,
// one "ledgerform: warning:" line each.
func openStore(ctx context.Context, dir, url string, mode pgstore.Mode, lockTimeout, lease time.Duration, warn io.Writer) (stateStore, error) {
	url = stateURL(url)
	if url == "" {
		var st *state.Store
		var err error
		if mode == pgstore.ReadOnly {
			st, err = openStateReadOnly(dir)
		} else {
			st, err = state.OpenWait(ctx, stateDir(dir), lockTimeout)
			err = stateHint(dir, err)
		}
		if err != nil {
			return nil, err
		}
		for _, w := range st.Warnings() {
			fmt.Fprintf(warn, "ledgerform: warning: %s\n", w)
		}
		return st, nil
	}
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return nil, usageError{errors.New("--state (or " + stateEnv + "): want a postgres:// URL; leave it unset for the state in .ledgerform/")}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := pgstore.Open(ctx, pgstore.Options{URL: url, Workspace: filepath.Base(abs), Mode: mode, LockTimeout: lockTimeout, LeaseTime: lease})
	if err != nil && ctx.Err() != nil {
		// Ctrl-C (or SIGTERM) while connecting, migrating or reading.
		return nil, exitError{code: 1, err: errors.New("interrupted while opening the state database; nothing was done")}
	}
	return st, pgHint(err)
}

// warnFileStateUnused says on stderr when st, a PostgreSQL workspace with
// no records, is used for a directory whose file state (.ledgerform/) has
// some: --state does not read the file state, so every report it records
// is planned anew, uploaded and processed again. ledgerform has no command
// that copies a file state into PostgreSQL.
func warnFileStateUnused(stderr io.Writer, dir, url string, st stateStore) {
	if stateURL(url) == "" || st.Len() > 0 {
		return
	}
	if fi, err := os.Stat(filepath.Join(stateDir(dir), "state.json")); err != nil || !fi.Mode().IsRegular() {
		return
	}
	fst, err := openStateReadOnly(dir)
	if err != nil {
		return
	}
	defer fst.Close()
	if n := fst.Len(); n > 0 {
		fmt.Fprintf(stderr, "ledgerform: warning: the PostgreSQL workspace has no records, but .ledgerform/state.json holds %d: "+
			"--state does not read it, so those reports are planned anew (uploaded and processed again)\n", n)
	}
}

// pgHint says what to do about a PostgreSQL state that cannot be opened.
func pgHint(err error) error {
	var pe *pgstore.Error
	var le *state.LockedError
	var ve *state.VersionError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		return hinted{err, fmt.Sprintf("another ledgerform (pid %d on %s) is working on this workspace; wait for it (--lock-timeout D waits up to D), or stop it", le.PID, le.Host)}
	case errors.As(err, &ve):
		return hinted{err, "use the newer ledgerform that migrated the database; nothing was changed"}
	case errors.As(err, &pe) && pe.Kind == pgstore.KindUnreachable:
		return hinted{err, "check the host and port in --state (or " + stateEnv + "), and that PostgreSQL is up and reachable; nothing was changed"}
	case errors.As(err, &pe) && pe.Kind == pgstore.KindLogin:
		return hinted{err, "check the user and database in the URL, and the password in PGPASSWORD or the pgpass file (never in a manifest); nothing was changed"}
	case errors.As(err, &pe) && pe.Kind == pgstore.KindReadOnly:
		return hinted{err, "point --state at the primary, writable server; plan and state list can read a read-only one; nothing was changed"}
	}
	return err
}
