package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/cycle"
	"github.com/contactmerge/contactmerge/discover"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/store"
)

// cycleFlags are the flags of a cycle shared by cycle and serve.
type cycleFlags struct {
	policy     string  // --policy FILE
	scanBudget string  // --scan-budget, e.g. "30%"
	notify     string  // --notify-webhook URL
	discover   bool    // --discover: the discover step reads the conversation history
	days       int     // --discover-days: its lookback
	budget     float64 // scanBudget, parsed
}

// defaultScanBudget is --scan-budget's default.
const defaultScanBudget = "30%"

func (c *cycleFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&c.policy, "policy", "", "the auto-approve policy file of the policy step (policy.Load's JSON; without one the cycle approves nothing)")
	fl.StringVar(&c.scanBudget, "scan-budget", defaultScanBudget, "share of the rate-limit window the scan step may spend (e.g. 30% or 0.3), so that merges and other integrations keep theirs")
	fl.StringVar(&c.notify, "notify-webhook", "", "POST each cycle's summary (JSON) to this URL")
	fl.BoolVar(&c.discover, "discover", true, "discover step: find the auto-created contacts scan cannot see through the conversations of the last --discover-days days "+
		"(skipped when the OAuth client lacks analytics:conversationDetail:view; --discover=false turns it off)")
	fl.IntVar(&c.days, "discover-days", discover.DefaultDays, fmt.Sprintf("the discover step's lookback in days (1 to %d; read in parts of at most 31 days)", discover.MaxDays))
}

// validate parses the flags (EINVALID, exit 2, naming the flag).
func (c *cycleFlags) validate() error {
	b, err := parseShare("--scan-budget", c.scanBudget)
	if err != nil {
		return err
	}
	c.budget = b
	if c.days < 1 || c.days > discover.MaxDays {
		return usageErrorf("--discover-days %d: want 1 to %d days", c.days, discover.MaxDays)
	}
	if c.notify != "" {
		if _, err := cycle.NewNotifier("--notify-webhook", c.notify); err != nil {
			return err
		}
	}
	return nil
}

// parseShare parses a share in (0, 1]: "30%" or "0.3".
func parseShare(flag, s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	x, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if pct {
		x /= 100
	}
	if err != nil || !(x > 0 && x <= 1) {
		return 0, usageErrorf("%s %q: want a share of the window above 0 and at most 100%% (e.g. 30%% or 0.3)", flag, s)
	}
	return x, nil
}

// loadPolicy reads --policy (nil without one).
func (c *cycleFlags) loadPolicy() (cycle.Policy, error) {
	if c.policy == "" {
		return nil, nil
	}
	p, err := policy.Load(c.policy)
	if err != nil {
		return nil, err
	}
	return cycle.FilePolicy{P: p}, nil
}

// cycleSetup is what a cycle runner is built from.
type cycleSetup struct {
	f     *Factory
	st    store.Store
	flags *cycleFlags
	run   *runOptions
	match match.Config
	// unattended (serve): merges only under an enforce policy, no
	// question; otherwise the run step shows its plan and asks (or --yes).
	unattended bool
	yes        bool
	planOut    io.Writer
}

// newCycleRunner builds the runner of s: a scan client of its own (its
// ceiling becomes the scan budget; its requests are counted in the
// store), and a run step that builds a fresh pipeline for each cycle.
func newCycleRunner(ctx context.Context, s cycleSetup) (*cycle.Runner, error) {
	f := s.f
	pol, err := s.flags.loadPolicy()
	if err != nil {
		return nil, err
	}
	var notify *cycle.Notifier
	if s.flags.notify != "" {
		if notify, err = cycle.NewNotifier("--notify-webhook", s.flags.notify); err != nil {
			return nil, err
		}
	}
	reqs, observe := engine.NewRequestLog(s.st), engine.NewObserver(f.Metrics, nil)
	scanClient, err := f.Client(ctx, s.run.maxRate, func(ri genesys.RequestInfo) {
		observe(ri)
		reqs.Observe(ri)
	})
	if err != nil {
		return nil, err
	}
	cs, ok := s.st.(cycle.Store)
	if !ok {
		return nil, fmt.Errorf("store %s keeps no cycles", f.StoreName())
	}
	mcfg := s.match
	var disc *discover.Options
	if s.flags.discover {
		disc = &discover.Options{Days: s.flags.days}
	}
	return cycle.New(cycle.Config{
		Store: cs, Scan: scanClient, ScanBudget: s.flags.budget,
		AfterScan: reqs.Flush, Discover: disc,
		CheckOrg: func(ctx context.Context) (cm.Org, genesys.RateLimit, error) {
			return checkOrg(ctx, s.st, f.StoreName(), scanClient, true, "scan")
		},
		Match: &mcfg, Policy: pol, Merge: s.merge, RequireEnforce: s.unattended, Notify: notify,
		Logger: f.Logger, Now: f.Now,
	})
}

