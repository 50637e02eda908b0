package engine

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Runner is a startable job client: store.JobClient satisfies it.
type Runner interface {
	Jobs
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// RunOptions configures Run.
type RunOptions struct {
	// Wait keeps running until quarantined groups are resolved (merged or
	// given up) instead of stopping when nothing is runnable now.
	Wait bool
	// Poll is how often progress is checked. Default 250ms.
	Poll time.Duration
	// Reconcile is how often runnable groups without a job are re-enqueued.
	// Default 10s.
	Reconcile time.Duration
	// Progress, when set, is called after every poll.
	Progress func(Progress)
	// Forever keeps the workers running until ctx ends (the worker command).
	Forever bool
	// StoreOutage is how long the store may keep failing the run's polls
	// (counting the groups, re-enqueueing them) before Run gives up with
	// the last error; until then each failure is logged and the poll
	// retried, so that a locked SQLite file or a PostgreSQL restart does not
	// stop the workers. The workers' own jobs retry on their own. Default 1m.
	StoreOutage time.Duration
}

// Progress is a snapshot of a run.
type Progress struct {
	Counts      map[cm.GroupState]int
	Requests    float64 // API requests of this run so far
	Concurrency int
	Elapsed     time.Duration
	// Waiting says what the run waits for, and until when, when it must
	// wait at all: jobs held by another worker that still looks alive (or
	// sends no heartbeat), a rate-limit pause. "" when nothing.
	Waiting string
}

// Runnable is the number of groups that still have work now.
func (p Progress) Runnable() int {
	return p.Counts[cm.StateApproved] + p.Counts[cm.StateReady] + p.Counts[cm.StateInFlight] + p.Counts[cm.StateUnknown]
}

// Summary is what a run did.
type Summary struct {
	Counts            map[cm.GroupState]int `json:"counts"`
	MergedThisRun     int                   `json:"mergedThisRun"`
	Requests          float64               `json:"requests"`
	RequestsPerMerged float64               `json:"requestsPerMergedGroup"`
	Throttled         float64               `json:"throttled"`
	Elapsed           time.Duration         `json:"elapsed"`
	MergesPerMinute   float64               `json:"mergesPerMinute"`
}

// Run preflights and executes every approved group through the job client
// until no group is runnable now (or, with Wait, until quarantined groups
// are resolved too). It is safe to interrupt and to run again: groups found
// in flight are verified before anything is re-sent. When the platform
// refuses a request for a missing permission (403), Run stops at once and
// returns an error matching ErrForbidden that names it; no group is failed
// for it (call CheckPermissions first to find out before any merge).
func (e *Engine) Run(ctx context.Context, r Runner, opts RunOptions) (Summary, error) {
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Reconcile <= 0 {
		opts.Reconcile = 10 * time.Second
	}
	if opts.StoreOutage <= 0 {
		opts.StoreOutage = time.Minute
	}
	e.Attach(r)
	start := e.cfg.Now()
	baseReq := e.Requests()
	baseThrottled := e.met.Get("contactmerge_throttled_total")
	baseMerged := e.met.Get("contactmerge_groups_merged_total")
	// Heartbeats and the takeover of dead processes' work, before the
	// workers start (takeover.go); stopped after them (defers run last in,
	// first out).
	tk, err := e.startTakeover(ctx, r)
	if err != nil {
		return Summary{}, err
	}
	defer tk.stop(ctx)
	if err := r.Start(ctx); err != nil {
		return Summary{}, fmt.Errorf("start workers: %w", err)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return r.Stop(sctx)
	}
	defer stop()

	if err := e.reconcile(ctx, 0); err != nil {
		return Summary{}, err
	}
	tick := time.NewTicker(opts.Poll)
	defer tick.Stop()
	lastReconcile := e.cfg.Now()
	countOutage := outage{what: "count the groups", limit: opts.StoreOutage, log: e.log}
	reconcileOutage := outage{what: "re-enqueue the runnable groups", limit: opts.StoreOutage, log: e.log}
	var counts map[cm.GroupState]int
	for {
		c, err := e.store.CountByState(ctx)
		if err != nil && ctx.Err() == nil {
			if err := countOutage.failed(e.cfg.Now(), err); err != nil {
				return e.summary(counts, start, baseReq, baseThrottled, baseMerged), err
			}
		}
		if err == nil {
			countOutage.ok()
			counts = c
			e.met.observeRun(counts, e.aimd)
			p := Progress{Counts: counts, Requests: e.Requests() - baseReq, Concurrency: e.aimd.Limit(), Elapsed: e.cfg.Now().Sub(start),
				Waiting: e.waiting(tk)}
			if opts.Progress != nil {
				opts.Progress(p)
			}
			if e.halted.Err() == nil && !opts.Forever && p.Runnable() == 0 && (!opts.Wait || counts[cm.StateQuarantined] == 0) {
				break
			}
		}
		if err := e.halted.Err(); err != nil {
			// A 403: no merge can succeed; stop, leaving the groups as they
			// are (approved or ready).
			if serr := stop(); serr != nil {
				e.log.Warn("stop workers", "err", serr)
			}
			return e.summary(counts, start, baseReq, baseThrottled, baseMerged), err
		}
		select {
		case <-ctx.Done():
			return e.summary(counts, start, baseReq, baseThrottled, baseMerged), ctx.Err()
		case <-e.halted.done:
		case <-tick.C:
		}
		if e.cfg.Now().Sub(lastReconcile) >= opts.Reconcile {
			if err := e.reconcile(ctx, opts.Reconcile); err != nil && ctx.Err() == nil {
				// Tried again at the next poll, not a Reconcile later.
				if err := reconcileOutage.failed(e.cfg.Now(), err); err != nil {
					return e.summary(counts, start, baseReq, baseThrottled, baseMerged), err
				}
			} else {
				reconcileOutage.ok()
				lastReconcile = e.cfg.Now()
			}
		}
	}
	if err := stop(); err != nil {
		return Summary{}, fmt.Errorf("stop workers: %w", err)
	}
	return e.summary(counts, start, baseReq, baseThrottled, baseMerged), nil
}

// outage follows the failures of one of Run's store reads: failed logs
// the first failure and returns nil until the store has failed for limit
// without a success in between, and then the error, saying for how long.
type outage struct {
	what  string
	limit time.Duration
	log   *slog.Logger
	since time.Time // the first failure of the current outage (zero: none)
	n     int
}

func (o *outage) failed(now time.Time, err error) error {
	if o.since.IsZero() {
		o.since = now
		o.log.Warn("the store failed; retrying at the next poll", "op", o.what, "err", err, "limit", o.limit)
	}
	o.n++
	if d := now.Sub(o.since); d >= o.limit {
		return fmt.Errorf("%s: the store failed %d times in a row for %s: %w", o.what, o.n, d.Round(time.Millisecond), err)
	}
	return nil
}

func (o *outage) ok() {
	if !o.since.IsZero() {
		o.log.Info("the store answers again", "op", o.what, "failures", o.n)
	}
	o.since, o.n = time.Time{}, 0
}

func (e *Engine) summary(counts map[cm.GroupState]int, start time.Time, baseReq, baseThrottled, baseMerged float64) Summary {
	s := Summary{
		Counts:        maps.Clone(counts),
		MergedThisRun: int(e.met.Get("contactmerge_groups_merged_total") - baseMerged),
		Requests:      e.Requests() - baseReq,
		Throttled:     e.met.Get("contactmerge_throttled_total") - baseThrottled,
		Elapsed:       e.cfg.Now().Sub(start),
	}
	if s.MergedThisRun > 0 {
		s.RequestsPerMerged = s.Requests / float64(s.MergedThisRun)
	}
	if s.Elapsed > 0 {
		s.MergesPerMinute = float64(s.MergedThisRun) / s.Elapsed.Minutes()
	}
	return s
}

// reconcile enqueues every group that has work and no job: groups in flight
// or unknown (verify first), ready groups, approved groups unchanged for
// olderThan (a preflight job may have been lost), and quarantined groups
// whose retry time has come. Unique jobs make repeats harmless.
func (e *Engine) reconcile(ctx context.Context, olderThan time.Duration) error {
	now := e.cfg.Now()
	runnable, err := e.store.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateInFlight, cm.StateUnknown, cm.StateReady}})
	if err != nil {
		return err
	}
	if err := e.enqueueMerges(ctx, ids(runnable)); err != nil {
		return err
	}
	approved, err := e.store.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateApproved}})
	if err != nil {
		return err
	}
	approved = slices.DeleteFunc(approved, func(g cm.Group) bool { return olderThan > 0 && now.Sub(g.UpdatedAt) < olderThan })
	if err := e.enqueuePreflight(ctx, ids(approved)); err != nil {
		return err
	}
	quarantined, err := e.store.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateQuarantined}})
	if err != nil {
		return err
	}
	var due []string
	for _, g := range quarantined {
		if g.RetryAt.After(now) {
			e.enqueueRetry(ctx, g.ID, g.RetryAt)
		} else {
			due = append(due, g.ID)
		}
	}
	return e.releaseQuarantined(ctx, due)
}

