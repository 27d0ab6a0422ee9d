package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/internal/redact"
	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/spec"
	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/pgstore"
	"github.com/ledgerform/ledgerform/summary"
)

const showUsage = `show ADDR | FILE

With an address (report.NAME, drop.NAME["FILE"]), prints the summary of
that completed report from its output file: the score; income (average
monthly, by source, regularity, stability, trend, days since the last);
loans in and out by lender category; the risk signals; every account's
money in, money out, net and end balance month by month; and the top
spending categories. Only the products the report asked for. --json prints
the same summary as one JSON document, --csv the categorised transactions
(date, account, currency, amount, category id and title) for spreadsheets.

Category titles come from the category tree of the API that produced the
result (settings.endpoint, or --endpoint; the embedded engine when none):
fetched once per country and tree version, and kept in
D/.ledgerform/trees/, so show works offline afterwards. The country is the
one the report was processed for (its recorded spec); the version the
result's category_tree_version. Without the tree (offline, --offline, or
the API unreachable), categories are shown by id and show says that titles
are unavailable. Nothing else is sent anywhere: the summary comes from the
output file alone.

With any other argument, prints a saved plan file (written by "plan --out
FILE") as plan prints a plan, or with --json as "plan --json" does; it reads
only the file. An argument that reads as an address but names no recorded
report, while a file of that name exists, is that file.`

func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("show", showUsage)
	asJSON := fs.Bool("json", false, "print the summary (or the saved plan) as one JSON document")
	asCSV := fs.Bool("csv", false, "print the report's categorised transactions as CSV, with category id and title")
	dir := fs.String("dir", ".", "the working `directory` of a report: the state in .ledgerform/, outputs relative to it")
	endpoint := fs.String("endpoint", "", "the API `URL` to fetch a missing category tree from (default: settings.endpoint, else the embedded engine)")
	offline := fs.Bool("offline", false, "never fetch a category tree: titles only from the cache")
	stURL := stateFlag(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return argError(fs, errors.New("want one address or one plan file"), "usage")
	}
	addr, perr := report.Parse(pos[0])
	if perr != nil && looksLikeAddress(pos[0]) {
		if _, err := os.Stat(pos[0]); errors.Is(err, os.ErrNotExist) {
			return hinted{fmt.Errorf("show: %v; and no plan file has that name", perr), `quote a dropped file's address for the shell: 'drop.NAME["FILE"]'`}
		}
	}
	if perr != nil || planFileInstead(*dir, *stURL, addr, pos[0]) {
		if *asCSV {
			return usageError{errors.New("show: --csv is for a report's transactions, not a saved plan")}
		}
		return showPlan(pos[0], *asJSON, stdout)
	}
	if *asJSON && *asCSV {
		return usageError{errors.New("show: --json and --csv: choose one")}
	}
	if err := checkEndpointFlag("show", *endpoint); err != nil {
		return err
	}
	s, err := reportSummary(ctx, *dir, *stURL, addr, *endpoint, *offline, stderr)
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	case *asCSV:
		if s.Titles.Note != "" {
			fmt.Fprintf(stderr, "ledgerform: note: %s\n", s.Titles.Note)
		}
		return s.WriteCSV(stdout)
	}
	return s.WriteText(stdout)
}

// looksLikeAddress reports whether arg was meant as an address: it starts
// with an address's kind.
func looksLikeAddress(arg string) bool {
	return strings.HasPrefix(arg, "report.") || strings.HasPrefix(arg, "drop.")
}

// planFileInstead reports whether arg, which parses as an address, is
// better read as a plan file: no report of that address is recorded in
// dir and a file named arg exists ("report.plan" saved by plan --out).
func planFileInstead(dir, url string, addr report.Address, arg string) bool {
	if fi, err := os.Stat(arg); err != nil || fi.IsDir() {
		return false
	}
	st, err := openStore(context.Background(), dir, url, pgstore.ReadOnly, 0, 0, io.Discard)
	if err != nil {
		return false
	}
	defer st.Close()
	_, recorded := st.View(addr)
	return !recorded
}