// merge is the run step: a pipeline built for this cycle, the plan, the
// confirmation (not unattended), and engine.Run until nothing is runnable.
func (s cycleSetup) merge(ctx context.Context) (engine.Summary, error) {
	f := s.f
	p, err := buildPipeline(ctx, f, s.st, s.run, func(obs func(genesys.RequestInfo)) (*genesys.Client, error) {
		return f.Client(ctx, s.run.maxRate, obs)
	})
	if err != nil {
		return engine.Summary{}, err
	}
	_, rl, err := checkOrg(ctx, s.st, f.StoreName(), p.api, false, "")
	if err != nil {
		return engine.Summary{}, flushed(ctx, f, p, err)
	}
	plan, err := buildRunPlan(ctx, s.st, s.run, f.Now(), rl, false)
	if err != nil {
		return engine.Summary{}, flushed(ctx, f, p, err)
	}
	if plan.Groups == 0 {
		counts, err := s.st.CountByState(ctx)
		return engine.Summary{Counts: counts}, flushed(ctx, f, p, err)
	}
	if err := p.engine.CheckPermissions(ctx); err != nil {
		return engine.Summary{}, flushed(ctx, f, p, err)
	}
	if s.unattended {
		// serve: a stop lets the merges in progress finish (gracefulJobs).
		p.jobs = gracefulJobs{p.jobs}
	} else {
		plan.write(s.planOut)
		if err := confirmRun(f.IO, plan, s.yes); err != nil {
			return engine.Summary{}, flushed(ctx, f, p, err)
		}
	}
	return runEngine(ctx, f, p, false)
}

// cycleOptions are the options of cycle (run one now).
type cycleOptions struct {
	Factory *Factory

	pipeline runOptions
	flags    cycleFlags
	config   string
	user     string
	yes      bool
	asJSON   bool
}

