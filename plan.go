package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/state/pgstore"
)

const planUsage = `plan

Shows what apply would do: one action per report (create, replace, reuse,
resume, retry, restore, move, delete, blocked, suspended) with the reasons
and the diff of its spec. A report whose statements and spec equal those of
a completed report of the same endpoint (--endpoint, else
settings.endpoint) is a reuse of that report's result: no remote call. A suspended report (suspend: true) is left alone, and
its reason says what would be done otherwise; it is no change. Reads statement files only when their size, mtime or inode changed.
Makes no remote call and writes nothing; it reads the state without
taking its lock, so it works while an apply or watch runs.

With --out FILE the plan is also saved, for "apply FILE" to carry out
exactly that plan: apply refuses it as stale if the state or any input
(a manifest, a statement, an output, a dropped file) changed since.
"show FILE" prints it.

With --git URL the manifests are those of a git remote: its HEAD, or
--ref REF (a branch, a tag, refs/pull/N/head, a commit id), at --path;
statement, drop and output paths resolve against --dir, and the plan is
made against --dir's state. So a pull request's ref can be planned, and
its plan posted for review, without applying it. The remote is fetched
into .ledgerform/git/ of --dir (the only thing plan writes then); --out
is not taken with --git.

Exit status: 0, or with --detailed-exitcode 0 for no changes with
nothing blocked, 2 for changes, and 3 for no changes while reports are
blocked (what apply would exit with); 1 for an error, including a report
that cannot be planned (a statement file is missing) and a directory
without manifests.`

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plan", planUsage)
	dir := fs.String("dir", ".", "the working `directory`: manifests, and the state in .ledgerform/")
	asJSON := fs.Bool("json", false, "print the plan as one JSON document")
	detailed := fs.Bool("detailed-exitcode", false, "exit 2 when there are changes, 3 when none but reports are blocked")
	out := fs.String("out", "", "also save the plan to this `file` (0600), for \"apply FILE\" to carry out exactly")
	stURL := stateFlag(fs)
	endpoint := fs.String("endpoint", "", "the API's base `URL`, or \"embedded\" (default settings.endpoint): results are reused only from reports of the same endpoint; plan makes no remote call")
	git := addGitFlags(fs, true)
	var targets, replace addrFlag
	fs.Var(&targets, "target", "plan only this `address` (repeatable; drop.NAME selects all its files)")
	fs.Var(&replace, "replace", "plan to redo this `address` from scratch even if nothing changed (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *git.url != "" && *out != "" {
		return usageError{fmt.Errorf("plan: --out is not taken with --git: apply reads the manifests of --dir, not of the remote")}
	}
	set, err := loadSet(ctx, "plan", *dir, git)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *dir, *stURL, pgstore.ReadOnly, 0, 0, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	warnFileStateUnused(stderr, *dir, *stURL, st)
	if err := reconcile.CheckTargets(set, st, "--target", targets); err != nil {
		return usageError{err}
	}
	if err := checkEndpointFlag("plan", *endpoint); err != nil {
		return err
	}
	conn := &connector{flagEndpoint: *endpoint}
	opts := reconcile.Options{Targets: targets, Replace: replace, Endpoint: conn.id(set.Settings)}
	p, err := reconcile.NewPlan(set, st, opts)
	if err != nil {
		return usageError{err}
	}
	if *out != "" {
		if err := savePlan(*out, p, set, st, opts); err != nil {
			return err
		}
	}
	if *asJSON {
		err = p.WriteJSON(stdout)
	} else {
		if set.Revision != "" {
			fmt.Fprintf(stdout, "Manifests of revision %s.\n\n", set.Revision)
		}
		err = p.WriteText(stdout)
		warnMassDelete(p, stderr)
	}
	if err != nil {
		return err
	}
	// A report that cannot be planned (a statement is missing) is an
	// error of the plan, whatever else it says: a CI gate must not pass it.
	var broken []string
	for _, c := range p.Changes {
		if c.Action == reconcile.Error {
			broken = append(broken, c.Address.String())
		}
	}
	if len(broken) > 0 {
		return exitError{code: 1, err: fmt.Errorf("%d report(s) cannot be planned: %s", len(broken), strings.Join(broken, ", "))}
	}
	if !*detailed {
		return nil
	}
	if p.HasChanges() {
		return exitError{code: 2}
	}
	var blocked []string
	for _, c := range p.Changes {
		if c.Action == reconcile.Blocked {
			blocked = append(blocked, c.Address.String())
		}
	}
	if len(blocked) > 0 {
		return exitError{code: 3, err: fmt.Errorf("no changes, but %d report(s) blocked: %s", len(blocked), strings.Join(blocked, ", "))}
	}
	return nil
}

// warnMassDelete says in advance that apply will refuse the plan.
func warnMassDelete(p *reconcile.Plan, stderr io.Writer) {
	if err := p.MassDelete(); err != nil {
		fmt.Fprintf(stderr, "ledgerform: warning: %v\nledgerform: hint: apply will refuse this plan; if it is what you mean, run apply with --allow-mass-delete\n", err)
	}
}
