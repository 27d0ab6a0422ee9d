package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
)

const stateUsage = `state list | show ADDR... | rm ADDR... | mv OLD NEW

list  prints every recorded report: address, phase, last update, output.
show  prints the records of the addresses as JSON.
rm    forgets the addresses: the next plan creates them again if they are
      still in the manifests. Their output files are left alone.
mv    moves the record of OLD to the address NEW, as it is (request ids,
      output): after renaming a report in the manifests, state mv
      report.OLD report.NEW keeps it, and the next plan has nothing to do
      for it (or moves its output file, if NEW's output path differs),
      with no remote call. Both are reports (report.NAME) or both files of
      drops (drop.NAME["FILE"], from one drop to another too); OLD must be
      in the state and NEW not. The move is one change of the state: a
      crash leaves the record under OLD or under NEW, never both or
      neither. The output file is not touched.

rm and mv take the state's lock: --lock-timeout D waits up to D for a
running apply or watch to release it, instead of failing at once.`

func runState(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlagSet("state", stateUsage)
	dir := fs.String("dir", ".", "the working `directory`: the state is in .ledgerform/")
	lockTimeout := lockTimeoutFlag(fs)
	stURL := stateFlag(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return argError(fs, errors.New("want list, show, rm or mv"), "usage")
	}
	sub, args := pos[0], pos[1:]
	var addrs []report.Address
	for _, a := range args {
		if sub == "list" {
			break
		}
		addr, err := report.Parse(a)
		if err != nil {
			return usageError{fmt.Errorf("state %s: %w", sub, err)}
		}
		addrs = append(addrs, addr)
	}
	if (sub == "show" || sub == "rm") && len(addrs) == 0 {
		return usageError{fmt.Errorf("state %s: want an address", sub)}
	}
	if err := checkLockTimeout("state "+sub, *lockTimeout); err != nil {
		return err
	}
	if (sub == "list" || sub == "show") && *lockTimeout != 0 {
		return usageError{fmt.Errorf("state %s: --lock-timeout: list and show take no lock", sub)}
	}
	switch sub {
	case "list":
		if len(args) > 0 {
			return usageError{fmt.Errorf("state list: unexpected argument %q", args[0])}
		}
		st, err := openStore(ctx, *dir, *stURL, pgstore.ReadOnly, 0, 0, stderr)
		if err != nil {
			return err
		}
		defer st.Close()
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ADDRESS\tPHASE\tUPDATED\tOUTPUT")
		for _, r := range st.Records() {
			phase := string(r.Phase)
			if r.Phase == state.Failed && r.LastError != nil && r.LastError.Permanent {
				phase += " (permanent)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Address, phase, r.Updated.UTC().Format("2006-01-02 15:04:05"), r.Spec.Output)
		}
		return tw.Flush()
	case "show":
		st, err := openStore(ctx, *dir, *stURL, pgstore.ReadOnly, 0, 0, stderr)
		if err != nil {
			return err
		}
		defer st.Close()
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		for _, a := range addrs {
			r, ok := st.Get(a)
			if !ok {
				return hinted{fmt.Errorf("state show: %s is not in the state", a), "\"ledgerform state list\" shows the recorded addresses"}
			}
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	case "rm":
		st, err := openState(ctx, *dir, *stURL, *lockTimeout, stderr)
		if err != nil {
			return err
		}
		defer func() { err = closeState(st, err, stderr) }()
		for _, a := range addrs {
			if _, ok := st.View(a); !ok {
				return hinted{fmt.Errorf("state rm: %s is not in the state", a), "\"ledgerform state list\" shows the recorded addresses"}
			}
		}
		for _, a := range addrs {
			if err := st.Delete(a); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Removed %s from the state.\n", a)
		}
		return nil
	case "mv":
		if len(addrs) != 2 {
			return usageError{fmt.Errorf("state mv: want two addresses, OLD and NEW; got %d", len(addrs))}
		}
		if err := checkMove(addrs[0], addrs[1]); err != nil {
			return usageError{err}
		}
		return stateMove(ctx, *dir, *stURL, *lockTimeout, addrs[0], addrs[1], stdout, stderr)
	}
	return usageError{fmt.Errorf("state: unknown subcommand %q; want list, show, rm or mv", sub)}
}

// checkMove says whether a record may move from old to new by their
// addresses alone: each names one report (not a whole drop, drop.NAME), of
// the same kind, and they differ. A report and a drop file are told apart
// because their statements are found differently (listed, or one file of
// a folder): a move between the two is more likely a slip than meant.
func checkMove(old, new report.Address) error {
	for _, a := range []report.Address{old, new} {
		if a.Whole() {
			return fmt.Errorf("state mv: %s names every file of a drop, not one record; move its files one by one (drop.%s[\"FILE\"])", a, a.Name())
		}
	}
	switch {
	case old.Kind() != new.Kind():
		return fmt.Errorf("state mv: %s and %s are not of the same kind: move a report to a report, a drop file to a drop file", old, new)
	case old == new:
		return fmt.Errorf("state mv: %s is both OLD and NEW", old)
	}
	return nil
}

// stateMove moves the record of old to new in the state of dir: one
// change of the state, refused if old is not recorded or new is.
func stateMove(ctx context.Context, dir, url string, lockTimeout time.Duration, old, new report.Address, stdout, stderr io.Writer) (err error) {
	st, err := openState(ctx, dir, url, lockTimeout, stderr)
	if err != nil {
		return err
	}
	defer func() { err = closeState(st, err, stderr) }()
	if _, ok := st.Get(old); !ok {
		return hinted{fmt.Errorf("state mv: %s is not in the state", old), "\"ledgerform state list\" shows the recorded addresses"}
	}
	if _, ok := st.Get(new); ok {
		return hinted{fmt.Errorf("state mv: %s is in the state already", new),
			fmt.Sprintf("to put the record of %s in its place, forget it first with \"ledgerform state rm %s\"", old, new)}
	}
	if err := st.Move(old, new); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Moved %s to %s.\n", old, new)
	return nil
}
