// Command contactmerge finds duplicate Genesys Cloud External Contacts and
// merges them exactly once, with an audit ledger. Run `contactmerge demo`
// first; `contactmerge --help` lists the commands.
//
// Each command follows cli/cli's template, one file per command named after
// it: an options struct holding the command's dependencies (taken from the
// Factory) and its flags; newCmdX(f, runF), which parses and checks the
// flags into the options and then calls runF when it is set (tests) or
// xRun (production); and xRun(ctx, opts), which does the work. In the
// options, dependencies are capitalised fields and flags lower-case ones.
// Review logic (decisions, the plan CSV, the side-by-side view, the id map)
// lives in package review; the commands only parse, open and print. Errors
// map to exit codes in one place, reportError.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Exit codes (ARCHITECTURE.md "The command-line contract").
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// IO are the streams a command reads and writes.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// TTY reports whether Out is a terminal (progress bars, colour).
	TTY bool
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer, getenv func(string) string) int {
	tty := false
	if fd, ok := out.(interface{ Fd() uintptr }); ok {
		tty = term.IsTerminal(int(fd.Fd()))
	}
	level := slog.LevelWarn
	if getenv("CONTACTMERGE_DEBUG") != "" {
		level = slog.LevelDebug
	}
	f := &Factory{
		IO:      IO{In: in, Out: out, ErrOut: errOut, TTY: tty},
		Getenv:  getenv,
		Logger:  slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level})),
		Now:     time.Now,
		Metrics: engine.NewMetrics(),
	}
	root := newCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	return reportError(errOut, err)
}

// usageError marks bad usage (unknown flag, wrong arguments).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns a usageError with a formatted message.
func usageErrorf(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// flagError makes cobra's flag parsing errors usage errors.
func flagError(_ *cobra.Command, err error) error { return &usageError{err} }

// reportError prints err once and maps it to an exit code: the only place
// that does so.
func reportError(w io.Writer, err error) int {
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(w, "contactmerge: %v\nRun 'contactmerge --help' for usage.\n", ue.err)
		return exitUsage
	case cm.IsCode(err, cm.EINVALID):
		fmt.Fprintf(w, "contactmerge: %v\n", err)
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "contactmerge: interrupted; run the same command again to resume")
		return exitFailure
	default:
		fmt.Fprintf(w, "contactmerge: %v\n", err)
		return exitFailure
	}
}

func newCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "contactmerge",
		Short: "Find and merge duplicate Genesys Cloud External Contacts, exactly once",
		Long: `contactmerge finds duplicate External Contacts in a Genesys Cloud organization and
merges them through the public API: scan → match → review → run, with an audit ledger.

Configuration (environment):
  GENESYSCLOUD_REGION              region key (us-east-1, eu-west-1, …) or base URL (the sandbox's http://127.0.0.1:8089)
  GENESYSCLOUD_OAUTHCLIENT_ID      OAuth client-credentials client id
  GENESYSCLOUD_OAUTHCLIENT_SECRET  its secret (or GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE); never passed as a flag
  CONTACTMERGE_DB                  SQLite file (default ./contactmerge.db) or a postgres:// URL

Start with 'contactmerge demo'.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newCmdDemo(f, nil),
		newCmdSandbox(f, nil),
		newCmdAuth(f),
		newCmdScan(f, nil),
		newCmdImport(f, nil),
		newCmdMatch(f, nil),
		newCmdPlan(f),
		newCmdRun(f, nil),
		newCmdStatus(f, nil),
		newCmdReport(f, nil),
		newCmdWorker(f, nil),
	)
	return root
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return &usageError{err}
	}
	return nil
}

// actor is who a command records in the ledger: the --actor flag, else
// $USER, else "cli".
func actor(f *Factory, flag string) string {
	switch {
	case flag != "":
		return flag
	case f.Getenv("USER") != "":
		return f.Getenv("USER")
	}
	return "cli"
}

// writeJSON writes v as indented JSON (the --json output of the commands).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
