package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
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
	yes           bool // --yes: merge without asking
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

First it checks that the token's organization is the store's, and prints its plan: the
groups, how many contacts become how many, the requests and the estimated time at the
current rate budget. Merges are permanent (Genesys Cloud has no unmerge; the ledger keeps
every merged contact's before-image and 'report --id-map' maps old ids to new ones), so on
a terminal run asks for 'yes' before it merges anything, and without a terminal it needs
--yes; a missing --yes or any answer but 'yes' exits 2 and changes nothing. --dry-run
prints the plan group by group and checks it against fresh reads, changing nothing.

It stops when no group is runnable now (quarantined groups wait for their retry time; --wait
keeps going until they are resolved). Safe to interrupt or kill and run again. Exit 0 when
every group ended in a known state.`,
		Example: `  contactmerge run --dry-run
  contactmerge run                      # shows the plan, then asks for yes
  contactmerge run --yes --json         # unattended (cron, CI): no question asked
  contactmerge run --yes --wait --max-rate 200`,
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
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the plan group by group and check it with fresh reads; change nothing")
	cmd.Flags().BoolVar(&o.wait, "wait", false, "keep running until quarantined groups are merged or given up")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the summary (with --dry-run: the plan and the check) as JSON; the plan goes to standard error")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "merge without asking (required without a terminal: merges are permanent)")
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
	_, rl, err := checkOrg(ctx, p.store, f.StoreName(), p.api, false, "")
	if err != nil {
		return err // nothing recorded: the store may be another organization's
	}
	plan, err := buildRunPlan(ctx, p.store, o, f.Now(), rl, o.dryRun)
	if err != nil {
		return flushed(ctx, f, p, err)
	}
	if o.dryRun {
		rep, err := p.engine.DryRun(ctx)
		if err != nil {
			return flushed(ctx, f, p, err)
		}
		if err := p.engine.FlushRequests(ctx); err != nil {
			return err
		}
		if o.asJSON {
			return writeJSON(f.IO.Out, struct {
				Plan  runPlan             `json:"plan"`
				Check engine.DryRunReport `json:"check"`
			}{plan, rep})
		}
		plan.write(f.IO.Out)
		plan.writeGroups(f.IO.Out)
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
	// A client without a permission the run needs stops here, before the
	// question and before the first mutation (one harmless probe per
	// capability; exit 1 naming the permission).
	if err := p.engine.CheckPermissions(ctx); err != nil {
		return flushed(ctx, f, p, err)
	}
	planOut := f.IO.Out
	if o.asJSON {
		planOut = f.IO.ErrOut // standard output carries the one JSON summary
	}
	plan.write(planOut)
	if err := confirmRun(f.IO, plan, o.yes); err != nil {
		return flushed(ctx, f, p, err)
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

// flushed records the requests p's engine made (the org check, a dry
// run's reads) before a command returns err.
func flushed(ctx context.Context, f *Factory, p *pipeline, err error) error {
	flushRequests(context.WithoutCancel(ctx), f, p.engine)
	return err
}

// confirmRun lets a run with a plan that merges anything go ahead: with yes
// (--yes), or when the person at the terminal types "yes". Without a
// terminal and without --yes, and on any other answer, it returns EINVALID
// (exit 2): nothing has been changed at that point.
func confirmRun(streams IO, plan runPlan, yes bool) error {
	if plan.Groups == 0 || yes {
		return nil
	}
	if !streams.InTTY {
		return cm.Errorf(cm.EINVALID, "run: merges are permanent and there is no terminal to confirm them on: "+
			"pass --yes to merge the %d groups of the plan above (nothing was changed)", plan.Groups)
	}
	fmt.Fprintf(streams.ErrOut, "Merge %d groups (%d contacts become %d) permanently? Type yes to continue: ",
		plan.Groups, plan.Contacts, plan.ContactsAfter)
	line, err := bufio.NewReader(streams.In).ReadString('\n')
	answer := strings.TrimSpace(line)
	if err != nil && answer == "" {
		return cm.Errorf(cm.EINVALID, "run cancelled: no answer (%v); nothing was merged", err)
	}
	if !strings.EqualFold(answer, "yes") {
		return cm.Errorf(cm.EINVALID, "run cancelled: the answer was %q, not yes; nothing was merged", answer)
	}
	return nil
}

// runPlan is what a run will do, from the store, before it does anything:
// run prints it and asks for confirmation, --dry-run prints it per group,
// the worker prints it at start and the demo as one line.
type runPlan struct {
	// Groups may merge: approved, ready, in flight or unknown (verified
	// first), and quarantined groups whose retry time has come (all
	// quarantined groups with --wait).
	Groups int `json:"groups"`
	// Contacts are their members; they become ContactsAfter contacts, one
	// per group.
	Contacts      int `json:"contacts"`
	ContactsAfter int `json:"contactsAfter"`
	// Resumed groups were in flight or unknown: verified before anything is
	// re-sent. Retried are quarantined groups retried now; Waiting the
	// quarantined groups a run without --wait leaves for later.
	Resumed int `json:"resumed"`
	Retried int `json:"quarantinedRetried"`
	Waiting int `json:"quarantinedWaiting"`
	// MergeRequests are the merges (groups larger than --max-per-request
	// merge in rounds); ReadRequests estimate the preflight and
	// verification reads.
	MergeRequests int `json:"mergeRequests"`
	ReadRequests  int `json:"readRequests"`
	Requests      int `json:"requests"`
	// Budget is the token's rate budget as tokens/me reported it.
	Budget planBudget `json:"budget"`
	// EstimatedSeconds is the time the requests take at that budget (-1:
	// unknown, the platform sent no rate-limit headers and no --max-rate).
	EstimatedSeconds float64 `json:"estimatedSeconds"`
	// PerGroup lists the groups (--dry-run).
	PerGroup []planGroup `json:"perGroup,omitempty"`
}

// planBudget is the rate budget a plan is estimated at.
type planBudget struct {
	PerMinute    int     `json:"perMinute"` // the window's allowance (0: unknown)
	Remaining    int     `json:"remaining"` // left in the current window
	ResetSeconds float64 `json:"resetSeconds"`
	MaxRate      int     `json:"maxRate,omitempty"` // --max-rate
}

// planGroup is one group of a plan.
type planGroup struct {
	ID       string        `json:"groupId"`
	State    cm.GroupState `json:"state"`
	Members  int           `json:"members"`
	Requests int           `json:"mergeRequests"`
	Survivor string        `json:"survivorId"`
	Name     string        `json:"name,omitempty"`
}

// planBulkIDs is the number of ids one bulk read or analytics query of
// preflight and verification takes.
const planBulkIDs = 100

// buildRunPlan computes the plan of a run with o's flags from the store at
// now, estimated at the budget of rl (the tokens/me answer's headers).
func buildRunPlan(ctx context.Context, st cm.Store, o *runOptions, now time.Time, rl genesys.RateLimit, perGroup bool) (runPlan, error) {
	groups, err := st.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{
		cm.StateApproved, cm.StateReady, cm.StateInFlight, cm.StateUnknown, cm.StateQuarantined}})
	if err != nil {
		return runPlan{}, err
	}
	var p runPlan
	preflight := 0 // groups and members read in preflight, in batches
	batch, batchMembers := 0, 0
	closeBatch := func() {
		if batch > 0 {
			p.ReadRequests += 2 * ceilDiv(batchMembers, planBulkIDs) // bulk read + activity query
			batch, batchMembers = 0, 0
		}
	}
	for _, g := range groups {
		switch g.State {
		case cm.StateQuarantined:
			if !o.wait && g.RetryAt.After(now) {
				p.Waiting++
				continue
			}
			p.Retried++
			fallthrough
		case cm.StateApproved:
			preflight += len(g.Members)
			batch++
			batchMembers += len(g.Members)
			if batch == engine.DefaultConfig().PreflightBatch {
				closeBatch()
			}
		case cm.StateInFlight, cm.StateUnknown:
			p.Resumed++
			p.ReadRequests += ceilDiv(len(g.Members), planBulkIDs) // verification
		}
		p.Groups++
		p.Contacts += len(g.Members)
		rounds := engine.Rounds(len(g.Members), o.maxPerRequest)
		p.MergeRequests += rounds
		if perGroup {
			pg := planGroup{ID: g.ID, State: g.State, Members: len(g.Members), Requests: rounds, Survivor: g.SurvivorID}
			if g.Merged != nil {
				pg.Name = strings.TrimSpace(g.Merged.FirstName + " " + g.Merged.LastName)
			}
			p.PerGroup = append(p.PerGroup, pg)
		}
	}
	closeBatch()
	if o.checkCases {
		p.ReadRequests += preflight // one case lookup per member
	}
	p.ContactsAfter = p.Groups
	p.Requests = p.MergeRequests + p.ReadRequests
	p.Budget = planBudget{MaxRate: o.maxRate}
	if rl.Known() {
		p.Budget.PerMinute, p.Budget.Remaining, p.Budget.ResetSeconds = rl.Allowed, rl.Remaining(), rl.Reset.Seconds()
	}
	p.EstimatedSeconds = estimateSeconds(p.Requests, p.Budget)
	return p, nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// estimateSeconds is how long requests take at budget b: at the steady
// rate (the window's allowance, or --max-rate when lower) while they fit
// in what is left of the current window above the client's floor, and
// beyond that one window's allowance per minute after the reset. -1 when
// the budget is unknown.
func estimateSeconds(requests int, b planBudget) float64 {
	rate, left := b.PerMinute, b.Remaining-genesys.DefaultRateFloor
	switch {
	case rate == 0 && b.MaxRate == 0:
		return -1
	case rate == 0 || b.MaxRate > 0 && b.MaxRate < rate:
		// --max-rate spaces requests evenly: the window never runs dry.
		rate, left = b.MaxRate, math.MaxInt
	}
	if requests <= max(left, 0) {
		return float64(requests) * 60 / float64(rate)
	}
	perWindow := max(rate-genesys.DefaultRateFloor, 1)
	rest := requests - max(left, 0)
	return b.ResetSeconds + float64(rest)*60/float64(perWindow)
}

// write prints the plan and that merges are permanent.
func (p runPlan) write(w io.Writer) {
	if p.Groups == 0 {
		fmt.Fprintf(w, "plan: nothing to merge (no approved groups")
		if p.Waiting > 0 {
			fmt.Fprintf(w, "; %d quarantined groups wait for their retry time: run again later, or with --wait", p.Waiting)
		}
		fmt.Fprintln(w, ")")
		return
	}
	fmt.Fprintf(w, "plan: merge %d groups: %d contacts become %d\n", p.Groups, p.Contacts, p.ContactsAfter)
	if p.Resumed > 0 {
		fmt.Fprintf(w, "  %d groups were in flight: verified before anything is re-sent\n", p.Resumed)
	}
	if p.Retried > 0 {
		fmt.Fprintf(w, "  %d quarantined groups are retried\n", p.Retried)
	}
	if p.Waiting > 0 {
		fmt.Fprintf(w, "  %d quarantined groups wait for their retry time (not counted; --wait includes them)\n", p.Waiting)
	}
	fmt.Fprintf(w, "  requests: about %d (%d merges, about %d preflight and verification reads)\n", p.Requests, p.MergeRequests, p.ReadRequests)
	fmt.Fprintf(w, "  time:     %s\n", p.timeLine())
	fmt.Fprintln(w, "Merges are permanent: Genesys Cloud cannot undo them. The ledger keeps the before-image of every")
	fmt.Fprintln(w, "merged contact, and 'contactmerge report --id-map' maps each old contact id to its new one.")
}

// timeLine is the estimate and the budget it assumes.
func (p runPlan) timeLine() string {
	b := p.Budget
	if p.EstimatedSeconds < 0 {
		return "unknown: the platform sent no rate-limit headers (--max-rate sets a budget)"
	}
	est := time.Duration(p.EstimatedSeconds * float64(time.Second)).Round(time.Second)
	if est < time.Second {
		est = time.Duration(p.EstimatedSeconds * float64(time.Second)).Round(time.Millisecond)
	}
	s := fmt.Sprintf("about %s at the current budget of ", est)
	switch {
	case b.PerMinute > 0 && (b.MaxRate == 0 || b.MaxRate >= b.PerMinute):
		s += fmt.Sprintf("%d requests/min (%d left in this window, which resets in %s)", b.PerMinute, b.Remaining,
			(time.Duration(b.ResetSeconds) * time.Second).String())
	default:
		s += fmt.Sprintf("%d requests/min (--max-rate)", b.MaxRate)
	}
	return s + ", not counting the platform's latency and retries"
}

// summaryLine is the plan in one line (the demo, the worker).
func (p runPlan) summaryLine() string {
	if p.Groups == 0 {
		return "nothing to merge"
	}
	s := fmt.Sprintf("%d groups: %d contacts become %d, about %d requests", p.Groups, p.Contacts, p.ContactsAfter, p.Requests)
	if p.EstimatedSeconds >= 0 {
		s += fmt.Sprintf(", about %s", time.Duration(p.EstimatedSeconds*float64(time.Second)).Round(100*time.Millisecond))
	}
	return s
}

// writeGroups prints the plan's groups (--dry-run).
func (p runPlan) writeGroups(w io.Writer) {
	if len(p.PerGroup) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tSTATE\tCONTACTS\tREQUESTS\tSURVIVOR\tNAME")
	for _, g := range p.PerGroup {
		fmt.Fprintf(tw, "%s\t%s\t%d → 1\t%d\t%s\t%s\n", g.ID, g.State, g.Members, g.Requests, g.Survivor, g.Name)
	}
	_ = tw.Flush()
}

// runEngine runs the pipeline until no group is runnable (or, with wait,
// until quarantined groups are resolved) with a progress display, and
// records its requests in the store's request counters as it goes.
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
			detail := fmt.Sprintf("%d merged, %d quarantined, %d requests, concurrency %d",
				pr.Counts[cm.StateMerged], pr.Counts[cm.StateQuarantined], int(pr.Requests), pr.Concurrency)
			if pr.Waiting != "" {
				detail += "; " + pr.Waiting
			}
			prog.Set(max(total-int64(pr.Runnable()), 0), detail)
			flushRequests(ctx, f, p.engine)
		},
	})
	prog.Done()
	if ferr := p.engine.FlushRequests(context.WithoutCancel(ctx)); ferr != nil && err == nil {
		err = fmt.Errorf("recording request counts: %w", ferr)
	}
	return sum, err
}

// flushRequests records the engine's requests; a failure is logged and the
// counts are kept for the next flush.
func flushRequests(ctx context.Context, f *Factory, e *engine.Engine) {
	if err := e.FlushRequests(ctx); err != nil && ctx.Err() == nil {
		f.Logger.Warn("recording request counts", "err", err)
	}
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
