package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

const stateUsage = `state list | show ADDR... | rm ADDR...

list  prints every recorded report: address, phase, last update, output.
show  prints the records of the addresses as JSON.
rm    forgets the addresses: the next plan creates them again if they are
      still in the manifests. Their output files are left alone. Takes the
      state's lock.`

func runState(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("state", stateUsage)
	dir := fs.String("dir", ".", "the working `directory`: the state is in .ledgerform/")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return argError(fs, errors.New("want list, show or rm"), "usage")
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
	switch sub {
	case "list":
		if len(args) > 0 {
			return usageError{fmt.Errorf("state list: unexpected argument %q", args[0])}
		}
		st, err := openStateReadOnly(*dir)
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
		st, err := openStateReadOnly(*dir)
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
		st, err := openState(*dir)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, a := range addrs {
			if _, ok := st.Get(a); !ok {
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
	}
	return usageError{fmt.Errorf("state: unknown subcommand %q; want list, show or rm", sub)}
}