func ids(gs []cm.Group) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

// DryRunReport says what a run would do, from fresh platform reads, without
// changing anything.
type DryRunReport struct {
	Groups     int               `json:"groups"`
	WouldMerge int               `json:"wouldMerge"`
	Rounds     int               `json:"mergeRequests"`
	Quarantine map[string]string `json:"quarantine,omitempty"` // group → activity
	Replan     map[string]string `json:"replan,omitempty"`     // group → what changed
	Requests   int               `json:"readRequests"`
}

// DryRun reads the members of every approved or ready group and checks their
// activity, like preflight, and reports what a run would do. It writes
// nothing and sends no merge.
func (e *Engine) DryRun(ctx context.Context) (DryRunReport, error) {
	rep := DryRunReport{Quarantine: map[string]string{}, Replan: map[string]string{}}
	groups, err := e.store.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateApproved, cm.StateReady}})
	if err != nil {
		return rep, err
	}
	rep.Groups = len(groups)
	for start := 0; start < len(groups); start += e.cfg.PreflightBatch {
		batch := groups[start:min(start+e.cfg.PreflightBatch, len(groups))]
		var all []string
		for _, g := range batch {
			all = append(all, g.Members...)
		}
		res, err := e.bulkGet(ctx, cm.SortedIDs(all), &rep.Requests)
		if err != nil {
			return rep, err
		}
		owner := map[string]string{}
		for _, r := range res {
			if r.live != nil {
				owner[r.live.ID] = r.live.ID
				for _, m := range r.live.MergeSet {
					owner[m.ID] = r.live.ID
				}
			}
		}
		act, err := e.activity(ctx, slices.Sorted(maps.Keys(owner)), owner, &rep.Requests)
		if err != nil {
			return rep, err
		}
		for _, g := range batch {
			live := map[string]bool{}
			changed := false
			for _, id := range g.Members {
				r := res[id]
				if r.live == nil {
					changed = true
					continue
				}
				live[r.live.ID] = true
				changed = changed || r.live.ID != id
				if why, ok := act[r.live.ID]; ok {
					rep.Quarantine[g.ID] = why
				}
			}
			if changed {
				rep.Replan[g.ID] = fmt.Sprintf("%d of %d members still live", len(live), len(g.Members))
			}
			if _, q := rep.Quarantine[g.ID]; !q && len(live) >= 2 {
				rep.WouldMerge++
				rep.Rounds += Rounds(len(live), e.cfg.MaxPerRequest)
			}
		}
	}
	return rep, nil
}

// Rounds is the number of merge requests a group of n contacts needs with at
// most per ids a request: the first takes per contacts, each later one the
// previous canonical contact and per-1 more.
func Rounds(n, per int) int {
	if n <= per {
		return 1
	}
	return 1 + (n-per+per-2)/(per-1)
}

// waiting describes what the run waits for (Progress.Waiting).
func (e *Engine) waiting(tk *takeover) string {
	var parts []string
	if w := tk.Waiting(); w != "" {
		parts = append(parts, "waiting for "+w)
	}
	if e.api != nil {
		if until := e.api.Limiter().State().PausedUntil; !until.IsZero() {
			parts = append(parts, "rate limit: waiting until "+clock(until)+" (window reset + 2 s)")
		}
	}
	return strings.Join(parts, "; ")
}
