package storetest

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

// cycleStore returns e's store as a store.CycleStore.
func cycleStore(t *testing.T, s store.Store) store.CycleStore {
	t.Helper()
	cs, ok := s.(store.CycleStore)
	if !ok {
		t.Fatalf("%T is not a store.CycleStore", s)
	}
	return cs
}

// testCycles: a cycle's steps are recorded in order with their results;
// only its owner writes them; one cycle runs at a time; a cycle whose
// owner stopped beating is resumed by the next BeginCycle at its step;
// the list is newest first.
func testCycles(t *testing.T, h Harness) {
	e := newEnv(t, h)
	cs := cycleStore(t, e.s)
	wantCode(t, func() error { _, _, err := cs.BeginCycle(ctx(), store.CycleBegin{Trigger: "cli"}); return err }(), cm.EINVALID)
	c, resumed, err := cs.BeginCycle(ctx(), store.CycleBegin{Trigger: "cli", Actor: "ann", Owner: "p1", StaleAfter: 10 * time.Second})
	must(t, err)
	if resumed || c.State != store.CycleRunning || c.ID == 0 || c.Actor != "ann" || !c.StartedAt.Equal(t0()) || len(c.Steps) != 0 {
		t.Fatalf("begin = %+v, resumed %v", c, resumed)
	}
	// A second cycle while the first is alive: refused, naming it.
	_, _, err = cs.BeginCycle(ctx(), store.CycleBegin{Trigger: "console", Actor: "bob", Owner: "p2", StaleAfter: 10 * time.Second})
	wantCode(t, err, cm.ECONFLICT)
	if !strings.Contains(err.Error(), "is running") || !strings.Contains(err.Error(), "p1") {
		t.Fatalf("conflict error %q does not name the running cycle's owner", err)
	}
	must(t, cs.StartCycleStep(ctx(), c.ID, "p1", "scan"))
	e.clock.Advance(time.Second)
	must(t, cs.EndCycleStep(ctx(), c.ID, "p1", "scan", json.RawMessage(`{"contacts":3}`), ""))
	must(t, cs.StartCycleStep(ctx(), c.ID, "p1", "match"))
	wantCode(t, cs.StartCycleStep(ctx(), c.ID, "p2", "match"), cm.ECONFLICT)
	wantCode(t, cs.EndCycleStep(ctx(), c.ID, "p1", "policy", nil, ""), cm.EINVALID)

	// p1 dies in match: after StaleAfter, p2 resumes the same cycle.
	e.clock.Advance(11 * time.Second)
	r, resumed, err := cs.BeginCycle(ctx(), store.CycleBegin{Trigger: "console", Actor: "bob", Owner: "p2", StaleAfter: 10 * time.Second})
	must(t, err)
	if !resumed || r.ID != c.ID || r.Owner != "p2" || r.Resumes != 1 || r.Step != "match" || r.Actor != "ann" {
		t.Fatalf("resumed = %+v, %v", r, resumed)
	}
	if st, ok := r.StepDone("scan"); !ok || string(st.Result) != `{"contacts":3}` {
		t.Fatalf("scan step %+v, done %v", st, ok)
	}
	if _, ok := r.StepDone("match"); ok {
		t.Fatal("an interrupted step counts as done")
	}
	wantCode(t, cs.CycleHeartbeat(ctx(), c.ID, "p1"), cm.ECONFLICT) // the dead owner lost it
	must(t, cs.StartCycleStep(ctx(), c.ID, "p2", "match"))
	must(t, cs.EndCycleStep(ctx(), c.ID, "p2", "match", json.RawMessage(`{"groups":1}`), ""))
	wantCode(t, cs.FinishCycle(ctx(), c.ID, "p2", store.CycleRunning, nil, ""), cm.EINVALID)
	must(t, cs.FinishCycle(ctx(), c.ID, "p2", store.CycleDone, json.RawMessage(`{"merged":1}`), ""))
	wantCode(t, cs.CycleHeartbeat(ctx(), c.ID, "p2"), cm.ECONFLICT) // ended
	must(t, cs.MarkCycleNotified(ctx(), c.ID))

	got, err := cs.Cycle(ctx(), c.ID)
	must(t, err)
	if got.State != store.CycleDone || string(got.Summary) != `{"merged":1}` || got.NotifiedAt.IsZero() || len(got.Steps) != 2 ||
		got.Steps[0].Name != "scan" || got.Steps[1].Name != "match" || got.Steps[1].Attempts != 2 || got.EndedAt.IsZero() {
		t.Fatalf("finished cycle = %+v", got)
	}
	_, err = cs.Cycle(ctx(), 999)
	wantCode(t, err, cm.ENOTFOUND)

	// The next one may start now; the list is newest first. Released
	// (interrupted), it is resumed at once by another owner.
	c2, _, err := cs.BeginCycle(ctx(), store.CycleBegin{Trigger: "console", Actor: "bob", Owner: "p1"})
	must(t, err)
	wantCode(t, cs.ReleaseCycle(ctx(), c2.ID, "p2"), cm.ECONFLICT)
	must(t, cs.ReleaseCycle(ctx(), c2.ID, "p1"))
	if r, resumed, err := cs.BeginCycle(ctx(), store.CycleBegin{Trigger: "cli", Actor: "ann", Owner: "p2"}); err != nil || !resumed || r.ID != c2.ID {
		t.Fatalf("after a release: %+v, %v, %v", r, resumed, err)
	}
	must(t, cs.FinishCycle(ctx(), c2.ID, "p2", store.CycleFailed, nil, "scan: the platform did not answer"))
	list, err := cs.Cycles(ctx(), 0)
	must(t, err)
	if len(list) != 2 || list[0].ID != c2.ID || list[0].State != store.CycleFailed || list[0].Error == "" || len(list[1].Steps) != 2 {
		t.Fatalf("Cycles = %+v", list)
	}
}

