// Command ledgerform reconciles declared bank-statement analyses with the
// Nordigen Categorisation & Insights API, or serves a local implementation
// of that API (the embedded engine).
//
// main only wires the command line: every subcommand is a function of
// (ctx, args, stdout, stderr) in a file of its own, found in the table
// below, so that the whole CLI runs in tests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// A command is one subcommand of ledgerform.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"validate", "check the manifests, with file:line:col for every problem", runValidate},
		{"plan", "show what apply would do, and why", runPlan},
		{"apply", "do the missing work: upload, process, poll, write outputs", runApply},
		{"state", "list, show or forget recorded reports", runState},
		{"watch", "run as a daemon: reconcile whenever manifests or files change", runWatch},
		{"serve", "run the embedded engine: a local Nordigen report API", runServe},
		{"categorise", "categorise statement files offline with the engine's rules", runCategorise},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks for a graceful stop; after it the default
	// handling is back, so that a second signal ends the process at once.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitStatus(err, os.Stderr))
}

// run dispatches to the subcommand named by args[0].
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		usage(stderr)
		if len(args) == 0 {
			return usageError{errors.New("no command given")}
		}
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	return usageError{fmt.Errorf("unknown command %q; run \"ledgerform help\" for the list", args[0])}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ledgerform <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"ledgerform <command> -h\" for a command's flags.")
}

// usageError is a mistake on the command line: exit code 1, and the
// message is the whole story.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries an exit code other than 1 (e.g. 2 for plan
// --detailed-exitcode with changes), with an optional message.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// hinted is an error with something concrete the user can do about it.
type hinted struct {
	err  error
	hint string
}

func (e hinted) Error() string { return e.err.Error() }
func (e hinted) Unwrap() error { return e.err }

// exitStatus prints err as "ledgerform: error: …" (and a hint, if any) and
// returns the exit code: the one place where errors become exit codes.
func exitStatus(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printError(stderr, ee.err)
		}
		return ee.code
	}
	printError(stderr, err)
	var h hinted
	if errors.As(err, &h) {
		fmt.Fprintf(stderr, "ledgerform: hint: %s\n", h.hint)
	}
	return 1
}

// printError prints each line of err's message as its own error line, so
// that a list of manifest problems reads one per line.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "ledgerform: error: %s\n", line)
	}
}

// newFlagSet returns a FlagSet that reports its errors instead of exiting;
// both -flag and --flag work, as with every Go flag package.
func newFlagSet(name, usageLine string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ledgerform %s\n\nflags:\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}

var flagErrHelp = flag.ErrHelp

// parseFlags parses args and refuses positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}