func newCmdCycle(f *Factory, runF func(*cycleOptions) error) *cobra.Command {
	o := &cycleOptions{Factory: f, pipeline: *defaultRunOptions()}
	cmd := &cobra.Command{
		Use:   "cycle",
		Short: "Run one cycle now (scan → discover → match → policy → run → report); list, show and skip cycles",
		Long: `Runs one cycle now: scan (bounded to --scan-budget of the rate-limit window), discover (the
auto-created contacts scan cannot see, through the conversations of the last --discover-days (31) days that name
them, as 'contactmerge discover', within the same budget; skipped when the OAuth client lacks
analytics:conversationDetail:view, off with --discover=false), match, the
policy step (--policy FILE: the guarded auto-approve policy; without one nothing is approved
automatically), run (the approved groups: the policy's and the stewards'), and the report:
a summary kept in the store (cycle list, cycle show) and POSTed to --notify-webhook.

Merges are permanent: before the run step merges anything, cycle shows the plan and asks for
yes on a terminal; without one it needs --yes (as run). 'serve --every/--cron' runs cycles
unattended: there merges happen only under a policy in enforce mode (the policy file is the
confirmation).

One cycle runs at a time, across processes. A cycle interrupted (Ctrl-C) or whose process
died is resumed at the step it was in by the next 'contactmerge cycle' (or serve): the steps
it completed are not run again. Before the first step the token's organization is checked:
a store bound to another organization stops the cycle (exit 2) with an alert in its summary.`,
		Example: `  contactmerge cycle --policy policy.json            # asks before merging
  contactmerge cycle --policy policy.json --yes --json --notify-webhook https://hooks.example.com/x
  contactmerge cycle --discover=false                 # scan only what scan lists
  contactmerge cycle list
  contactmerge cycle show 12
  contactmerge cycle skip --reason "quarter close"   # the next scheduled cycle of serve`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.pipeline.validate(); err != nil {
				return err
			}
			if err := o.flags.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return cycleRun(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.config, "config", "", "the matcher configuration of the match step")
	fl.StringVar(&o.user, "actor", "", "who the cycle is recorded as started by (default $USER)")
	fl.BoolVarP(&o.yes, "yes", "y", false, "merge without asking (required without a terminal: merges are permanent)")
	fl.BoolVar(&o.asJSON, "json", false, "print the cycle's summary as JSON (the plan goes to standard error)")
	o.flags.register(cmd)
	o.pipeline.flags(cmd)
	cmd.AddCommand(newCmdCycleList(f, nil), newCmdCycleShow(f, nil), newCmdCycleSkip(f, nil))
	return cmd
}

func cycleRun(ctx context.Context, o *cycleOptions) error {
	f := o.Factory
	mcfg, err := loadMatchConfig(o.config)
	if err != nil {
		return err
	}
	st, err := f.CreateStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	planOut := f.IO.Out
	if o.asJSON {
		planOut = f.IO.ErrOut
	}
	run, err := newCycleRunner(ctx, cycleSetup{f: f, st: st, flags: &o.flags, run: &o.pipeline, match: mcfg, yes: o.yes, planOut: planOut})
	if err != nil {
		return err
	}
	sum, err := run.Run(ctx, cycle.Trigger{Kind: cycle.TriggerCLI, Actor: actor(f, o.user)})
	if sum.Cycle == 0 {
		return err // not begun: another cycle runs
	}
	if err != nil && ctx.Err() != nil {
		fmt.Fprintf(f.IO.ErrOut, "cycle %d interrupted: run 'contactmerge cycle' to resume it at its step\n", sum.Cycle)
		return err
	}
	if o.asJSON {
		if jerr := writeJSON(f.IO.Out, sum); jerr != nil {
			return jerr
		}
	} else {
		writeCycleSummary(f.IO.Out, sum)
	}
	return err
}

// writeCycleSummary prints a cycle's summary.
func writeCycleSummary(w io.Writer, s cycle.Summary) {
	took := ""
	if !s.EndedAt.IsZero() {
		took = " in " + s.EndedAt.Sub(s.StartedAt).Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "cycle %d (%s, %s) %s%s", s.Cycle, s.Trigger, s.Actor, s.State, took)
	if s.Resumes > 0 {
		fmt.Fprintf(w, ", resumed %d×", s.Resumes)
	}
	fmt.Fprintln(w)
	if x := s.Scan; x != nil {
		fmt.Fprintf(w, "  scan     %d contacts in %d pages, %d in the store", x.Contacts, x.Pages, x.ContactsInStore)
		if x.CeilingPerMinute > 0 {
			fmt.Fprintf(w, " (at most %d requests/min: %.0f%% of the window's %d)", x.CeilingPerMinute, x.Budget*100, x.WindowAllowed)
		}
		fmt.Fprintln(w)
	}
	if x := s.Discover; x != nil {
		if x.Skipped != "" {
			fmt.Fprintf(w, "  discover %s\n", x.Skipped)
		} else {
			fmt.Fprintf(w, "  discover %d conversations of %d days name %d contacts: %d already known, %d read; %d found%s; %d requests (%d analytics, %d bulk reads)\n",
				x.Conversations, x.Days, x.ContactIDs, x.Known, x.Read, x.Found, byType(x.FoundByType), x.Requests, x.AnalyticsRequests, x.BulkRequests)
		}
	}
	if x := s.Match; x != nil {
		fmt.Fprintf(w, "  match    %d groups: %d new, %d kept, %d superseded; %d wait for a decision", x.Groups, x.Created, x.Kept, x.Superseded, x.Proposed)
		if x.Mode != "" {
			fmt.Fprintf(w, " (%s)", x.Mode)
		}
		fmt.Fprintln(w)
	}
	if x := s.Policy; x != nil {
		fmt.Fprintf(w, "  policy   %s (%s): %d approved of %d judged", x.Policy, x.Mode, x.Approved, x.Evaluated)
		if x.Mode == string(policy.Shadow) {
			fmt.Fprintf(w, ", %d would be", x.WouldApprove)
		}
		fmt.Fprintf(w, ", %d held", x.Held)
		for _, k := range slices.Sorted(maps.Keys(x.HeldBy)) {
			fmt.Fprintf(w, "; %s: %d", k, x.HeldBy[k])
		}
		fmt.Fprintln(w)
	}
	if x := s.Run; x != nil {
		if x.Skipped != "" {
			fmt.Fprintf(w, "  run      %s\n", x.Skipped)
		} else {
			fmt.Fprintf(w, "  run      %d groups merged, %.0f API requests\n", x.MergedThisRun, x.Requests)
		}
	}
	if x := s.Sources; x != nil && x.Groups > 0 {
		fmt.Fprintf(w, "  sources  %d groups, %d duplicates", x.Groups, x.Duplicates)
		for _, c := range x.BySource {
			fmt.Fprintf(w, "; %s: %d", c.Key, c.Duplicates)
		}
		fmt.Fprintln(w)
	}
	if s.Error != "" {
		fmt.Fprintf(w, "  error    %s\n", s.Error)
	}
	if s.Alert != "" {
		fmt.Fprintf(w, "  ALERT    %s\n", s.Alert)
	}
}

// cycleListOptions are the options of cycle list.
type cycleListOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)
	limit     int
	asJSON    bool
}

