package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
)

type workerOptions struct {
	Factory *Factory // builds the pipeline (pipeline.go)

	pipeline runOptions // the pipeline flags, shared with run
	yes      bool       // --yes: required, the worker merges unattended
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
organization is the store's and prints the current plan on standard error.`,
		Example: `  contactmerge worker --yes
  CONTACTMERGE_DB=postgres://cm@db.example.com/contactmerge contactmerge worker --yes --max-rate 250`,
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
	o.pipeline.flags(cmd)
	return cmd
}

// workerRun runs the workers until ctx ends; an interrupt is a clean stop.
func workerRun(ctx context.Context, o *workerOptions) error {
	f := o.Factory
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
