package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Scheduled cycles (package cycle; tables cycles, cycle_steps, cycle_skips
// and cycle_lock, migration 0010).
//
// A cycle runs the steps scan → match → policy → run → report. Its row
// says which step it is in and who runs it (Owner, with a heartbeat); each
// step's row records when it started and ended and its result, so a cycle
// whose process died is resumed at its step by the next BeginCycle once its
// heartbeat is older than CycleBegin.StaleAfter. At most one cycle runs at
// a time, across processes: BeginCycle locks the cycle_lock row, and a
// unique index on the running state backs it.

// CycleStore is the cycles' API; the Store of both backends implements it.
type CycleStore interface {
	// BeginCycle starts a cycle, or resumes the running one whose owner
	// has died (see CycleBegin). It returns the cycle and whether it was
	// resumed. ECONFLICT when another live cycle runs, or when a cycle
	// already took b.Slot. A scheduled cycle (b.Slot set) while a skip is
	// pending is recorded as skipped (state CycleSkipped, ended) and
	// consumes the skip: the caller runs nothing.
	BeginCycle(ctx context.Context, b CycleBegin) (Cycle, bool, error)
	// CycleHeartbeat records that owner still runs cycle id. ECONFLICT
	// when the cycle is no longer running or another owner took it over.
	CycleHeartbeat(ctx context.Context, id int64, owner string) error
	// StartCycleStep records that owner starts step of cycle id (again,
	// when it was started before: Attempts counts). ECONFLICT as for
	// CycleHeartbeat.
	StartCycleStep(ctx context.Context, id int64, owner, step string) error
	// EndCycleStep records the end of a step with its result (JSON) or
	// its error. ECONFLICT as for CycleHeartbeat.
	EndCycleStep(ctx context.Context, id int64, owner, step string, result json.RawMessage, errText string) error
	// FinishCycle ends cycle id in state (CycleDone or CycleFailed) with
	// its summary (JSON) and error text. ECONFLICT as for CycleHeartbeat.
	FinishCycle(ctx context.Context, id int64, owner string, state CycleState, summary json.RawMessage, errText string) error
	// ReleaseCycle leaves cycle id running but free to be resumed at
	// once by the next BeginCycle, of any owner (an interrupted cycle:
	// Ctrl-C, a stopping serve). ECONFLICT as for CycleHeartbeat.
	ReleaseCycle(ctx context.Context, id int64, owner string) error
	// MarkCycleNotified records that the cycle's summary was delivered.
	MarkCycleNotified(ctx context.Context, id int64) error
	// Cycle returns one cycle with its steps (ENOTFOUND if absent).
	Cycle(ctx context.Context, id int64) (Cycle, error)
	// Cycles returns the latest cycles, newest first, with their steps
	// (limit ≤ 0: 50).
	Cycles(ctx context.Context, limit int) ([]Cycle, error)
	// SkipNextCycle requests that the next scheduled cycle be skipped.
	// A pending request is returned as it is (one skip at a time).
	SkipNextCycle(ctx context.Context, actor, reason string) (CycleSkip, error)
	// PendingSkip returns the pending skip request; ENOTFOUND when none.
	PendingSkip(ctx context.Context) (CycleSkip, error)
	// WithdrawSkip withdraws the pending skip request (ENOTFOUND when none).
	WithdrawSkip(ctx context.Context) (CycleSkip, error)
}

var _ CycleStore = (*dbStore)(nil)

// CycleState is the state of a cycle.
type CycleState string

// The states of a cycle.
const (
	CycleRunning CycleState = "running"
	CycleDone    CycleState = "done"
	CycleFailed  CycleState = "failed"
	CycleSkipped CycleState = "skipped"
)

// Cycle is a row of cycles with its steps.
type Cycle struct {
	ID    int64      `json:"id"`
	State CycleState `json:"state"`
	// Trigger is what started it: "schedule", "cli" or "console".
	Trigger string `json:"trigger"`
	// Actor is who started it (the scheduler's name for a scheduled one).
	Actor string `json:"actor"`
	// Slot is the scheduled time of a scheduled cycle (zero otherwise).
	Slot time.Time `json:"slot,omitzero"`
	// Owner is the process that runs it (or ran it last).
	Owner string `json:"owner"`
	// Step is the step it is in, or ended in ("" before the first).
	Step string `json:"step"`
	// Resumes counts the takeovers of the cycle after its owner died.
	Resumes     int             `json:"resumes"`
	StartedAt   time.Time       `json:"startedAt"`
	HeartbeatAt time.Time       `json:"heartbeatAt"`
	EndedAt     time.Time       `json:"endedAt,omitzero"`
	Error       string          `json:"error,omitempty"`
	Summary     json.RawMessage `json:"summary,omitempty"`
	NotifiedAt  time.Time       `json:"notifiedAt,omitzero"`
	Steps       []CycleStep     `json:"steps"`
}

// StepDone reports whether step ended without error in c.
func (c Cycle) StepDone(step string) (CycleStep, bool) {
	for _, s := range c.Steps {
		if s.Name == step {
			return s, !s.EndedAt.IsZero() && s.Error == ""
		}
	}
	return CycleStep{}, false
}

// CycleStep is a row of cycle_steps.
type CycleStep struct {
	Name      string          `json:"name"`
	Attempts  int             `json:"attempts"`
	StartedAt time.Time       `json:"startedAt"`
	EndedAt   time.Time       `json:"endedAt,omitzero"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// CycleBegin describes a cycle to begin.
type CycleBegin struct {
	Trigger string // "schedule", "cli", "console"
	Actor   string
	Owner   string // the process that runs it (required)
	// Slot is the scheduled time of a scheduled cycle; zero otherwise.
	Slot time.Time
	// StaleAfter is how old the running cycle's heartbeat must be for its
	// owner to count as dead, and the cycle to be resumed by b.Owner.
	// Default 1 min.
	StaleAfter time.Duration
}

// CycleSkip is a row of cycle_skips.
type CycleSkip struct {
	ID          int64     `json:"id"`
	Actor       string    `json:"actor"`
	Reason      string    `json:"reason,omitempty"`
	RequestedAt time.Time `json:"requestedAt"`
	CycleID     int64     `json:"cycleId,omitempty"` // the cycle it skipped
}

// cycleColumns are the columns scanCycle reads.
const cycleColumns = "id, state, trigger_kind, actor, coalesce(slot, 0), owner, step, resumes, started_at, heartbeat_at, ended_at, error, summary, notified_at"

// BeginCycle implements CycleStore.
func (s *dbStore) BeginCycle(ctx context.Context, b CycleBegin) (Cycle, bool, error) {
	if strings.TrimSpace(b.Owner) == "" || strings.TrimSpace(b.Trigger) == "" {
		return Cycle{}, false, cm.Errorf(cm.EINVALID, "BeginCycle needs an owner and a trigger")
	}
	if b.StaleAfter <= 0 {
		b.StaleAfter = time.Minute
	}
	now := s.clock()
	var id int64
	resumed := false
	err := s.inTxRetry(ctx, "BeginCycle", func(t tx) error {
		id, resumed = 0, false
		var one int64
		if err := t.queryRow(ctx, "SELECT singleton FROM cycle_lock WHERE singleton = 1"+s.b.forUpdate()).Scan(&one); err != nil {
			return fmt.Errorf("cycle lock: %w", err)
		}
		run, err := scanCycle(t.queryRow(ctx, "SELECT "+cycleColumns+" FROM cycles WHERE state = 'running'"))
		switch {
		case errors.Is(err, errNoRows):
		case err != nil:
			return fmt.Errorf("running cycle: %w", err)
		case !run.HeartbeatAt.IsZero() && now.Sub(run.HeartbeatAt) < b.StaleAfter && run.Owner != b.Owner:
			return cm.Errorf(cm.ECONFLICT, "cycle %d is running (%s, owner %s, step %s, last heartbeat %s): one cycle runs at a time",
				run.ID, run.Trigger, run.Owner, orNone(run.Step), run.HeartbeatAt.Format(time.RFC3339))
		default: // its owner died (or is this process, restarted): resume it
			if _, err := t.exec(ctx, "UPDATE cycles SET owner = ?, heartbeat_at = ?, resumes = resumes + 1 WHERE id = ?",
				b.Owner, micros(now), run.ID); err != nil {
				return fmt.Errorf("resume cycle: %w", err)
			}
			id, resumed = run.ID, true
			return nil
		}
		var slot any
		if !b.Slot.IsZero() {
			slot = micros(b.Slot.UTC().Truncate(time.Microsecond))
			var n int64
			if err := t.queryRow(ctx, "SELECT count(*) FROM cycles WHERE slot = ?", slot).Scan(&n); err != nil {
				return fmt.Errorf("cycle slot: %w", err)
			}
			if n > 0 {
				return cm.Errorf(cm.ECONFLICT, "the cycle scheduled for %s already ran", b.Slot.UTC().Format(time.RFC3339))
			}
		}
		state, ended := CycleRunning, int64(0)
		var skip CycleSkip
		if !b.Slot.IsZero() {
			var err error
			if skip, err = pendingSkip(ctx, t); err == nil {
				state, ended = CycleSkipped, micros(now)
			} else if !cm.IsCode(err, cm.ENOTFOUND) {
				return err
			}
		}
		if err := t.queryRow(ctx, `INSERT INTO cycles (state, trigger_kind, actor, slot, owner, started_at, heartbeat_at, ended_at, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, string(state), b.Trigger, b.Actor, slot, b.Owner, micros(now), micros(now), ended,
			skipText(skip)).Scan(&id); err != nil {
			return fmt.Errorf("begin cycle: %w", err)
		}
		if skip.ID != 0 {
			if _, err := t.exec(ctx, "UPDATE cycle_skips SET cycle_id = ? WHERE id = ?", id, skip.ID); err != nil {
				return fmt.Errorf("consume skip: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return Cycle{}, false, err
	}
	c, err := s.Cycle(ctx, id)
	return c, resumed, err
}

// skipText is the error text of a skipped cycle.
func skipText(k CycleSkip) string {
	if k.ID == 0 {
		return ""
	}
	s := "skipped at the request of " + k.Actor + " (" + k.RequestedAt.Format(time.RFC3339) + ")"
	if k.Reason != "" {
		s += ": " + k.Reason
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}

// owned runs q (an UPDATE of cycle id by owner, with the cycle's id and
// owner as its last two arguments) and returns ECONFLICT when no row of a
// running cycle of owner matched.
func (s *dbStore) owned(ctx context.Context, t tx, id int64, owner, what, q string, args ...any) error {
	n, err := t.exec(ctx, q+" WHERE id = ? AND owner = ? AND state = 'running'", append(args, id, owner)...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		c, err := scanCycle(t.queryRow(ctx, "SELECT "+cycleColumns+" FROM cycles WHERE id = ?", id))
		if errors.Is(err, errNoRows) {
			return cm.Errorf(cm.ENOTFOUND, "%s: no cycle %d", what, id)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if c.State != CycleRunning {
			return cm.Errorf(cm.ECONFLICT, "%s: cycle %d is %s", what, id, c.State)
		}
		return cm.Errorf(cm.ECONFLICT, "%s: cycle %d was taken over by %s", what, id, c.Owner)
	}
	return nil
}

// CycleHeartbeat implements CycleStore.
func (s *dbStore) CycleHeartbeat(ctx context.Context, id int64, owner string) error {
	now := micros(s.clock())
	return s.inTxRetry(ctx, "CycleHeartbeat", func(t tx) error {
		return s.owned(ctx, t, id, owner, "cycle heartbeat", "UPDATE cycles SET heartbeat_at = ?", now)
	})
}

// StartCycleStep implements CycleStore.
func (s *dbStore) StartCycleStep(ctx context.Context, id int64, owner, step string) error {
	if step == "" {
		return cm.Errorf(cm.EINVALID, "StartCycleStep needs a step")
	}
	now := micros(s.clock())
	return s.inTxRetry(ctx, "StartCycleStep", func(t tx) error {
		if err := s.owned(ctx, t, id, owner, "start cycle step", "UPDATE cycles SET step = ?, heartbeat_at = ?", step, now); err != nil {
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO cycle_steps (cycle_id, step, attempts, started_at) VALUES (?, ?, 1, ?)
			ON CONFLICT (cycle_id, step) DO UPDATE SET attempts = cycle_steps.attempts + 1, started_at = excluded.started_at,
			ended_at = 0, result = '', error = ''`, id, step, now)
		if err != nil {
			return fmt.Errorf("start cycle step: %w", err)
		}
		return nil
	})
}

// EndCycleStep implements CycleStore.
func (s *dbStore) EndCycleStep(ctx context.Context, id int64, owner, step string, result json.RawMessage, errText string) error {
	now := micros(s.clock())
	return s.inTxRetry(ctx, "EndCycleStep", func(t tx) error {
		if err := s.owned(ctx, t, id, owner, "end cycle step", "UPDATE cycles SET heartbeat_at = ?", now); err != nil {
			return err
		}
		n, err := t.exec(ctx, "UPDATE cycle_steps SET ended_at = ?, result = ?, error = ? WHERE cycle_id = ? AND step = ?",
			now, string(result), errText, id, step)
		if err != nil {
			return fmt.Errorf("end cycle step: %w", err)
		}
		if n == 0 {
			return cm.Errorf(cm.EINVALID, "end cycle step: step %s of cycle %d was never started", step, id)
		}
		return nil
	})
}

// FinishCycle implements CycleStore.
func (s *dbStore) FinishCycle(ctx context.Context, id int64, owner string, state CycleState, summary json.RawMessage, errText string) error {
	if state != CycleDone && state != CycleFailed {
		return cm.Errorf(cm.EINVALID, "FinishCycle: a cycle ends done or failed, not %s", state)
	}
	now := micros(s.clock())
	return s.inTxRetry(ctx, "FinishCycle", func(t tx) error {
		return s.owned(ctx, t, id, owner, "finish cycle", "UPDATE cycles SET state = ?, ended_at = ?, heartbeat_at = ?, summary = ?, error = ?",
			string(state), now, now, string(summary), errText)
	})
}

// ReleaseCycle implements CycleStore: the heartbeat becomes the zero
// time, older than any StaleAfter.
func (s *dbStore) ReleaseCycle(ctx context.Context, id int64, owner string) error {
	return s.inTxRetry(ctx, "ReleaseCycle", func(t tx) error {
		return s.owned(ctx, t, id, owner, "release cycle", "UPDATE cycles SET heartbeat_at = 0")
	})
}

// MarkCycleNotified implements CycleStore.
func (s *dbStore) MarkCycleNotified(ctx context.Context, id int64) error {
	now := micros(s.clock())
	return s.inTxRetry(ctx, "MarkCycleNotified", func(t tx) error {
		n, err := t.exec(ctx, "UPDATE cycles SET notified_at = ? WHERE id = ?", now, id)
		if err != nil {
			return fmt.Errorf("mark cycle notified: %w", err)
		}
		if n == 0 {
			return cm.Errorf(cm.ENOTFOUND, "no cycle %d", id)
		}
		return nil
	})
}

// Cycle implements CycleStore.
func (s *dbStore) Cycle(ctx context.Context, id int64) (Cycle, error) {
	c, err := scanCycle(s.b.reader().queryRow(ctx, "SELECT "+cycleColumns+" FROM cycles WHERE id = ?", id))
	if errors.Is(err, errNoRows) {
		return Cycle{}, cm.Errorf(cm.ENOTFOUND, "no cycle %d", id)
	}
	if err != nil {
		return Cycle{}, fmt.Errorf("cycle %d: %w", id, err)
	}
	cs := []Cycle{c}
	if err := s.cycleSteps(ctx, cs); err != nil {
		return Cycle{}, err
	}
	return cs[0], nil
}

// Cycles implements CycleStore.
func (s *dbStore) Cycles(ctx context.Context, limit int) ([]Cycle, error) {
	if limit <= 0 {
		limit = 50
	}
	rs, err := s.b.reader().query(ctx, "SELECT "+cycleColumns+" FROM cycles ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("cycles: %w", err)
	}
	defer rs.Close()
	var out []Cycle
	for rs.Next() {
		c, err := scanCycle(rs)
		if err != nil {
			return nil, fmt.Errorf("cycles: %w", err)
		}
		out = append(out, c)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("cycles: %w", err)
	}
	return out, s.cycleSteps(ctx, out)
}

// cycleSteps fills the steps of cs, in the order they started.
func (s *dbStore) cycleSteps(ctx context.Context, cs []Cycle) error {
	if len(cs) == 0 {
		return nil
	}
	byID := map[int64]int{}
	args := make([]any, len(cs))
	for i, c := range cs {
		byID[c.ID] = i
		args[i] = c.ID
	}
	rs, err := s.b.reader().query(ctx, "SELECT cycle_id, step, attempts, started_at, ended_at, result, error FROM cycle_steps WHERE cycle_id IN ("+
		strings.TrimSuffix(strings.Repeat("?, ", len(cs)), ", ")+") ORDER BY cycle_id, started_at, step", args...)
	if err != nil {
		return fmt.Errorf("cycle steps: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id, started, ended int64
		var st CycleStep
		var result string
		if err := rs.Scan(&id, &st.Name, &st.Attempts, &started, &ended, &result, &st.Error); err != nil {
			return fmt.Errorf("cycle steps: %w", err)
		}
		st.StartedAt, st.EndedAt = fromMicros(started), fromMicros(ended)
		if result != "" {
			st.Result = json.RawMessage(result)
		}
		c := &cs[byID[id]]
		c.Steps = append(c.Steps, st)
	}
	return rs.Err()
}

// scanCycle reads the cycleColumns of one row.
func scanCycle(r interface{ Scan(...any) error }) (Cycle, error) {
	var c Cycle
	var state, summary string
	var slot, started, hb, ended, notified int64
	if err := r.Scan(&c.ID, &state, &c.Trigger, &c.Actor, &slot, &c.Owner, &c.Step, &c.Resumes, &started, &hb, &ended,
		&c.Error, &summary, &notified); err != nil {
		return Cycle{}, err
	}
	c.State = CycleState(state)
	c.Slot, c.StartedAt, c.HeartbeatAt = fromMicros(slot), fromMicros(started), fromMicros(hb)
	c.EndedAt, c.NotifiedAt = fromMicros(ended), fromMicros(notified)
	if summary != "" {
		c.Summary = json.RawMessage(summary)
	}
	c.Steps = []CycleStep{}
	return c, nil
}

// SkipNextCycle implements CycleStore.
func (s *dbStore) SkipNextCycle(ctx context.Context, actor, reason string) (CycleSkip, error) {
	if strings.TrimSpace(actor) == "" {
		return CycleSkip{}, cm.Errorf(cm.EINVALID, "a skip needs an actor")
	}
	now := s.clock()
	var out CycleSkip
	err := s.inTxRetry(ctx, "SkipNextCycle", func(t tx) error {
		var err error
		if out, err = pendingSkip(ctx, t); err == nil || !cm.IsCode(err, cm.ENOTFOUND) {
			return err
		}
		out = CycleSkip{Actor: actor, Reason: reason, RequestedAt: now}
		if err := t.queryRow(ctx, "INSERT INTO cycle_skips (actor, reason, requested_at) VALUES (?, ?, ?) RETURNING id",
			actor, reason, micros(now)).Scan(&out.ID); err != nil {
			return fmt.Errorf("skip next cycle: %w", err)
		}
		return nil
	})
	return out, err
}

// PendingSkip implements CycleStore.
func (s *dbStore) PendingSkip(ctx context.Context) (CycleSkip, error) {
	return pendingSkip(ctx, s.b.reader())
}

func pendingSkip(ctx context.Context, q querier) (CycleSkip, error) {
	var k CycleSkip
	var at int64
	err := q.queryRow(ctx, `SELECT id, actor, reason, requested_at FROM cycle_skips
		WHERE cycle_id IS NULL AND withdrawn_at = 0 ORDER BY id LIMIT 1`).Scan(&k.ID, &k.Actor, &k.Reason, &at)
	switch {
	case errors.Is(err, errNoRows):
		return CycleSkip{}, cm.Errorf(cm.ENOTFOUND, "no skip is pending")
	case err != nil:
		return CycleSkip{}, fmt.Errorf("pending skip: %w", err)
	}
	k.RequestedAt = fromMicros(at)
	return k, nil
}

// WithdrawSkip implements CycleStore.
func (s *dbStore) WithdrawSkip(ctx context.Context) (CycleSkip, error) {
	now := micros(s.clock())
	var out CycleSkip
	err := s.inTxRetry(ctx, "WithdrawSkip", func(t tx) error {
		var err error
		if out, err = pendingSkip(ctx, t); err != nil {
			return err
		}
		_, err = t.exec(ctx, "UPDATE cycle_skips SET withdrawn_at = ? WHERE id = ?", now, out.ID)
		return err
	})
	return out, err
}