func newCmdCycleList(f *Factory, runF func(*cycleListOptions) error) *cobra.Command {
	o := &cycleListOptions{IO: f.IO, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "The latest cycles, newest first, and whether the next scheduled one is skipped",
		Example: "  contactmerge cycle list\n  contactmerge cycle list --limit 100 --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.limit < 1 {
				return usageErrorf("--limit must be at least 1")
			}
			if runF != nil {
				return runF(o)
			}
			return cycleListRun(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&o.limit, "limit", 20, "how many cycles")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the cycles (with their steps and summaries) as JSON")
	return cmd
}

func cycleListRun(ctx context.Context, o *cycleListOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	cs := st.(store.CycleStore)
	list, err := cs.Cycles(ctx, o.limit)
	if err != nil {
		return err
	}
	skip, err := cs.PendingSkip(ctx)
	pending := err == nil
	if err != nil && !cm.IsCode(err, cm.ENOTFOUND) {
		return err
	}
	if o.asJSON {
		out := struct {
			Cycles []store.Cycle    `json:"cycles"`
			Skip   *store.CycleSkip `json:"skipNext,omitempty"`
		}{Cycles: list}
		if pending {
			out.Skip = &skip
		}
		return writeJSON(o.IO.Out, out)
	}
	if pending {
		fmt.Fprintf(o.IO.Out, "the next scheduled cycle is skipped (asked by %s at %s%s)\n", skip.Actor, skip.RequestedAt.Format(time.RFC3339), reasonText(skip.Reason))
	}
	if len(list) == 0 {
		fmt.Fprintln(o.IO.Out, "no cycle yet: run 'contactmerge cycle', or serve with --every or --cron")
		return nil
	}
	tw := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tTRIGGER\tBY\tSTARTED\tSTEP\tMERGED\tNOTE")
	for _, c := range list {
		merged, note := "-", c.Error
		if sum := summaryOf(c); sum.Run != nil && sum.Run.Skipped == "" {
			merged = strconv.Itoa(sum.Run.MergedThisRun)
		}
		if c.Resumes > 0 {
			note = strings.TrimSpace(fmt.Sprintf("resumed %d× %s", c.Resumes, note))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.State, c.Trigger, c.Actor, c.StartedAt.Format(time.RFC3339), orDash(c.Step), merged, note)
	}
	return tw.Flush()
}

func reasonText(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// summaryOf decodes a cycle's stored summary (zero when it has none).
func summaryOf(c store.Cycle) cycle.Summary {
	var s cycle.Summary
	if len(c.Summary) > 0 {
		_ = json.Unmarshal(c.Summary, &s)
	}
	return s
}

// cycleShowOptions are the options of cycle show.
type cycleShowOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)
	id        int64
	asJSON    bool
}

