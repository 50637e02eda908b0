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
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	setMemoryLimit(os.Getenv)
	stopProfile := startProfile(os.Getenv("CONTACTMERGE_CPUPROFILE"))
	stopMem := startMemProfile(os.Getenv("CONTACTMERGE_MEMPROFILE"))
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stopMem()
	stopProfile()
	stop()
	os.Exit(code)
}

// startProfile writes a CPU profile of the whole command to path when it is
// set (CONTACTMERGE_CPUPROFILE, for `go tool pprof`) and returns the
// function that ends it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "CONTACTMERGE_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "CONTACTMERGE_CPUPROFILE: %v\n", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// startMemProfile writes a heap profile to path when it is set
// (CONTACTMERGE_MEMPROFILE, for `go tool pprof -sample_index=inuse_space`):
// every 100 ms it reads the live heap and, each time that grew by a tenth
// over the last profile written, writes the profile again, so that the
// file shows what held the heap near its peak. The returned function stops
// it.
func startMemProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	runtime.MemProfileRate = 64 << 10
	done := make(chan struct{})
	stopped := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(stopped)
		var written uint64
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			live := sample[0].Value.Uint64()
			if live < written+written/10 {
				continue
			}
			written = live
			if err := writeHeapProfile(path); err != nil {
				fmt.Fprintf(os.Stderr, "CONTACTMERGE_MEMPROFILE: %v\n", err)
				return
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// writeHeapProfile writes the heap profile as of the last GC to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
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
	// InTTY reports whether In is a terminal: only then may a command ask a
	// question (run's confirmation) and read the answer from In.
	InTTY bool
}

// Main runs the command line and returns the process exit code. Out and In
// are terminals when they are files (os.Stdout, os.Stdin) on one.
func Main(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer, getenv func(string) string) int {
	isTerminal := func(s any) bool {
		fd, ok := s.(interface{ Fd() uintptr })
		return ok && term.IsTerminal(int(fd.Fd()))
	}
	return mainIO(ctx, args, IO{In: in, Out: out, ErrOut: errOut, TTY: isTerminal(out), InTTY: isTerminal(in)}, getenv)
}

// mainIO is Main with the streams and their terminal flags given (tests
// set InTTY to answer run's question).
func mainIO(ctx context.Context, args []string, streams IO, getenv func(string) string) int {
	level := slog.LevelWarn
	if getenv("CONTACTMERGE_DEBUG") != "" {
		level = slog.LevelDebug
	}
	f := &Factory{
		IO:      streams,
		Getenv:  getenv,
		Logger:  slog.New(slog.NewTextHandler(streams.ErrOut, &slog.HandlerOptions{Level: level})),
		Now:     time.Now,
		Metrics: engine.NewMetrics(),
	}
	root := newCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	return reportError(streams.ErrOut, err)
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
  CONTACTMERGE_DB                  SQLite file (default ./contactmerge.db) or a postgres:// URL (--db wins)

A store records the organization its first scan or import came from; every command that
calls the API refuses a store of another organization. Merges are permanent: 'run' shows
its plan and asks for 'yes' on a terminal, and needs --yes without one.

Start with 'contactmerge demo'.`,
		Example: `  contactmerge demo
  contactmerge auth check
  contactmerge scan && contactmerge match && contactmerge plan show
  contactmerge --db /data/acme.db status`,
		Version:       readVersion(f.BuildInfo).String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("contactmerge {{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	root.PersistentFlags().StringVar(&f.DB, "db", "", "the store: a SQLite file or a postgres:// URL (default $CONTACTMERGE_DB, else ./contactmerge.db)")
	root.AddCommand(
		newCmdDemo(f, nil),
		newCmdSandbox(f, nil),
		newCmdAuth(f),
		newCmdScan(f, nil),
		newCmdDiscover(f, nil),
		newCmdImport(f, nil),
		newCmdMatch(f, nil),
		newCmdPlan(f),
		newCmdRun(f, nil),
		newCmdCycle(f, nil),
		newCmdRestore(f, nil),
		newCmdStatus(f, nil),
		newCmdReport(f, nil),
		newCmdPolicy(f),
		newCmdWorker(f, nil),
		newCmdServe(f, nil),
		newCmdVersion(f, nil),
	)
	strictGroups(root)
	return root
}

// strictGroups makes cmd and every command group below it refuse an
// unknown subcommand with a usage error (exit 2), as gh and kubectl do;
// cobra would print the group's help and exit 0 (or, for the root, exit
// 1). A group given no subcommand prints its help.
func strictGroups(cmd *cobra.Command) {
	if cmd.HasSubCommands() && cmd.Run == nil && cmd.RunE == nil {
		cmd.Args = unknownSubcommand
		cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	for _, c := range cmd.Commands() {
		strictGroups(c)
	}
}

// unknownSubcommand is the Args of a command group: any argument is an
// unknown subcommand.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only on its own path
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &usageError{errors.New(msg)}
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
