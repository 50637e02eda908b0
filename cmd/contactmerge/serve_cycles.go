package main

import (
	"context"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/contactmerge/contactmerge/cycle"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/store"
	"github.com/contactmerge/contactmerge/web"
)

// serveCycles runs serve's cycles (--every, --cron; "run now" from the
// console) and is the console's web.CycleControl.
type serveCycles struct {
	sched     *cycle.Scheduler
	scheduled bool
	merges    string
	cancel    context.CancelFunc
	done      chan struct{}
	once      sync.Once
}

// startCycles starts the scheduler of serve's cycles: on the schedule of
// --every or --cron, or, without one, only the cycles asked for from the
// console (and the resumption of a cycle a crash left running).
func (o *serveOptions) startCycles(ctx context.Context, f *Factory, st store.Store, mcfg match.Config) (*serveCycles, error) {
	runner, err := newCycleRunner(ctx, cycleSetup{f: f, st: st, flags: &o.cycles, run: &o.pipeline, match: mcfg, unattended: true})
	if err != nil {
		return nil, err
	}
	sch, scheduled := o.schedule, o.schedule.PeriodicSchedule != nil
	if !scheduled {
		sch = cycle.Schedule{PeriodicSchedule: river.NeverSchedule()}
	}
	c := &serveCycles{sched: cycle.NewScheduler(runner, sch), scheduled: scheduled, done: make(chan struct{})}
	switch {
	case o.policy == nil:
		c.merges = "cycles merge nothing: no --policy file (approved groups wait for the Run page or 'contactmerge run')"
	case !o.policy.Enforces():
		c.merges = "cycles merge nothing: the policy " + o.cycles.policy + " is in shadow mode (it records what it would approve)"
	default:
		c.merges = "cycles merge what the policy " + o.cycles.policy + " (enforce mode) and the stewards approved: the policy file is the confirmation"
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	go func() {
		defer close(c.done)
		c.sched.Run(cctx)
	}()
	return c, nil
}

// filePolicy is the loaded --policy for the console's policy page.
func (o *serveOptions) filePolicy() *policy.Policy {
	if fp, ok := o.policy.(cycle.FilePolicy); ok {
		return fp.P
	}
	return nil
}

// describe is serve's line about cycles.
func (c *serveCycles) describe() string {
	st, _ := c.sched.Status(context.Background())
	if !c.scheduled {
		return "cycles: not scheduled (--every or --cron); the console's Cycles page runs one now; " + c.merges
	}
	return "cycles: " + st.Schedule + ", next at " + st.Next.Local().Format("2006-01-02 15:04:05") + "; " + c.merges
}

// stop stops the scheduler (a cycle in progress is released, to be
// resumed at its step) and waits for it.
func (c *serveCycles) stop() {
	c.once.Do(func() {
		c.cancel()
		<-c.done
	})
}

// CycleStatus implements web.CycleControl.
func (c *serveCycles) CycleStatus(ctx context.Context) (web.CycleStatus, error) {
	st, err := c.sched.Status(ctx)
	out := web.CycleStatus{Schedule: st.Schedule, Next: st.Next, Running: st.Running, Skip: st.Skip, LastErr: st.LastErr, Merges: c.merges}
	if !c.scheduled {
		out.Schedule, out.Next = "", time.Time{}
	}
	return out, err
}

// RunCycleNow implements web.CycleControl.
func (c *serveCycles) RunCycleNow(_ context.Context, actor string) error {
	return c.sched.RunNow(actor, cycle.TriggerConsole)
}

// SkipNextCycle implements web.CycleControl.
func (c *serveCycles) SkipNextCycle(ctx context.Context, actor, reason string) error {
	_, err := c.sched.SkipNext(ctx, actor, reason)
	return err
}

// WithdrawCycleSkip implements web.CycleControl.
func (c *serveCycles) WithdrawCycleSkip(ctx context.Context, _ string) error {
	_, err := c.sched.WithdrawSkip(ctx)
	return err
}
