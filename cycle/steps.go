package cycle

import (
	"context"
	"math"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/store"
)

// scan is the scan step: engine.Scan under the scan budget. A scan the
// dead process completed after the step began is not read again.
func (r *Runner) scan(ctx context.Context, rl genesys.RateLimit, prev store.CycleStep) (*ScanResult, error) {
	res := &ScanResult{Budget: r.cfg.ScanBudget, WindowAllowed: rl.Allowed, CeilingPerMinute: r.applyBudget(rl)}
	opts := r.cfg.ScanOptions
	opts.Now = r.now
	name := cmpOr(opts.Name, engine.DefaultScanName)
	before, err := r.cfg.Store.ScanState(ctx, name)
	if err != nil {
		return res, err
	}
	state := before
	if !(before.Done && !prev.StartedAt.IsZero() && !before.UpdatedAt.Before(prev.StartedAt)) {
		state, err = engine.Scan(ctx, r.cfg.Scan, r.cfg.Store, opts)
		if r.cfg.AfterScan != nil {
			if ferr := r.cfg.AfterScan(context.WithoutCancel(ctx)); err == nil {
				err = ferr
			}
		}
		if err != nil {
			return res, err
		}
	}
	res.Pages, res.Contacts = state.Pages, state.Contacts
	res.ContactsInStore, err = r.cfg.Store.CountContacts(ctx)
	return res, err
}

// applyBudget sets the ceiling of the Scan client's limiter to the scan
// budget's share of the window rl reports (never above the ceiling it
// has) and returns it; 0 when there is no budget. The scan and discover
// steps both call it: a cycle resumed at its discover step sets it too.
func (r *Runner) applyBudget(rl genesys.RateLimit) int {
	if r.cfg.ScanBudget <= 0 {
		return 0
	}
	allowed := rl.Allowed
	if allowed <= 0 {
		allowed = genesys.DefaultRatePerMinute
	}
	ceiling := max(1, int(math.Floor(float64(allowed)*r.cfg.ScanBudget)))
	if have := r.cfg.Scan.Limiter().State().Ceiling; have > 0 {
		ceiling = min(ceiling, have)
	}
	r.cfg.Scan.Limiter().SetCeiling(ceiling)
	return ceiling
}

// match is the match step (matchStep, or Config.MatchFunc).
func (r *Runner) match(ctx context.Context) (*MatchResult, error) {
	var res MatchResult
	if r.cfg.MatchFunc != nil {
		var err error
		if res, err = r.cfg.MatchFunc(ctx); err != nil {
			return &res, err
		}
	} else {
		var err error
		if res, err = r.matchStep(ctx); err != nil {
			return &res, err
		}
	}
	counts, err := r.cfg.Store.CountByState(ctx)
	res.Proposed = counts[cm.StateProposed]
	return &res, err
}

// merge is the run step.
func (r *Runner) merge(ctx context.Context, pol *PolicyResult) (*RunResult, error) {
	res := &RunResult{}
	switch {
	case r.cfg.Merge == nil:
		res.Skipped = "this cycle merges nothing (no run step configured)"
		return res, nil
	case r.cfg.RequireEnforce && (r.cfg.Policy == nil || !r.cfg.Policy.Enforces()):
		mode := "no policy file"
		if pol != nil && pol.Mode != "" && pol.Mode != "none" {
			mode = "the policy is in " + pol.Mode + " mode"
		}
		res.Skipped = "nothing merged: unattended cycles merge only under a policy in enforce mode (" + mode + "); approved groups wait for 'contactmerge run' or the console"
		return res, nil
	}
	s, err := r.cfg.Merge(ctx)
	res.MergedThisRun, res.Requests, res.Counts = s.MergedThisRun, s.Requests, s.Counts
	return res, err
}
