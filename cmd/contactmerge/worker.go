package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/contactmerge/contactmerge/engine"
)

type workerOptions struct {
	Factory *Factory // builds the pipeline (pipeline.go)

	pipeline runOptions // the pipeline flags, shared with run
}

func newCmdWorker(f *Factory, runF func(*workerOptions) error) *cobra.Command {
	o := &workerOptions{Factory: f, pipeline: *defaultRunOptions()}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run merge workers until stopped (scale-out: several workers on one PostgreSQL)",
		Long: `Runs the preflight, merge and quarantine-retry workers and re-enqueues runnable groups
periodically, until interrupted. Start one per machine (each with its own OAuth client for
its own rate budget) against one PostgreSQL store (CONTACTMERGE_DB=postgres://...): River
distributes the jobs and member leases keep merges exclusive.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.pipeline.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return workerRun(cmd.Context(), o)
		},
	}
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
	fmt.Fprintf(f.IO.ErrOut, "worker started on the %s store; Ctrl-C stops\n", p.store.Kind())
	_, err = p.engine.Run(ctx, p.jobs, engine.RunOptions{Forever: true})
	if ctx.Err() != nil {
		return nil
	}
	return err
}
