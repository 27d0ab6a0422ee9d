package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/engine/statement"
	"github.com/ledgerform/ledgerform/internal/fsutil"
)

const categoriseUsage = `categorise FILE...

Categorises statement files (Nordigen JSON) with the embedded engine's
rules, offline, and prints one line per transaction: date, amount,
category id and title, partner and info. The files are read as one upload,
exactly as POST /v2/report and a categorisation request would read them.
--json prints the categorisation product as the API answers it.`

func runCategorise(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("categorise", categoriseUsage)
	country := fs.String("country", "uk", "country of the statements")
	asJSON := fs.Bool("json", false, "print the categorisation product as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return argError(fs, errors.New("name at least one statement file"), "usage")
	}
	var files []statement.File
	for _, name := range fs.Args() {
		// Statements are read as an upload is: regular files only (a
		// FIFO or /dev/zero is refused unread), within the API's limit.
		data, _, err := fsutil.ReadRegular(name, api.MaxUploadBytes)
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if err != nil {
			return fmt.Errorf("categorise: %s: %w", name, err)
		}
		files = append(files, statement.File{Name: filepath.ToSlash(name), Data: data})
	}
	cat, err := engine.Categorise(*country, files)
	if err != nil {
		return fmt.Errorf("categorise: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cat)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tAMOUNT\tCCY\tCATEGORY\tTITLE\tPARTNER\tINFO")
	for _, a := range cat.Accounts {
		for _, c := range a.Currencies {
			code := ""
			if c.Code != nil {
				code = *c.Code
			}
			for _, t := range c.Transactions {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", t.Date, t.Amount, code, t.CategoryID, t.Title,
					clip(t.Partner, 28), clip(t.Info, 48))
			}
		}
	}
	return tw.Flush()
}

// clip shortens s for a table cell.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
