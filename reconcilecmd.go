package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/ledgerform/ledgerform/daemon"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
)

const reconcileUsage = `reconcile ADDR... | --all

Asks the watch daemon running for --dir to reconcile the addresses now:
each is planned afresh and carried out at once, ahead of the reports the
daemon has queued and out of any backoff, as a resync would but without
waiting for one. drop.NAME is every file of the drop; --all is every
report a full resync would queue (the manifests are read again first). A
report the daemon is working on is reconciled again once that work ends.
An address in neither the manifests nor the state is refused, with the one
probably meant, before anything is done.

It waits for each address's outcome and prints it, one line each; with
--no-wait it returns once the daemon has accepted the addresses. The
request goes over the daemon's control socket, --dir/.ledgerform/
control.sock (0600, only its owner can use it), never over the network.

Exit status: 0 when every address was reconciled (or accepted, with
--no-wait); 3 when any failed, is blocked, is suspended (suspend: true;
nothing is done to it) or the API cannot be used; 1 for an error,
including no daemon running for --dir and the --timeout running out (the
daemon goes on with the work).`

func runReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("reconcile", reconcileUsage)
	dir := flags.String("dir", ".", "the working `directory` of the daemon: its control socket is in .ledgerform/")
	all := flags.Bool("all", false, "every report a full resync would queue")
	noWait := flags.Bool("no-wait", false, "return once the daemon accepted the addresses")
	timeout := flags.Duration("timeout", 10*time.Minute, "how long to wait for the outcomes")
	pos, err := parseInterleaved(flags, args)
	if err != nil {
		return err
	}
	req := daemon.ReconcileRequest{All: *all, Wait: !*noWait}
	for _, a := range pos {
		addr, err := report.Parse(a)
		if err != nil {
			return argError(flags, err, "usage")
		}
		req.Addresses = append(req.Addresses, addr.String())
	}
	switch {
	case *all && len(pos) > 0:
		return argError(flags, errors.New("give addresses or --all, not both"), "usage")
	case !*all && len(pos) == 0:
		return argError(flags, errors.New("want an address, or --all"), "usage")
	case *timeout <= 0:
		return usageError{fmt.Errorf("reconcile: --timeout %s: want a duration above zero", *timeout)}
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	sock := daemon.ControlPath(*dir)
	cl := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://ledgerform/reconcile", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := cl.Do(hr)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED):
		return hinted{fmt.Errorf("no daemon is running for %s (no answer on %s)", *dir, sock),
			fmt.Sprintf("start one with \"ledgerform watch --dir %s\", or reconcile without one: \"ledgerform apply --dir %s --target ADDR\"", *dir, *dir)}
	case err != nil:
		return fmt.Errorf("reconcile: ask the daemon: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var ce daemon.ControlError
		if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ce) != nil || ce.Error == "" {
			ce.Error = "the daemon answered " + resp.Status
		}
		if ce.Hint != "" {
			return hinted{errors.New(ce.Error), ce.Hint}
		}
		return errors.New(ce.Error)
	}

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var acc daemon.ReconcileAccepted
	if !sc.Scan() || json.Unmarshal(sc.Bytes(), &acc) != nil {
		return answerError(ctx, sc.Err(), *timeout)
	}
	if len(acc.Accepted) == 0 {
		fmt.Fprintln(stdout, "Nothing to reconcile: the daemon has no report due.")
		return nil
	}
	if *noWait {
		fmt.Fprintf(stdout, "Accepted: %s.\n", strings.Join(acc.Accepted, ", "))
		return nil
	}
	left := map[string]bool{}
	for _, a := range acc.Accepted {
		left[a] = true
	}
	var failed []string
	for len(left) > 0 && sc.Scan() {
		var o daemon.ReconcileOutcome
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			return fmt.Errorf("reconcile: the daemon's answer: %w", err)
		}
		delete(left, o.Address)
		line, ok := outcomeLine(o)
		fmt.Fprintf(stdout, "%s: %s\n", o.Address, line)
		if !ok {
			failed = append(failed, o.Address)
		}
	}
	if len(left) > 0 {
		return answerError(ctx, sc.Err(), *timeout)
	}
	if len(failed) > 0 {
		return exitError{code: 3, err: fmt.Errorf("%d of %d report(s) not reconciled: %s; \"ledgerform state show ADDR\" tells more",
			len(failed), len(acc.Accepted), strings.Join(failed, ", "))}
	}
	return nil
}

// answerError is the error of an answer cut short: the timeout, or the
// daemon gone.
func answerError(ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return hinted{fmt.Errorf("reconcile: no outcome within --timeout %s; the daemon goes on with the work", timeout),
			"see its log or /status, or run again with a longer --timeout"}
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reconcile: the daemon's answer ended early (did it stop?): %w", err)
}

// pastTense says what a done change did.
var pastTense = map[reconcile.Action]string{
	reconcile.Create: "created", reconcile.Replace: "replaced", reconcile.Reuse: "reused", reconcile.Resume: "resumed", reconcile.Retry: "retried",
	reconcile.Restore: "restored", reconcile.Move: "moved", reconcile.Render: "rendered", reconcile.Delete: "deleted", reconcile.Noop: "up to date",
}

// outcomeLine says how one address ended, and whether that is what was
// asked for.
func outcomeLine(o daemon.ReconcileOutcome) (string, bool) {
	why := func(s string) string {
		if o.Error != "" {
			return s + ": " + o.Error
		}
		return s
	}
	switch {
	case reconcile.Action(o.Action) == reconcile.Suspended:
		return "suspended (suspend: true): nothing done", false
	case o.Verdict == reconcile.VerdictDone.String():
		if s, ok := pastTense[reconcile.Action(o.Action)]; ok {
			return s, true
		}
		return "done", true
	case o.Verdict == reconcile.VerdictBlocked.String():
		return why("blocked"), false
	case o.Verdict == reconcile.VerdictTransient.String():
		return why("failed, to be retried with backoff"), false
	case o.Verdict == reconcile.VerdictInterrupted.String():
		return why("interrupted"), false
	}
	return why(o.Verdict), false
}
