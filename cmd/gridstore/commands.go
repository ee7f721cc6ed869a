package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // bad command line
)

// command is one subcommand. run gets the arguments after the command name
// and returns the process exit code; it must return once ctx is done
// (SIGINT/SIGTERM).
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order usage shows them. To add one,
// write it in its own file and add a line here.
func commands() []command {
	return []command{
		{"server", "run a gridstore node: S3 API, grid, health, metrics and admin API", runServer},
		{"admin", "administer a running deployment (admin info, admin heal)", runAdmin},
		{"bench", "load an S3 endpoint: put/get/stat/delete/list/mixed, throughput, latency percentiles, errors by code", runBench},
		{"healthcheck", "probe a node's health endpoint; exit 0 when healthy (for containers)", runHealthcheck},
		{"version", "print the version and build information", runVersion},
		{"grid-demo", "start N grid nodes in this process, exercise every pair, report until interrupted", runGridDemo},
	}
}

// run dispatches args (without the program name) to a subcommand.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "gridstore: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "gridstore %s: distributed erasure-coded object store\n\n", version)
	fmt.Fprintln(w, "Usage: gridstore <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "gridstore <command> -h" for a command's flags.`)
}

// newFlagSet returns a flag set for a subcommand whose errors and help go to
// stderr, with a usage line naming the command.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gridstore %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs and maps the outcome to an exit code: ok is
// false when the command should return code at once (-h, or a bad flag, for
// which the flag package has already printed the error and usage).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	case err != nil:
		return exitUsage, false
	case fs.NArg() > 0:
		fmt.Fprintf(fs.Output(), "gridstore %s: unexpected arguments: %s\n", fs.Name(), strings.Join(fs.Args(), " "))
		fs.Usage()
		return exitUsage, false
	}
	return exitOK, true
}
