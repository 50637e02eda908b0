package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

type sandboxOptions struct {
	IO     IO
	Logger *slog.Logger
	Now    func() time.Time

	addr           string
	contacts       int
	seed           int64
	load           string
	activity       string
	activityRate   float64
	rateLimit      int
	faults         string
	tokenTTL       time.Duration
	gatewayTimeout time.Duration
	mergeLatency   time.Duration
	clientID       string
	clientSecret   string
	noConflict     bool
	history        bool
	faultSpec      sandbox.Faults // faults, parsed
}

func newCmdSandbox(f *Factory, runF func(*sandboxOptions) error) *cobra.Command {
	def := sandbox.DefaultConfig()
	o := &sandboxOptions{IO: f.IO, Logger: f.Logger, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run an emulated Genesys Cloud organization (login and API on one address)",
		Long: `Runs the sandbox: an emulated Genesys Cloud organization serving the real API paths
(/oauth/token, /api/v2/tokens/me, /api/v2/externalcontacts/..., the analytics query and the
case lookup) with real semantics, rate limits and optional faults, plus test-only endpoints
under /sandbox/ (truth, oplog, stats). Point contactmerge at it with
GENESYSCLOUD_REGION=<its URL> and the printed credentials.`,
		Example: `  contactmerge sandbox --contacts 10000 --seed 1
  contactmerge sandbox --load contacts.jsonl --rate-limit 3000 --faults timeout504=0.05,error503=0.05`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.faultSpec, err = parseFaultsFlag(o.faults); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return sandboxRun(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.addr, "addr", "127.0.0.1:8089", "address to listen on (HOST:PORT; port 0 picks a free one)")
	fl.IntVar(&o.contacts, "contacts", 10000, "number of contacts to generate")
	fl.Int64Var(&o.seed, "seed", 1, "generator seed")
	fl.StringVar(&o.load, "load", "", "load contacts from a JSONL file (one ExternalContact per line) instead of generating")
	fl.StringVar(&o.activity, "activity", "", "JSONL file of active conversations and cases")
	fl.Float64Var(&o.activityRate, "activity-rate", 0, "fraction of generated contacts with an active conversation")
	fl.IntVar(&o.rateLimit, "rate-limit", def.RateLimit, "requests per minute per token (negative: unlimited)")
	fl.StringVar(&o.faults, "faults", "", "fault injection, kind=probability,... (error503, error500, reset, timeout504, throttle429)")
	fl.DurationVar(&o.tokenTTL, "token-ttl", def.TokenTTL, "access token lifetime")
	fl.DurationVar(&o.gatewayTimeout, "gateway-timeout", def.GatewayTimeout, "the gateway answers 504 after this; the merge goes on")
	fl.DurationVar(&o.mergeLatency, "merge-latency", def.MergeLatency, "merge latency per input contact")
	fl.StringVar(&o.clientID, "client-id", def.ClientID, "the sandbox's OAuth client id")
	fl.StringVar(&o.clientSecret, "client-secret", def.ClientSecret, "the sandbox's OAuth client secret (a test credential, not a real one)")
	fl.BoolVar(&o.noConflict, "no-activity-conflict", false, "merge contacts with activity instead of answering 409")
	fl.BoolVar(&o.history, "history", false, "give generated contacts 62 days of ended conversations, every hidden auto-created contact at least one (for discover)")
	return cmd
}

// config builds the sandbox's configuration from the flags, opening the
// --load and --activity files; call the returned function to close them.
func (o *sandboxOptions) config() (sandbox.Config, func(), error) {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.ActivityRate = o.contacts, o.seed, o.activityRate
	cfg.RateLimit, cfg.TokenTTL, cfg.GatewayTimeout, cfg.MergeLatency = o.rateLimit, o.tokenTTL, o.gatewayTimeout, o.mergeLatency
	cfg.ClientID, cfg.ClientSecret = o.clientID, o.clientSecret
	cfg.ConflictOnActivity = !o.noConflict
	cfg.History = o.history
	cfg.Logger = o.Logger
	cfg.Faults = o.faultSpec
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	if o.load != "" {
		fh, err := os.Open(o.load)
		if err != nil {
			return cfg, closeAll, cm.Errorf(cm.EINVALID, "--load: %v", err)
		}
		closers = append(closers, func() { fh.Close() })
		cfg.Load = fh
	}
	if o.activity != "" {
		fh, err := os.Open(o.activity)
		if err != nil {
			return cfg, closeAll, cm.Errorf(cm.EINVALID, "--activity: %v", err)
		}
		closers = append(closers, func() { fh.Close() })
		cfg.Activity = fh
	}
	return cfg, closeAll, nil
}

func sandboxRun(ctx context.Context, o *sandboxOptions) error {
	cfg, closeFiles, err := o.config()
	defer closeFiles()
	if err != nil {
		return err
	}
	start := o.Now()
	sb, err := sandbox.New(cfg)
	if err != nil {
		return cm.Errorf(cm.EINVALID, "sandbox: %v", err)
	}
	closeFiles()
	// Generating leaves as much garbage as the organization it built: give
	// it back to the system before serving (a generated million is ~2.3 GB
	// of RSS otherwise, ~1.3 GB live).
	debug.FreeOSMemory()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen on %s: %w", o.addr, err)
	}
	base := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(o.IO.Out, `contactmerge sandbox: %d contacts ready in %s (%d duplicate clusters)
  base URL     %s   (login: %s/oauth/token, API: %s/api/v2/...)
  client id    %s
  client secret %s   (sandbox credential)
  rate limit   %s
  faults       %s

Use it:
  export GENESYSCLOUD_REGION=%s GENESYSCLOUD_OAUTHCLIENT_ID=%s GENESYSCLOUD_OAUTHCLIENT_SECRET=%s
  contactmerge auth check
Test-only endpoints: %s/sandbox/truth, /sandbox/oplog, /sandbox/stats. Ctrl-C stops.
`, sb.Len(), o.Now().Sub(start).Round(time.Millisecond), len(sb.Truth()), base, base, base,
		cfg.ClientID, cfg.ClientSecret, rateText(cfg.RateLimit), faultText(cfg.Faults),
		base, cfg.ClientID, cfg.ClientSecret, base)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func rateText(perMin int) string {
	if perMin < 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d requests/min per token", perMin)
}

func faultText(f sandbox.Faults) string {
	if len(f) == 0 {
		return "none"
	}
	var s string
	for _, k := range slices.Sorted(maps.Keys(f)) {
		if s != "" {
			s += ","
		}
		s += fmt.Sprintf("%s=%g", k, f[k])
	}
	return s
}

// parseFaultsFlag parses --faults of sandbox and demo ("" is no faults).
func parseFaultsFlag(spec string) (sandbox.Faults, error) {
	if spec == "" {
		return nil, nil
	}
	faults, err := sandbox.ParseFaults(spec)
	if err != nil {
		return nil, cm.Errorf(cm.EINVALID, "--faults: %v", err)
	}
	return faults, nil
}
