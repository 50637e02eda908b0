package cycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/discover"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/sources"
	"github.com/contactmerge/contactmerge/store"
)

// Step names a step of a cycle.
type Step string

// The steps, in order.
const (
	StepScan     Step = "scan"
	StepDiscover Step = "discover"
	StepMatch    Step = "match"
	StepPolicy   Step = "policy"
	StepRun      Step = "run"
	StepReport   Step = "report"
)

// Steps returns the steps of a cycle in order.
func Steps() []Step {
	return []Step{StepScan, StepDiscover, StepMatch, StepPolicy, StepRun, StepReport}
}

// Triggers of a cycle (store.Cycle.Trigger).
const (
	TriggerSchedule = "schedule"
	TriggerCLI      = "cli"
	TriggerConsole  = "console"
)

// Store is what a cycle needs of the store.
type Store interface {
	cm.Store
	store.CycleStore
}

// Trigger is what starts a cycle.
type Trigger struct {
	Kind  string    // TriggerSchedule, TriggerCLI or TriggerConsole
	Actor string    // who (the scheduler's name for a scheduled cycle)
	Slot  time.Time // the scheduled time of a scheduled cycle
}

// MergeFunc is the run step: it merges the approved groups (engine.Run
// through a job client) and says what it did. The command line's asks for
// confirmation first; an EINVALID error (not confirmed) fails the step
// with nothing merged.
type MergeFunc func(ctx context.Context) (engine.Summary, error)

// OrgFunc checks the organization of the platform's token against the
// store's (binding a store bound to none yet) and returns the token's
// organization and the rate-limit window its answer reported.
type OrgFunc func(ctx context.Context) (cm.Org, genesys.RateLimit, error)

// Config configures a Runner. Store, Scan and Owner are required.
type Config struct {
	Store Store
	// Scan is the client of the scan step, with a limiter of its own: the
	// scan budget is set as its ceiling (the merges' client keeps its own).
	Scan *genesys.Client
	// ScanBudget is the share of the rate-limit window (the requests the
	// platform allows a minute, inin-ratelimit-allowed) the scan step may
	// spend, in (0, 1]; 0 is no bound beyond the client's own ceiling.
	ScanBudget float64
	// ScanOptions are the scan's page size and division (Now is set).
	ScanOptions engine.ScanOptions
	// AfterScan, when set, is called after the scan step and after the
	// discover step, the two steps that read with Scan (the command
	// flushes their request counts into the store).
	AfterScan func(ctx context.Context) error
	// Discover configures the discover step (discover.Run with the Scan
	// client, under the same budget); nil turns the step off (recorded as
	// skipped). Known is set by the step (the ledger's merged-away ids)
	// and Now defaults to the cycle's clock.
	Discover *discover.Options
	// CheckOrg checks the organization before the first step (and when a
	// cycle is resumed). Default: tokens/me against the store's binding,
	// binding a store bound to none.
	CheckOrg OrgFunc
	// Match configures the match step (default match.DefaultConfig()).
	Match *match.Config
	// MatchFunc, when set, replaces the match step's match.Run and
	// SaveProposals.
	MatchFunc func(ctx context.Context) (MatchResult, error)
	// Policy is the policy step (nil: the cycle approves nothing; groups
	// wait for a person).
	Policy Policy
	// Merge is the run step (nil: the cycle merges nothing).
	Merge MergeFunc
	// RequireEnforce lets the run step merge only when Policy is in
	// enforce mode: serve sets it, since nobody is there to confirm; the
	// policy file is the confirmation.
	RequireEnforce bool
	// Notify, when set, receives each cycle's summary as a JSON POST.
	Notify *Notifier
	// Owner names this process in the cycles table. Default host:pid.
	Owner string
	// HeartbeatEvery is how often the running cycle's row is touched
	// (default 10 s); StaleAfter is how old a heartbeat must be for the
	// cycle to be resumed by another process (default 1 min).
	HeartbeatEvery, StaleAfter time.Duration
	// BeforeStep, when set, is called before each step with the cycle's
	// id; an error it returns stops Run at once, recording nothing more,
	// as if the process had died there (the crash tests' crash point).
	BeforeStep func(id int64, s Step) error
	Logger     *slog.Logger
	Now        func() time.Time
}

