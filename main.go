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
	"slices"
	"strings"
	"syscall"

	"github.com/ledgerform/ledgerform/internal/suggest"
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
		{"state", "list, show, forget or move recorded reports", runState},
		{"import", "adopt a processing request made outside ledgerform", runImport},
		{"show", "print a completed report's summary, or a saved plan file", runShow},
		{"watch", "run as a daemon: reconcile whenever manifests or files change", runWatch},
		{"reconcile", "ask the running daemon to reconcile reports now", runReconcile},
		{"status", "show a running watch's conditions of every report", runStatus},
		{"why", "explain the last decision about one report", runWhy},
		{"serve", "run the embedded engine: a local Nordigen report API", runServe},
		{"categorise", "categorise statement files offline with the engine's rules", runCategorise},
		{"version", "print the version, the Go version and the platform", runVersion},
	}
}

func main() {
	softMemoryLimit()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks for a graceful stop; after it the default
	// handling is back, so that a second signal ends the process at once.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitStatus(err, os.Stderr))
}

// run dispatches to the subcommand named by args[0]. Help asked for
// (help, -h, --help, help CMD, CMD -h) goes to stdout; "ledgerform" alone
// is a mistake, and gets the usage on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return usageError{errors.New("no command given")}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		switch {
		case len(args) == 1 || args[1] == "help":
			usage(stdout)
			return nil
		case len(args) > 2:
			return usageError{fmt.Errorf("help: unexpected argument %q; want at most one command", args[2])}
		}
		args = []string{args[1], "-h"} // a command's help is what its -h prints
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == args[0] })
	if i < 0 {
		return unknownCommand(args[0])
	}
	err := commands[i].run(ctx, args[1:], stdout, stderr)
	var h helpRequest
	if errors.As(err, &h) {
		h.fs.SetOutput(stdout)
		h.fs.Usage()
		return nil
	}
	return err
}

// unknownCommand is the error for a command that does not exist, with
// the likely one it is a typo of.
func unknownCommand(name string) error {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if s := suggest.Closest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return hinted{errors.New(msg), "run \"ledgerform help\" for the list of commands"}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ledgerform <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"ledgerform help <command>\" or \"ledgerform <command> -h\" for a command's flags.")
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
	if err == nil {
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
// both -flag and --flag work, as with every Go flag package. doc is the
// command's help: its first line is the command's name and its operands
// ("state list | show ADDR..."), the rest describes it. The usage line is
// made from the FlagSet itself, so that it lists every flag.
//
// The flag package prints an error and the whole usage on a mistake;
// here it prints nothing (parse returns the error, which is printed once),
// and the usage is printed only when asked for, on stdout, by run.
func newFlagSet(name, doc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { printUsage(fs.Output(), fs, doc) }
	return fs
}

// helpRequest is what parsing -h returns: run prints the usage of fs on
// stdout, and the exit status is 0.
type helpRequest struct{ fs *flag.FlagSet }

func (h helpRequest) Error() string { return flag.ErrHelp.Error() }

// parse parses args with fs: -h is a helpRequest, and a mistake is one
// error, with "did you mean" for a mistyped flag name and a hint where
// the flags are listed.
func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return helpRequest{fs}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if s := suggest.Closest(name, names); s != "" {
			msg += fmt.Sprintf("; did you mean --%s?", s)
		}
	}
	return argError(fs, errors.New(msg), "flags")
}

// argError is a mistake in the arguments of fs's command, with the hint
// of where its usage is shown: what is "flags" for a mistake in a flag,
// "usage" for one in the operands.
func argError(fs *flag.FlagSet, err error, what string) error {
	return hinted{fmt.Errorf("%s: %w", fs.Name(), err), fmt.Sprintf("run \"ledgerform %s -h\" for its %s", fs.Name(), what)}
}

// parseFlags parses args and refuses positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return argError(fs, fmt.Errorf("unexpected argument %q", fs.Arg(0)), "usage")
	}
	return nil
}

// usageWidth is the width the usage line is wrapped at.
const usageWidth = 80

// printUsage writes the help of fs's command: the usage line with every
// flag of fs, the description of doc (see newFlagSet), and the flags.
func printUsage(w io.Writer, fs *flag.FlagSet, doc string) {
	first, desc, _ := strings.Cut(doc, "\n")
	name, operands, _ := strings.Cut(first, " ")
	var flags []string
	fs.VisitAll(func(f *flag.Flag) {
		word := "[" + flagSynopsis(f) + "]"
		if _, ok := f.Value.(*addrFlag); ok { // the one kind of flag that may be repeated
			word += "..."
		}
		flags = append(flags, word)
	})
	words := flags
	if operands != "" {
		words = append(words, operands)
	}
	line := "usage: ledgerform " + name
	indent := strings.Repeat(" ", len(line))
	for i, word := range words {
		if i > 0 && len(line)+1+len(word) > usageWidth {
			fmt.Fprintln(w, line)
			line = indent
		}
		line += " " + word
	}
	fmt.Fprintln(w, line)
	if desc != "" {
		fmt.Fprintln(w, desc)
	}
	if len(flags) > 0 {
		fmt.Fprintln(w, "\nflags:")
	}
	fs.VisitAll(func(f *flag.Flag) {
		_, text := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  %s\n        %s%s\n", flagSynopsis(f), text, defaultOf(f))
	})
}

// flagSynopsis is "--name VALUE", or "--name" for a boolean flag.
func flagSynopsis(f *flag.Flag) string {
	if value, _ := flag.UnquoteUsage(f); value != "" {
		return "--" + f.Name + " " + value
	}
	return "--" + f.Name
}

// defaultOf is " (default X)" for a flag whose default is not the zero
// value, as flag.PrintDefaults writes it.
func defaultOf(f *flag.Flag) string {
	switch f.DefValue {
	case "", "0", "false", "0s":
		return ""
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if _, ok := g.Get().(string); ok {
			return fmt.Sprintf(" (default %q)", f.DefValue)
		}
	}
	return " (default " + f.DefValue + ")"
}