func newCmdCycleShow(f *Factory, runF func(*cycleShowOptions) error) *cobra.Command {
	o := &cycleShowOptions{IO: f.IO, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:     "show ID",
		Short:   "One cycle: its steps with their times and its summary",
		Example: "  contactmerge cycle show 12\n  contactmerge cycle show 12 --json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return usageErrorf("cycle show %q: a cycle id is a positive number (see 'contactmerge cycle list')", args[0])
			}
			o.id = id
			if runF != nil {
				return runF(o)
			}
			return cycleShowRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the cycle as JSON")
	return cmd
}

func cycleShowRun(ctx context.Context, o *cycleShowOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.(store.CycleStore).Cycle(ctx, o.id)
	if cm.IsCode(err, cm.ENOTFOUND) {
		return cm.Errorf(cm.EINVALID, "no cycle %d in this store (see 'contactmerge cycle list')", o.id)
	}
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(o.IO.Out, c)
	}
	if len(c.Summary) > 0 {
		writeCycleSummary(o.IO.Out, summaryOf(c))
	} else {
		fmt.Fprintf(o.IO.Out, "cycle %d (%s, %s) %s, in step %s, owner %s, last heartbeat %s\n", c.ID, c.Trigger, c.Actor, c.State, orDash(c.Step),
			c.Owner, c.HeartbeatAt.Format(time.RFC3339))
		if c.Error != "" {
			fmt.Fprintf(o.IO.Out, "  %s\n", c.Error)
		}
	}
	tw := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTARTED\tTOOK\tATTEMPTS\tERROR")
	for _, s := range c.Steps {
		took := "running"
		if !s.EndedAt.IsZero() {
			took = s.EndedAt.Sub(s.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.Name, s.StartedAt.Format(time.RFC3339), took, s.Attempts, s.Error)
	}
	return tw.Flush()
}

// cycleSkipOptions are the options of cycle skip.
type cycleSkipOptions struct {
	Factory   *Factory
	OpenStore func(context.Context) (store.Store, error)
	reason    string
	user      string
	undo      bool
	asJSON    bool
}

func newCmdCycleSkip(f *Factory, runF func(*cycleSkipOptions) error) *cobra.Command {
	o := &cycleSkipOptions{Factory: f, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "skip",
		Short: "Skip the next scheduled cycle (of every serve on this store); --undo withdraws it",
		Long: `Records that the next scheduled cycle is skipped: whichever serve process reaches the next
slot of its --every or --cron schedule records a skipped cycle (with who asked and why) and
runs nothing; the slot after runs as usual. Cycles started by hand (contactmerge cycle, the
console's "run now") are not skipped. One skip is pending at a time; --undo withdraws it.`,
		Example: `  contactmerge cycle skip --reason "quarter close"
  contactmerge cycle skip --undo`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.undo && o.reason != "" {
				return usageErrorf("--undo withdraws the pending skip: it takes no --reason")
			}
			if runF != nil {
				return runF(o)
			}
			return cycleSkipRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.reason, "reason", "", "why (shown in the cycle list, the console and the summary)")
	cmd.Flags().StringVar(&o.user, "actor", "", "who asks (default $USER)")
	cmd.Flags().BoolVar(&o.undo, "undo", false, "withdraw the pending skip")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the skip request as JSON")
	return cmd
}

func cycleSkipRun(ctx context.Context, o *cycleSkipOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	cs := st.(store.CycleStore)
	out := o.Factory.IO.Out
	if o.undo {
		k, err := cs.WithdrawSkip(ctx)
		if cm.IsCode(err, cm.ENOTFOUND) {
			return cm.Errorf(cm.EINVALID, "no skip is pending: nothing to withdraw")
		}
		if err != nil {
			return err
		}
		if o.asJSON {
			return writeJSON(out, k)
		}
		fmt.Fprintf(out, "withdrawn: the skip %s asked for at %s; the next scheduled cycle runs\n", k.Actor, k.RequestedAt.Format(time.RFC3339))
		return nil
	}
	k, err := cs.SkipNextCycle(ctx, actor(o.Factory, o.user), o.reason)
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(out, k)
	}
	fmt.Fprintf(out, "the next scheduled cycle will be skipped (asked by %s at %s%s); 'contactmerge cycle skip --undo' withdraws it\n",
		k.Actor, k.RequestedAt.Format(time.RFC3339), reasonText(k.Reason))
	return nil
}
