package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ledgerform/ledgerform/report"
)

const validateUsage = `validate [--dir D]

Reads every manifest (*.yaml, *.yml) in D and checks it: strict keys and
types, unique names, operations, country, params, statement paths and
globs, drop folders. Every problem is listed as file:line:col. Touches
neither the state nor the network.`

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", validateUsage, stderr)
	dir := fs.String("dir", ".", "the working `directory`: manifests, and the state in .ledgerform/")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set, err := loadManifests(*dir)
	if err != nil {
		return err
	}
	drops := 0
	for _, r := range set.Reports {
		if r.Address.Kind() == report.KindDrop {
			drops++
		}
	}
	fmt.Fprintf(stdout, "%d manifest(s) valid: %d report(s), %d of them from %d drop folder(s).\n",
		len(set.Files), len(set.Reports), drops, len(set.Drops))
	return nil
}