// reportSummary builds the summary of the completed report addr of dir.
func reportSummary(ctx context.Context, dir, url string, addr report.Address, endpoint string, offline bool, stderr io.Writer) (*summary.Summary, error) {
	if addr.Whole() {
		return nil, usageError{fmt.Errorf("show: %s names every file of a drop; show one file, drop.%s[\"FILE\"]", addr, addr.Name())}
	}
	// The manifests are optional: they name the endpoint of a tree to
	// fetch and the addresses of a did-you-mean, nothing else.
	set, setErr := spec.Load(dir)
	if setErr != nil {
		set = &spec.Set{}
	}
	if _, err := os.Stat(stateDir(dir)); errors.Is(err, fs.ErrNotExist) && stateURL(url) == "" {
		return nil, hinted{fmt.Errorf("show %s: %s has no state: nothing was applied there", addr, dir),
			"give the working directory of the report with --dir"}
	}
	st, err := openStore(ctx, dir, url, pgstore.ReadOnly, 0, 0, stderr)
	if err != nil {
		return nil, err
	}
	rec, ok := st.Get(addr)
	if !ok {
		defer st.Close()
		if err := reconcile.CheckTargets(set, st, "show", []report.Address{addr}); err != nil {
			return nil, hinted{err, "\"ledgerform state list\" shows the recorded reports"}
		}
		return nil, hinted{fmt.Errorf("show: %s has not been applied yet: it is in the manifests, not in the state", addr),
			"run \"ledgerform apply\" (or let watch do it), then show it"}
	}
	st.Close()
	if rec.Phase != state.Completed || rec.Output == nil {
		return nil, notCompleted(rec)
	}
	name := resolvePath(dir, rec.Output.Path)
	trees := &summary.Trees{Dir: filepath.Join(stateDir(dir), summary.TreesDir)}
	if !offline {
		trees.Fetch = treeFetcher(set, setErr, endpoint, stderr)
	}
	s, err := summary.Load(ctx, name, summaryOptions(addr, rec.Output.Path, rec.Spec), trees)
	var fe *summary.FileError
	switch {
	case errors.As(err, &fe) && fe.Missing():
		return nil, hinted{err, fmt.Sprintf("\"ledgerform apply\" restores it (one GET, or the report again if the API no longer has it); \"ledgerform plan\" shows that as restore of %s", addr)}
	case errors.As(err, &fe):
		return nil, hinted{err, fmt.Sprintf("the file is not the result ledgerform wrote; \"ledgerform apply\" restores it (its plan shows restore of %s)", addr)}
	case err != nil:
		return nil, err
	}
	if sum, herr := fsutil.HashFile(name); herr == nil && sum != rec.Output.SHA256 {
		fmt.Fprintf(stderr, "ledgerform: warning: %s was changed since ledgerform wrote it; this summary is of the file as it is now, and the next apply restores it\n", rec.Output.Path)
	}
	return s, nil
}

// notCompleted is show's error for a report without a result to show,
// saying its phase and what comes next.
func notCompleted(rec state.Record) error {
	msg := fmt.Sprintf("show: %s is not completed: its phase is %s", rec.Address, rec.Phase)
	if rec.LastError != nil {
		kind := "transient"
		if rec.LastError.Permanent {
			kind = "permanent"
		}
		msg += fmt.Sprintf(" (last error, %s: %s)", kind, clip(rec.LastError.Message, 200))
	}
	return hinted{errors.New(msg), fmt.Sprintf("\"ledgerform why %s\" says what happens next; show it once it is completed", rec.Address)}
}

// resolvePath is a recorded path (relative to dir unless absolute) as a
// file name.
func resolvePath(dir, path string) string {
	p := filepath.FromSlash(path)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// treeFetchTimeout bounds the one fetch of a category tree: show is a
// local command, and an API that does not answer must not hang it.
const treeFetchTimeout = 30 * time.Second

// treeFetcher is the Fetch of show's Trees: it connects, at its first
// call only, to --endpoint, else to the manifests' endpoint (the embedded
// engine when none), and says so in one line. Manifests that do not load
// leave it nothing to connect to without --endpoint.
func treeFetcher(set *spec.Set, setErr error, endpoint string, stderr io.Writer) func(context.Context, string) (*api.CategoryTree, error) {
	return func(ctx context.Context, country string) (*api.CategoryTree, error) {
		if endpoint == "" && setErr != nil {
			return nil, errors.New("the manifests do not load, so the endpoint is not known (give --endpoint)")
		}
		ctx, cancel := context.WithTimeout(ctx, treeFetchTimeout)
		defer cancel()
		c := &connector{flagEndpoint: endpoint, stderr: stderr, Log: func(string, ...any) {}}
		defer c.Close()
		used, _ := c.endpoint(set.Settings)
		if used == "" {
			used = "embedded"
		}
		fmt.Fprintf(stderr, "ledgerform: fetching the %s category tree from %s (once: it is kept in %s/%s/)\n", country, redact.URL(used), spec.StateDir, summary.TreesDir)
		cl, err := c.Connect(ctx, set.Settings)
		if err != nil {
			return nil, err
		}
		tf, ok := cl.(interface {
			CategoryTree(context.Context, string) (*api.CategoryTree, error)
		})
		if !ok {
			return nil, errors.New("the API client cannot fetch category trees")
		}
		// A few quick attempts tell an endpoint that cannot be used from
		// one that is slow, as apply does before any report.
		if err := cl.Probe(ctx); err != nil {
			return nil, c.unusable(set.Settings, err)
		}
		return tf.CategoryTree(ctx, country)
	}
}
