package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
)

type workerOptions struct {
	Factory *Factory // builds the pipeline (pipeline.go)

	pipeline    runOptions // the pipeline flags, shared with run
	yes         bool       // --yes: required, the worker merges unattended
	metricsAddr string     // --metrics-addr: serve /metrics there
}

func newCmdWorker(f *Factory, runF func(*workerOptions) error) *cobra.Command {
	o := &workerOptions{Factory: f, pipeline: *defaultRunOptions()}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run merge workers until stopped (scale-out: several workers on one PostgreSQL)",
		Long: `Runs the preflight, merge and quarantine-retry workers and re-enqueues runnable groups
periodically, until interrupted. Start one per machine against one PostgreSQL store
(CONTACTMERGE_DB=postgres://...): River distributes the jobs and member leases keep merges
exclusive. The workers share each OAuth client's token and rate budget through the store,
so together they never send more than the client's window allows (inin-ratelimit-allowed,
or --max-rate); more budget means more OAuth clients (GENESYSCLOUD_OAUTHCLIENT_ID_2 and
_SECRET_2, ..., or a CONTACTMERGE_CLIENTS file): merges spread across them, and a client
in a 401/403/429 storm is benched while the others carry on.

A worker merges, permanently, every group that is approved while it runs, unattended: it
never asks, so it always needs --yes (the decision to merge is the approval of each group;
--yes says that starting the worker carries it out). It checks first that the token's
organization is the store's and prints the current plan on standard error. With
--metrics-addr HOST:PORT it serves its metrics (the same as serve's /metrics: requests,
merges, rate budget, Go and process) in Prometheus' text format at /metrics there.`,
		Example: `  contactmerge worker --yes
  CONTACTMERGE_DB=postgres://cm@db.example.com/contactmerge contactmerge worker --yes --max-rate 250
  contactmerge worker --yes --metrics-addr :9464`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.pipeline.validate(); err != nil {
				return err
			}
			if !o.yes {
				return usageErrorf("worker merges approved groups permanently and unattended: start it with --yes")
			}
			if runF != nil {
				return runF(o)
			}
			return workerRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "merge approved groups without asking (required)")
	cmd.Flags().StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. :9464 or 127.0.0.1:9464)")
	o.pipeline.flags(cmd)
	return cmd
}

// workerRun runs the workers until ctx ends; an interrupt is a clean stop.
func workerRun(ctx context.Context, o *workerOptions) error {
	f := o.Factory
	if o.metricsAddr != "" {
		ff := *f
		stop, err := serveMetrics(ctx, &ff, o.metricsAddr)
		if err != nil {
			return err
		}
		defer stop()
		f = &ff
	}
	p, err := openPipeline(ctx, f, &o.pipeline)
	if err != nil {
		return err
	}
	defer p.Close()
	org, rl, err := checkOrg(ctx, p.store, f.StoreName(), p.api, false, "")
	if err != nil {
		return err // nothing recorded: the store may be another organization's
	}
	plan, err := buildRunPlan(ctx, p.store, &o.pipeline, f.Now(), rl, false)
	if err != nil {
		return flushed(ctx, f, p, err)
	}
	if err := p.engine.CheckPermissions(ctx); err != nil {
		return flushed(ctx, f, p, err)
	}
	fmt.Fprintf(f.IO.ErrOut, "worker started on %s (%s) for %s%s; now: %s; Ctrl-C stops\n", f.StoreName(), p.store.Kind(), org, poolLine(p.engine.Pool(), p.store.Kind()), plan.summaryLine())
	_, err = p.engine.Run(ctx, p.jobs, engine.RunOptions{Forever: true, Progress: func(engine.Progress) { flushRequests(ctx, f, p.engine) }})
	flushRequests(context.WithoutCancel(ctx), f, p.engine)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// serveMetrics listens on addr and serves there, at /metrics, the
// Prometheus metrics of f's commands (engine.Metrics, which it sets as
// f.Metrics) with Go's and the process's, until stop is called. A listen
// error is returned as it is, naming the flag.
func serveMetrics(ctx context.Context, f *Factory, addr string) (stop func(), err error) {
	reg, met, err := newMetricsRegistry()
	if err != nil {
		return nil, err
	}
	f.Metrics = met
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(f.IO.ErrOut, "metrics: http://%s/metrics\n", ln.Addr())
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// newMetricsRegistry returns the process's own registry, holding Go's and
// the process's collectors and those of the engine metrics it returns
// (serve's /metrics, worker --metrics-addr).
func newMetricsRegistry() (*prometheus.Registry, *engine.Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	met := engine.NewMetrics()
	if err := met.Register(reg); err != nil {
		return nil, nil, err
	}
	return reg, met, nil
}

// poolLine describes the OAuth clients a worker merges with ("" for one
// client on SQLite, whose budget the worker spends alone).
func poolLine(pool *genesys.Pool, kind string) string {
	if pool == nil {
		return ""
	}
	var names []string
	for _, c := range pool.State() {
		names = append(names, c.Name)
	}
	shared := ""
	if kind == "postgres" {
		shared = ", budget and token shared through the store"
	}
	if len(names) == 1 && shared == "" {
		return ""
	}
	return fmt.Sprintf(" with %d OAuth client(s) (%s%s)", len(names), strings.Join(names, ", "), shared)
}
