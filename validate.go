package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ledgerform/ledgerform/report"
)

const validateUsage = `validate

Reads every manifest (*.yaml, *.yml) in --dir and checks it: strict keys and
types, unique names, operations, country, params, statement paths and
globs, drop folders, and every output and drop path: none may lead into
.ledgerform/ or onto a manifest, a statement, an existing directory, or a
name too long to write. Every problem is listed as file:line:col; a
dropped file whose output can never be written is listed too (exit 1),
though plan and apply go on with the other reports. Touches neither the
state nor the network.

With --git URL the manifests are those of the remote's HEAD (or --ref, or
--path inside the repository), fetched into .ledgerform/git/ of --dir;
their statement, drop and output paths resolve against --dir. Errors name
the commit: "1a2b3c4d5e6f:deploy/reports.yaml:3:5: …".`

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", validateUsage)
	dir := fs.String("dir", ".", "the working `directory`: manifests, and the state in .ledgerform/")
	git := addGitFlags(fs, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set, err := loadSet(ctx, "validate", *dir, git)
	if err != nil {
		return err
	}
	drops := 0
	var problems []string
	for _, r := range set.Reports {
		if r.Address.Kind() == report.KindDrop {
			drops++
		}
		if r.Problem != "" {
			problems = append(problems, fmt.Sprintf("%s: %s: %s", r.Pos, r.Address, r.Problem))
		}
	}
	if len(problems) > 0 {
		return hinted{errors.New(strings.Join(problems, "\n")),
			"rename or remove these dropped files; the manifests are valid and the other reports can be applied"}
	}
	if set.Revision != "" {
		fmt.Fprintf(stdout, "Revision %s: ", set.Revision)
	}
	fmt.Fprintf(stdout, "%d manifest(s) valid: %d report(s), %d of them from %d drop folder(s).\n",
		len(set.Files), len(set.Reports), drops, len(set.Drops))
	return nil
}
