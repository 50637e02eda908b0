// Command contactmerge finds duplicate Genesys Cloud External Contacts and
// merges them exactly once, with an audit ledger. Run `contactmerge demo`
// first; `contactmerge --help` lists the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/store"
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

// Factory gives commands their dependencies without globals (cli/cli's
// cmdutil.Factory). Everything that talks to the outside is built lazily.
type Factory struct {
	IO     IO
	Getenv func(string) string
	Logger *slog.Logger
	Now    func() time.Time
	// Metrics collects request counters of the commands' API clients.
	Metrics *engine.Metrics
}

// DBPath returns the store DSN: CONTACTMERGE_DB or ./contactmerge.db.
func (f *Factory) DBPath() string {
	if v := f.Getenv("CONTACTMERGE_DB"); v != "" {
		return v
	}
	return "contactmerge.db"
}

// OpenStore opens the configured store with the matcher's normalizer.
func (f *Factory) OpenStore(ctx context.Context, cfg match.Config) (store.Store, error) {
	return store.Open(ctx, f.DBPath(), store.Options{Normalizer: match.NormalizerFunc(cfg), Logger: f.Logger, Now: f.Now})
}

// Credentials returns the OAuth client from the environment; the secret may
// also come from the file named by GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE.
func (f *Factory) Credentials() (region, id, secret string, err error) {
	region = f.Getenv("GENESYSCLOUD_REGION")
	id = f.Getenv("GENESYSCLOUD_OAUTHCLIENT_ID")
	secret = f.Getenv("GENESYSCLOUD_OAUTHCLIENT_SECRET")
	if secret == "" {
		if path := f.Getenv("GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE"); path != "" {
			b, rerr := os.ReadFile(path)
			if rerr != nil {
				return "", "", "", cm.Errorf(cm.EINVALID, "reading GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE: %v", rerr)
			}
			secret = strings.TrimSpace(string(b))
		}
	}
	var missing []string
	for name, v := range map[string]string{"GENESYSCLOUD_REGION": region, "GENESYSCLOUD_OAUTHCLIENT_ID": id, "GENESYSCLOUD_OAUTHCLIENT_SECRET": secret} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return "", "", "", cm.Errorf(cm.EINVALID, "missing configuration: set %s (a region key such as us-east-1 or a base URL such as the sandbox's http://127.0.0.1:8089)", strings.Join(sorted(missing), ", "))
	}
	return region, id, secret, nil
}

// Client builds a Genesys Cloud client from the environment. maxRate is a
// ceiling in requests per minute (0: the token's whole budget). observe,
// when set, sees every request (the engine's metrics and adaptive
// concurrency).
func (f *Factory) Client(ctx context.Context, maxRate int, observe func(genesys.RequestInfo)) (*genesys.Client, error) {
	region, id, secret, err := f.Credentials()
	if err != nil {
		return nil, err
	}
	return f.ClientFor(ctx, region, id, secret, maxRate, observe)
}

// ClientFor builds a client for explicit settings (the demo uses it for its
// in-process sandbox). ratePerMinute is a ceiling (0: none).
func (f *Factory) ClientFor(ctx context.Context, region, id, secret string, ratePerMinute int, observe func(genesys.RequestInfo)) (*genesys.Client, error) {
	met := f.Metrics
	return genesys.NewClient(ctx, genesys.Config{
		Region: region, ClientID: id, ClientSecret: secret, Logger: f.Logger, RatePerMinute: ratePerMinute,
		UserAgent: "contactmerge",
		Observer: func(ri genesys.RequestInfo) {
			if observe != nil {
				observe(ri) // the engine records into the same registry
				return
			}
			engine.ObserveInto(met, ri)
		},
	})
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
	root := newRootCmd(f)
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

func newRootCmd(f *Factory) *cobra.Command {
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
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		newDemoCmd(f),
		newSandboxCmd(f),
		newAuthCmd(f),
		newScanCmd(f),
		newImportCmd(f),
		newMatchCmd(f),
		newPlanCmd(f),
		newRunCmd(f),
		newStatusCmd(f),
		newReportCmd(f),
		newWorkerCmd(f),
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

func actor(f *Factory, flag string) string {
	switch {
	case flag != "":
		return flag
	case f.Getenv("USER") != "":
		return f.Getenv("USER")
	}
	return "cli"
}
