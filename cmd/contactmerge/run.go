package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
)

// runOptions are the options of run. The pipeline flags (flags, validate)
// are shared with worker, and buildPipeline reads them.
type runOptions struct {
	Factory *Factory // builds the pipeline (pipeline.go)

	dryRun        bool
	wait          bool
	maxPerRequest int
	checkCases    bool
	alertWebhook  string
	concurrency   int
	maxConc       int
	settle        time.Duration
	jobTimeout    time.Duration
	rescueAfter   time.Duration
	maxRate       int
	asJSON        bool
}

// defaultRunOptions returns the pipeline options of engine.DefaultConfig,
// the one source of the defaults of run, worker and the demo.
func defaultRunOptions() *runOptions {
	d := engine.DefaultConfig()
	return &runOptions{
		maxPerRequest: d.MaxPerRequest, checkCases: d.CheckCases, alertWebhook: d.AlertWebhook,
		concurrency: d.Concurrency.Initial, maxConc: d.Concurrency.Max,
		settle: d.VerifySettle, jobTimeout: d.JobTimeout, rescueAfter: d.RescueAfter,
	}
}

// flags registers the pipeline flags of run and worker, with o's values as
// their defaults (defaultRunOptions).
func (o *runOptions) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&o.maxPerRequest, "max-per-request", o.maxPerRequest, "contact ids per merge request (2..25); larger groups merge in rounds")
	fl.BoolVar(&o.checkCases, "check-cases", o.checkCases, "also look up open cases per member in preflight (one request per contact)")
	fl.StringVar(&o.alertWebhook, "alert-webhook", o.alertWebhook, "POST a JSON alert here when throttling exceeds 5% of a window")
	fl.IntVar(&o.concurrency, "concurrency", o.concurrency, "initial concurrent merges (adapts: +1 per healthy window, halved when throttled)")
	fl.IntVar(&o.maxConc, "max-concurrency", o.maxConc, "upper bound of the adaptive concurrency")
	fl.DurationVar(&o.settle, "verify-settle", o.settle, "after an ambiguous outcome, how long to wait for a background merge before re-sending")
	fl.DurationVar(&o.jobTimeout, "job-timeout", o.jobTimeout, "longest execution of one preflight or merge job")
	fl.DurationVar(&o.rescueAfter, "rescue-after", o.rescueAfter, "a job still running after this (its worker died) is taken over; must exceed --job-timeout")
	fl.IntVar(&o.maxRate, "max-rate", o.maxRate, "ceiling in requests per minute, below the platform's limit when other integrations share it (0: the token's whole budget)")
}

// validate checks the rules between pipeline flags (EINVALID).
func (o *runOptions) validate() error {
	if o.rescueAfter <= o.jobTimeout {
		return cm.Errorf(cm.EINVALID, "--rescue-after (%s) must exceed --job-timeout (%s)", o.rescueAfter, o.jobTimeout)
	}
	if o.maxRate < 0 {
		return cm.Errorf(cm.EINVALID, "--max-rate must not be negative")
	}
	return nil
}

func newCmdRun(f *Factory, runF func(*runOptions) error) *cobra.Command {
	o := defaultRunOptions()
	o.Factory = f
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Preflight and merge the approved groups, each exactly once (resumable)",
		Long: `Preflights approved groups in batches (bulk reads, active conversations, optionally open
cases), quarantines the busy ones with a retry time, and merges the others through River jobs:
under member leases, inside the rate budget, with adaptive concurrency. The intent is
committed before every request; ambiguous outcomes (timeouts, 5xx, resets, crashes) are
verified with the unresolved reads before anything is re-sent; a 409 bisects the group.

It stops when no group is runnable now (quarantined groups wait for their retry time; --wait
keeps going until they are resolved). Safe to interrupt or kill and run again. Exit 0 when
every group ended in a known state.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "read and check, then report what would be merged; change nothing")
	cmd.Flags().BoolVar(&o.wait, "wait", false, "keep running until quarantined groups are merged or given up")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the summary as JSON")
	o.flags(cmd)
	return cmd
}

func runRun(ctx context.Context, o *runOptions) error {
	f := o.Factory
	p, err := openPipeline(ctx, f, o)
	if err != nil {
		return err
	}
	defer p.Close()
	if o.dryRun {
		rep, err := p.engine.DryRun(ctx)
		if err != nil {
			return err
		}
		if o.asJSON {
			return writeJSON(f.IO.Out, rep)
		}
		fmt.Fprintf(f.IO.Out, "dry run: %d approved/ready groups; %d would merge in %d merge requests; %d would be quarantined; %d would be re-planned (%d read requests used, nothing changed)\n",
			rep.Groups, rep.WouldMerge, rep.Rounds, len(rep.Quarantine), len(rep.Replan), rep.Requests)
		for id, why := range rep.Quarantine {
			fmt.Fprintf(f.IO.Out, "  quarantine %s: %s\n", id, why)
		}
		for id, why := range rep.Replan {
			fmt.Fprintf(f.IO.Out, "  re-plan %s: %s\n", id, why)
		}
		return nil
	}
	sum, err := runEngine(ctx, f, p, o.wait)
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(f.IO.Out, sum)
	}
	printSummary(f.IO.Out, sum)
	return nil
}

// runEngine runs the pipeline until no group is runnable (or, with wait,
// until quarantined groups are resolved) with a progress display.
func runEngine(ctx context.Context, f *Factory, p *pipeline, wait bool) (engine.Summary, error) {
	counts, err := p.store.CountByState(ctx)
	if err != nil {
		return engine.Summary{}, err
	}
	total := int64(0)
	for _, s := range []cm.GroupState{cm.StateApproved, cm.StateReady, cm.StateInFlight, cm.StateUnknown} {
		total += int64(counts[s])
	}
	prog := newProgress(f.IO, f.Now, total, "merging")
	sum, err := p.engine.Run(ctx, p.jobs, engine.RunOptions{
		Wait: wait,
		Progress: func(pr engine.Progress) {
			prog.Set(max(total-int64(pr.Runnable()), 0), fmt.Sprintf("%d merged, %d quarantined, %d requests, concurrency %d",
				pr.Counts[cm.StateMerged], pr.Counts[cm.StateQuarantined], int(pr.Requests), pr.Concurrency))
		},
	})
	prog.Done()
	return sum, err
}

func printSummary(w io.Writer, s engine.Summary) {
	fmt.Fprintf(w, "run finished in %s: %d groups merged this run (%.1f merges/min), %.0f API requests (%.2f per merged group), %.0f throttled\n",
		s.Elapsed.Round(time.Millisecond), s.MergedThisRun, s.MergesPerMinute, s.Requests, s.RequestsPerMerged, s.Throttled)
	fmt.Fprint(w, "groups by state:")
	for _, st := range cm.AllStates {
		if n := s.Counts[st]; n > 0 {
			fmt.Fprintf(w, " %s=%d", st, n)
		}
	}
	fmt.Fprintln(w)
	if q := s.Counts[cm.StateQuarantined]; q > 0 {
		fmt.Fprintf(w, "%d quarantined groups come back at their retry time: run again later, or with --wait\n", q)
	}
	if n := s.Counts[cm.StateFailed]; n > 0 {
		fmt.Fprintf(w, "%d groups failed: 'contactmerge plan show --state failed' lists them with the reason\n", n)
	}
}
