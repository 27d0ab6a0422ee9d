package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/spec"
)

// maxPlanFile bounds a saved plan file that is read back.
const maxPlanFile = 256 << 20

// manifestDigests hashes every manifest of set, for a saved plan.
func manifestDigests(set *spec.Set) ([]reconcile.InputDigest, error) {
	ds := make([]reconcile.InputDigest, 0, len(set.Files))
	for _, f := range set.Files {
		sum, err := fsutil.HashFile(f)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", f, err)
		}
		// By name: manifests lie directly in --dir, however it is written.
		ds = append(ds, reconcile.InputDigest{Path: filepath.Base(f), SHA256: sum})
	}
	return ds, nil
}

// savePlan writes p, planned with opts from set against st, to name:
// 0600, atomically.
func savePlan(name string, p *reconcile.Plan, set *spec.Set, st stateStore, opts reconcile.Options) error {
	ds, err := manifestDigests(set)
	if err != nil {
		return err
	}
	sp, err := p.Save(st.Lineage(), st.Serial(), opts, ds)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := sp.Write(&b); err != nil {
		return err
	}
	if err := fsutil.WriteFile(name, b.Bytes()); err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	return nil
}

// readPlanFile reads a saved plan file.
func readPlanFile(name string) (*reconcile.SavedPlan, error) {
	data, _, err := fsutil.ReadRegular(name, maxPlanFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("plan file %s: %w", name, err)
	}
	sp, err := reconcile.ReadSavedPlan(bytes.NewReader(data))
	if err != nil {
		return nil, hinted{fmt.Errorf("plan file %s: %w", name, err), "give a file written by \"ledgerform plan --out FILE\""}
	}
	return sp, nil
}

// planFromFile plans again as the saved plan was planned and returns the
// new plan if it is the saved one exactly; otherwise the saved plan is
// stale and nothing is done.
func planFromFile(name string, set *spec.Set, st stateStore, endpoint string) (*reconcile.Plan, error) {
	sp, err := readPlanFile(name)
	if err != nil {
		return nil, err
	}
	opts := sp.Options()
	opts.Endpoint = endpoint // the endpoint it is applied against decides what is reused
	p, err := reconcile.NewPlan(set, st, opts)
	if err != nil {
		return nil, usageError{err}
	}
	ds, err := manifestDigests(set)
	if err != nil {
		return nil, err
	}
	if err := sp.Check(p, st.Lineage(), st.Serial(), ds); err != nil {
		return nil, hinted{err, "nothing was done; run \"ledgerform plan --out " + name + "\" again, review it, and apply the new file"}
	}
	return p, nil
}

// showPlan prints the saved plan file name as plan prints a plan, or with
// asJSON as "plan --json" does; it reads only the file.
func showPlan(name string, asJSON bool, stdout io.Writer) error {
	sp, err := readPlanFile(name)
	if err != nil {
		return err
	}
	p, err := sp.Printable()
	if err != nil {
		return err
	}
	if asJSON {
		return p.WriteJSON(stdout)
	}
	fmt.Fprintf(stdout, "Saved plan of %s, against state serial %d.\n\n", sp.Created.Format("2006-01-02 15:04:05 UTC"), sp.Serial)
	return p.WriteText(stdout)
}