// testCycleSlotsAndSkips: a scheduled slot runs once; a pending skip
// turns the next scheduled cycle (not a manual one) into a skipped one and
// is consumed by it; a skip can be withdrawn.
func testCycleSlotsAndSkips(t *testing.T, h Harness) {
	e := newEnv(t, h)
	cs := cycleStore(t, e.s)
	slot := t0().Add(time.Hour)
	_, err := cs.PendingSkip(ctx())
	wantCode(t, err, cm.ENOTFOUND)
	k, err := cs.SkipNextCycle(ctx(), "ann", "quarter close")
	must(t, err)
	again, err := cs.SkipNextCycle(ctx(), "bob", "")
	must(t, err)
	if again.ID != k.ID || again.Actor != "ann" {
		t.Fatalf("a second skip request = %+v, want the pending one %+v", again, k)
	}
	// A manual cycle does not consume it.
	m, _, err := cs.BeginCycle(ctx(), store.CycleBegin{Trigger: "cli", Actor: "ann", Owner: "p1"})
	must(t, err)
	must(t, cs.FinishCycle(ctx(), m.ID, "p1", store.CycleDone, nil, ""))
	s, _, err := cs.BeginCycle(ctx(), store.CycleBegin{Trigger: "schedule", Actor: "scheduler", Owner: "p1", Slot: slot})
	must(t, err)
	if s.State != store.CycleSkipped || !strings.Contains(s.Error, "ann") || !strings.Contains(s.Error, "quarter close") || !s.Slot.Equal(slot) {
		t.Fatalf("scheduled cycle with a skip pending = %+v", s)
	}
	_, err = cs.PendingSkip(ctx())
	wantCode(t, err, cm.ENOTFOUND)
	// The same slot again (another process's scheduler): refused.
	_, _, err = cs.BeginCycle(ctx(), store.CycleBegin{Trigger: "schedule", Actor: "scheduler", Owner: "p2", Slot: slot})
	wantCode(t, err, cm.ECONFLICT)
	// Next slot runs; a withdrawn skip skips nothing.
	_, err = cs.SkipNextCycle(ctx(), "ann", "")
	must(t, err)
	w, err := cs.WithdrawSkip(ctx())
	must(t, err)
	if w.Actor != "ann" {
		t.Fatalf("withdrawn = %+v", w)
	}
	_, err = cs.WithdrawSkip(ctx())
	wantCode(t, err, cm.ENOTFOUND)
	n, _, err := cs.BeginCycle(ctx(), store.CycleBegin{Trigger: "schedule", Actor: "scheduler", Owner: "p1", Slot: slot.Add(time.Hour)})
	must(t, err)
	if n.State != store.CycleRunning {
		t.Fatalf("next slot = %+v", n)
	}
}

// testConcurrentCycles: processes beginning a cycle at once on the same
// database: exactly one runs it.
func testConcurrentCycles(t *testing.T, h Harness) {
	e := newEnv(t, h)
	other := open(t, h, e.dsn, e.clock)
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i, s := range []store.Store{e.s, other, e.s, other} {
		wg.Go(func() {
			_, _, err := cycleStore(t, s).BeginCycle(ctx(), store.CycleBegin{Trigger: "cli", Actor: "x", Owner: string(rune('a' + i))})
			switch {
			case err == nil:
				wins.Add(1)
			case cm.IsCode(err, cm.ECONFLICT):
				conflicts.Add(1)
			default:
				t.Errorf("begin: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 3 {
		t.Fatalf("%d cycles began, %d conflicts; want one", wins.Load(), conflicts.Load())
	}
}