// Runner runs cycles.
type Runner struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New returns a Runner. EINVALID when Store or Scan is missing or the
// budget is out of range.
func New(cfg Config) (*Runner, error) {
	if cfg.Store == nil || cfg.Scan == nil {
		return nil, cm.Errorf(cm.EINVALID, "cycle: Config.Store and Config.Scan are required")
	}
	if cfg.ScanBudget < 0 || cfg.ScanBudget > 1 || math.IsNaN(cfg.ScanBudget) {
		return nil, cm.Errorf(cm.EINVALID, "cycle: the scan budget must be a share of the window in (0, 1], not %v", cfg.ScanBudget)
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s:%d", cmpOr(host, "cycle"), os.Getpid())
	}
	if cfg.HeartbeatEvery <= 0 {
		cfg.HeartbeatEvery = 10 * time.Second
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = time.Minute
	}
	if cfg.Match == nil {
		d := match.DefaultConfig()
		cfg.Match = &d
	}
	r := &Runner{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if cfg.CheckOrg == nil {
		r.cfg.CheckOrg = r.checkOrg
	}
	return r, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// localLocker is store.WorkerStore's local lock (SQLite).
type localLocker interface {
	LockLocal(whileAlone func() error) (release func(), alone bool, err error)
}

// errCrash marks a BeforeStep stop: nothing more is recorded.
type errCrash struct{ err error }

func (e errCrash) Error() string { return e.err.Error() }
func (e errCrash) Unwrap() error { return e.err }

// Run runs one cycle, or resumes the one a dead process left at its step.
// It returns the cycle's summary; the error is the cycle's failure
// (ECONFLICT when another cycle is running). A scheduled cycle while a skip
// is pending is recorded as skipped and runs nothing. When ctx ends, the
// cycle is released (left running, to be resumed at its step by the next
// Run of any process) and Run returns ctx's error.
func (r *Runner) Run(ctx context.Context, t Trigger) (Summary, error) {
	stale := r.cfg.StaleAfter
	// On SQLite every process running a cycle (or an engine) holds the
	// store's local lock: when this one finds it free, no other is
	// alive, and a cycle left running belongs to a dead process (kill -9):
	// resumed at once rather than after StaleAfter.
	if l, ok := r.cfg.Store.(localLocker); ok {
		release, alone, err := l.LockLocal(nil)
		if err != nil {
			return Summary{}, err
		}
		defer release()
		if alone {
			stale = time.Nanosecond
		}
	}
	r.renotify(ctx)
	c, resumed, err := r.cfg.Store.BeginCycle(ctx, store.CycleBegin{Trigger: t.Kind, Actor: t.Actor, Owner: r.cfg.Owner, Slot: t.Slot,
		StaleAfter: stale})
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{Cycle: c.ID, State: c.State, Trigger: c.Trigger, Actor: c.Actor, Slot: c.Slot, StartedAt: c.StartedAt, Resumes: c.Resumes}
	if c.State == store.CycleSkipped {
		sum.EndedAt, sum.Error = c.EndedAt, c.Error
		r.log.Info("cycle: skipped", "cycle", c.ID, "why", c.Error)
		r.notify(ctx, &sum)
		return sum, nil
	}
	if resumed {
		r.log.Warn("cycle: resuming a cycle its process left", "cycle", c.ID, "step", c.Step, "resumes", c.Resumes)
	}

	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Go(func() { r.heartbeat(cctx, cancel, c.ID) })
	defer wg.Wait()
	defer cancel(nil)

	err = r.steps(cctx, c, &sum)
	var crash errCrash
	switch {
	case errors.As(err, &crash):
		return sum, crash.err
	case ctx.Err() != nil:
		// Interrupted: resumable at once, at its step.
		if rerr := r.cfg.Store.ReleaseCycle(context.WithoutCancel(ctx), c.ID, r.cfg.Owner); rerr != nil {
			r.log.Warn("cycle: releasing the interrupted cycle", "cycle", c.ID, "err", rerr)
		}
		return sum, ctx.Err()
	case context.Cause(cctx) != nil && !errors.Is(context.Cause(cctx), context.Canceled):
		return sum, context.Cause(cctx) // taken over by another process
	}
	return sum, r.finish(ctx, c.ID, &sum, err)
}

// heartbeat touches the cycle's row until ctx ends; when another process
// took the cycle over, it cancels the cycle with that cause.
func (r *Runner) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, id int64) {
	tick := time.NewTicker(r.cfg.HeartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := r.cfg.Store.CycleHeartbeat(ctx, id, r.cfg.Owner)
		switch {
		case cm.IsCode(err, cm.ECONFLICT):
			cancel(err)
			return
		case err != nil && ctx.Err() == nil:
			r.log.Warn("cycle: heartbeat", "cycle", id, "err", err)
		}
	}
}

// steps runs the steps c has not completed, filling sum with every step's
// result (those of completed steps from the store).
func (r *Runner) steps(ctx context.Context, c store.Cycle, sum *Summary) error {
	org, rl, err := r.cfg.CheckOrg(ctx)
	if err != nil {
		if cm.IsCode(err, cm.EINVALID) {
			sum.Alert = "the store is not this organization's: no cycle can run until the credentials or the store are fixed"
		}
		return fmt.Errorf("checking the organization: %w", err)
	}
	sum.Organization = org
	for _, s := range Steps() {
		if s == StepReport {
			break // finish reports
		}
		if done, ok := c.StepDone(string(s)); ok {
			if err := r.restore(s, done.Result, sum); err != nil {
				return err
			}
			continue
		}
		if r.cfg.BeforeStep != nil {
			if err := r.cfg.BeforeStep(c.ID, s); err != nil {
				return errCrash{err}
			}
		}
		started, _ := c.StepDone(string(s)) // a step the dead process began
		if err := r.cfg.Store.StartCycleStep(ctx, c.ID, r.cfg.Owner, string(s)); err != nil {
			return err
		}
		res, serr := r.step(ctx, c.ID, s, rl, started, sum)
		var crash errCrash
		if errors.As(serr, &crash) {
			return serr
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		text := ""
		if serr != nil {
			text = serr.Error()
		}
		if err := r.cfg.Store.EndCycleStep(ctx, c.ID, r.cfg.Owner, string(s), b, text); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("%s: %w", s, serr)
		}
	}
	return nil
}

// restore puts a completed step's recorded result into sum.
func (r *Runner) restore(s Step, b json.RawMessage, sum *Summary) error {
	var dst any
	switch s {
	case StepScan:
		sum.Scan = &ScanResult{}
		dst = sum.Scan
	case StepDiscover:
		sum.Discover = &DiscoverResult{}
		dst = sum.Discover
	case StepMatch:
		sum.Match = &MatchResult{}
		dst = sum.Match
	case StepPolicy:
		sum.Policy = &PolicyResult{}
		dst = sum.Policy
	case StepRun:
		sum.Run = &RunResult{}
		dst = sum.Run
	default:
		return nil
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("the recorded result of step %s: %w", s, err)
	}
	return nil
}

// step runs one step and returns its result. prev is the step's row when
// a dead process had begun it.
func (r *Runner) step(ctx context.Context, id int64, s Step, rl genesys.RateLimit, prev store.CycleStep, sum *Summary) (any, error) {
	switch s {
	case StepScan:
		res, err := r.scan(ctx, rl, prev)
		sum.Scan = res
		return res, err
	case StepDiscover:
		res, err := r.discover(ctx, id, rl)
		sum.Discover = res
		return res, err
	case StepMatch:
		res, err := r.match(ctx)
		sum.Match = res
		return res, err
	case StepPolicy:
		res := &PolicyResult{Mode: "none", Policy: "none: groups wait for a person"}
		var err error
		if r.cfg.Policy != nil {
			res, err = r.cfg.Policy.Apply(ctx, r.cfg.Store, PolicyOptions{Cycle: id, Actor: "cycle " + fmt.Sprint(id), Now: r.now})
		}
		sum.Policy = res
		return res, err
	case StepRun:
		res, err := r.merge(ctx, sum.Policy)
		sum.Run = res
		return res, err
	}
	return nil, fmt.Errorf("unknown step %s", s)
}

// finish is the report step: the summary kept in the store, then POSTed.
func (r *Runner) finish(ctx context.Context, id int64, sum *Summary, failure error) error {
	if r.cfg.BeforeStep != nil {
		if err := r.cfg.BeforeStep(id, StepReport); err != nil {
			return err
		}
	}
	ctx = context.WithoutCancel(ctx)
	sum.State, sum.EndedAt = store.CycleDone, r.now().UTC()
	if failure != nil {
		sum.State, sum.Error = store.CycleFailed, failure.Error()
		r.log.Error("cycle: failed", "cycle", id, "err", failure)
		if sum.Alert != "" {
			r.log.Error("cycle: ALERT "+sum.Alert, "cycle", id)
		}
	} else {
		r.log.Info("cycle: done", "cycle", id)
		if rep, err := sources.Compute(ctx, r.cfg.Store); err == nil {
			sum.Sources = &SourcesResult{Groups: rep.Groups, Duplicates: rep.Duplicates, BySource: rep.BySource[:min(5, len(rep.BySource))]}
		} else {
			r.log.Warn("cycle: where the duplicates come from", "cycle", id, "err", err)
		}
	}
	if err := r.cfg.Store.StartCycleStep(ctx, id, r.cfg.Owner, string(StepReport)); err != nil {
		return errors.Join(failure, err)
	}
	b, err := json.Marshal(sum)
	if err != nil {
		return errors.Join(failure, err)
	}
	if err := r.cfg.Store.EndCycleStep(ctx, id, r.cfg.Owner, string(StepReport), b, ""); err != nil {
		return errors.Join(failure, err)
	}
	if err := r.cfg.Store.FinishCycle(ctx, id, r.cfg.Owner, sum.State, b, sum.Error); err != nil {
		return errors.Join(failure, err)
	}
	r.notify(ctx, sum)
	return failure
}

// notify POSTs sum to the webhook (best effort: a failure is logged and
// the cycle stays unnotified in the store).
func (r *Runner) notify(ctx context.Context, sum *Summary) {
	if r.cfg.Notify == nil {
		return
	}
	if err := r.cfg.Notify.Post(context.WithoutCancel(ctx), sum); err != nil {
		r.log.Warn("cycle: the notify webhook did not take the summary", "cycle", sum.Cycle, "err", err)
		return
	}
	if err := r.cfg.Store.MarkCycleNotified(context.WithoutCancel(ctx), sum.Cycle); err != nil {
		r.log.Warn("cycle: recording the notification", "cycle", sum.Cycle, "err", err)
	}
}

// renotify posts again the summaries of the latest ended cycles the
// webhook did not take (it was down): each summary is delivered, late
// rather than never, oldest first.
func (r *Runner) renotify(ctx context.Context) {
	if r.cfg.Notify == nil {
		return
	}
	list, err := r.cfg.Store.Cycles(ctx, 10)
	if err != nil {
		r.log.Warn("cycle: reading the cycles to notify", "err", err)
		return
	}
	for i := len(list) - 1; i >= 0; i-- {
		c := list[i]
		if c.State == store.CycleRunning || !c.NotifiedAt.IsZero() || len(c.Summary) == 0 {
			continue
		}
		var sum Summary
		if err := json.Unmarshal(c.Summary, &sum); err != nil {
			continue
		}
		r.notify(ctx, &sum)
	}
}

// checkOrg is the default CheckOrg: tokens/me against the store's binding.
func (r *Runner) checkOrg(ctx context.Context) (cm.Org, genesys.RateLimit, error) {
	info, resp, err := r.cfg.Scan.Tokens.Me(ctx)
	var rl genesys.RateLimit
	if resp != nil {
		rl = resp.RateLimit
	}
	if err != nil {
		return cm.Org{}, rl, fmt.Errorf("reading the token's organization (GET /api/v2/tokens/me): %w", err)
	}
	if info.Organization == nil || info.Organization.ID == "" {
		return cm.Org{}, rl, errors.New("GET /api/v2/tokens/me named no organization")
	}
	tok := cm.Org{ID: info.Organization.ID, Name: info.Organization.Name, Source: "scan"}
	have, err := r.cfg.Store.Org(ctx)
	switch {
	case cm.IsCode(err, cm.ENOTFOUND):
		if err := r.cfg.Store.BindOrg(ctx, tok); err != nil && !cm.IsCode(err, cm.ECONFLICT) {
			return tok, rl, err
		}
		if have, err = r.cfg.Store.Org(ctx); err != nil {
			return tok, rl, err
		}
	case err != nil:
		return tok, rl, err
	}
	if have.ID != tok.ID {
		return tok, rl, cm.Errorf(cm.EINVALID, "the store belongs to organization %s, but the credentials are for %s: the cycle stopped before reading "+
			"or changing anything; use that organization's credentials or another store", have, tok)
	}
	return tok, rl, nil
}
