package cycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

// MinEvery is the shortest --every: River's advice for periodic jobs
// (river.PeriodicSchedule: "at least 1 minute").
const MinEvery = time.Minute

// Schedule is when scheduled cycles start: a river.PeriodicSchedule (Next
// returns the first start after a time) with its description.
type Schedule struct {
	river.PeriodicSchedule
	// Text describes it: "every 24h0m0s" or "cron 0 3 * * *".
	Text string
}

// Every returns the schedule of --every d: the multiples of d since the
// Unix epoch (every 24h: midnight UTC), so that every process with the
// same flag computes the same slots and each slot runs once.
func Every(d time.Duration) (Schedule, error) {
	if d < MinEvery {
		return Schedule{}, cm.Errorf(cm.EINVALID, "--every %s: cycles are at least %s apart", d, MinEvery)
	}
	return Schedule{PeriodicSchedule: aligned(d), Text: "every " + d.String()}, nil
}

// aligned is Every's schedule.
type aligned time.Duration

// Next implements river.PeriodicSchedule.
func (a aligned) Next(t time.Time) time.Time {
	d := time.Duration(a)
	return t.UTC().Truncate(d).Add(d)
}

// Cron returns the schedule of --cron expr: a standard five-field cron
// expression (minute hour day-of-month month day-of-week, or a descriptor
// such as @daily; CRON_TZ=Zone prefixes a time zone), parsed by
// github.com/robfig/cron/v3, whose Schedule is a river.PeriodicSchedule (River has no
// cron parser of its own: its cron example uses this package). EINVALID
// naming the flag and the problem.
func Cron(expr string) (Schedule, error) {
	if strings.TrimSpace(expr) == "" {
		return Schedule{}, cm.Errorf(cm.EINVALID, "--cron: empty expression (five fields: minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\")")
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return Schedule{}, cm.Errorf(cm.EINVALID, "--cron %q: %v (five fields: minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\")", expr, err)
	}
	return Schedule{PeriodicSchedule: s, Text: "cron " + expr}, nil
}

// ParseSchedule returns the schedule of the --every and --cron flags (at
// most one may be set; zero and "": no schedule, ok false).
func ParseSchedule(every time.Duration, cronExpr string) (s Schedule, ok bool, err error) {
	switch {
	case every != 0 && cronExpr != "":
		return Schedule{}, false, cm.Errorf(cm.EINVALID, "--every and --cron are exclusive: give one schedule")
	case every != 0:
		s, err = Every(every)
	case cronExpr != "":
		s, err = Cron(cronExpr)
	default:
		return Schedule{}, false, nil
	}
	return s, err == nil, err
}

// Scheduler runs a Runner's cycles on a schedule, one at a time, and the
// cycles asked for now (RunNow: the console). It resumes at start a cycle
// a dead process left running.
type Scheduler struct {
	run   *Runner
	sched Schedule
	log   *slog.Logger

	now  chan Trigger
	mu   sync.Mutex
	next time.Time
	busy bool
	last *Summary
	err  error
}

// NewScheduler returns a scheduler of r on s.
func NewScheduler(r *Runner, s Schedule) *Scheduler {
	return &Scheduler{run: r, sched: s, log: r.log, now: make(chan Trigger, 1)}
}

// Status is what the console shows of a scheduler.
type Status struct {
	Schedule string
	Next     time.Time
	Running  bool
	// Skip is the pending request to skip the next scheduled cycle.
	Skip *store.CycleSkip
	// LastErr is why the last cycle of this process failed ("" if not).
	LastErr string
}

// Status returns the scheduler's status.
func (s *Scheduler) Status(ctx context.Context) (Status, error) {
	s.mu.Lock()
	st := Status{Schedule: s.sched.Text, Next: s.next, Running: s.busy}
	if s.err != nil {
		st.LastErr = s.err.Error()
	}
	s.mu.Unlock()
	k, err := s.run.cfg.Store.PendingSkip(ctx)
	switch {
	case err == nil:
		st.Skip = &k
	case !cm.IsCode(err, cm.ENOTFOUND):
		return st, err
	}
	return st, nil
}

// RunNow asks for a cycle now, by actor. ECONFLICT when one is running in
// this process or already asked for; another process's running cycle makes
// the asked one fail with ECONFLICT (recorded in the log and Status).
func (s *Scheduler) RunNow(actor, kind string) error {
	s.mu.Lock()
	busy := s.busy
	s.mu.Unlock()
	if busy {
		return cm.Errorf(cm.ECONFLICT, "a cycle is running: one cycle runs at a time")
	}
	select {
	case s.now <- Trigger{Kind: kind, Actor: actor}:
		return nil
	default:
		return cm.Errorf(cm.ECONFLICT, "a cycle was already asked for and starts in a moment")
	}
}

// SkipNext records that the next scheduled cycle is skipped (in every
// process scheduling cycles on this store).
func (s *Scheduler) SkipNext(ctx context.Context, actor, reason string) (store.CycleSkip, error) {
	return s.run.cfg.Store.SkipNextCycle(ctx, actor, reason)
}

// WithdrawSkip withdraws the pending skip.
func (s *Scheduler) WithdrawSkip(ctx context.Context) (store.CycleSkip, error) {
	return s.run.cfg.Store.WithdrawSkip(ctx)
}

// Run schedules cycles until ctx ends; a cycle in progress then is
// released, to be resumed at its step at the next start.
func (s *Scheduler) Run(ctx context.Context) {
	if list, err := s.run.cfg.Store.Cycles(ctx, 1); err == nil && len(list) == 1 && list[0].State == store.CycleRunning {
		c := list[0]
		// Its owner may have died a moment ago: wait until its heartbeat
		// is stale (a released cycle's is at once).
		wait := time.Duration(0)
		if !c.HeartbeatAt.IsZero() {
			wait = s.run.cfg.StaleAfter - s.run.now().Sub(c.HeartbeatAt)
		}
		s.log.Warn("cycle: a cycle was left running; resuming it", "cycle", c.ID, "step", c.Step, "in", max(wait, 0).String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
		s.one(ctx, Trigger{Kind: c.Trigger, Actor: c.Actor})
	}
	for ctx.Err() == nil {
		next := s.sched.Next(s.run.now())
		s.mu.Lock()
		s.next = next
		s.mu.Unlock()
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
			s.one(ctx, Trigger{Kind: TriggerSchedule, Actor: "scheduler (" + s.sched.Text + ")", Slot: next})
		case t := <-s.now:
			timer.Stop()
			s.one(ctx, t)
		}
	}
}

// one runs a cycle.
func (s *Scheduler) one(ctx context.Context, t Trigger) {
	s.mu.Lock()
	s.busy = true
	s.mu.Unlock()
	sum, err := s.run.Run(ctx, t)
	s.mu.Lock()
	s.busy, s.err = false, err
	if err == nil {
		s.last = &sum
	}
	s.mu.Unlock()
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
	case cm.IsCode(err, cm.ECONFLICT):
		s.log.Warn("cycle: not started", "err", err)
	default:
		s.log.Error("cycle", "err", fmt.Sprint(err))
	}
}
