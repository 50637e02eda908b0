package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/contactmerge/contactmerge/store"
)

// The takeover of a dead process's work. A killed run leaves River jobs
// running and member leases unexpired; River's rescuer would make the jobs
// runnable only after RescueAfter (minutes), the leases expire after
// LeaseTTL. Exactly-once does not rest on either (the intent is committed
// before a request and verified after, leases carry fencing tokens), so a
// live engine takes them over as soon as it knows their owner is dead:
//
//   - on SQLite, Run holds the store's local lock (store LockLocal) while it
//     runs; a run that finds it free is the only process alive, and takes
//     over every running job and every lease at once, before it starts its
//     workers;
//   - on both databases, Run writes a heartbeat every HeartbeatEvery; a
//     worker silent for DeadAfter is dead, and the next heartbeat of any
//     live engine takes its jobs and leases over.
//
// While jobs are held by a worker that still looks alive, Progress.Waiting
// says by whom and until when.

// Heartbeat timing: every engine heartbeats every HeartbeatEvery; a worker
// whose last heartbeat is older than DeadAfter is taken over (so within
// DeadAfter + HeartbeatEvery of its death).
const (
	HeartbeatEvery = 2 * time.Second
	DeadAfter      = 10 * time.Second
)

// takeoverStore is what the store offers for heartbeats and takeover
// (store.Store on both backends).
type takeoverStore interface {
	Heartbeat(ctx context.Context, w store.Worker) error
	RemoveWorker(ctx context.Context, id string) error
	Workers(ctx context.Context) ([]store.Worker, error)
	RunningJobs(ctx context.Context) (map[string]int, error)
	TakeOver(ctx context.Context, self, selfLeaseOwner string, dead []store.Worker, all bool) (store.Takeover, error)
	LockLocal(whileAlone func() error) (release func(), alone bool, err error)
}

// takeover is the heartbeat of one Run.
type takeover struct {
	e    *Engine
	st   takeoverStore
	self store.Worker

	mu      sync.Mutex
	waiting string

	release func()
	cancel  context.CancelFunc
	done    chan struct{}
}

// startTakeover takes the local lock (taking over everything at once when
// no other process holds it), writes the first heartbeat, takes over the
// work of workers already silent, and keeps heartbeating until stop. It
// returns nil (nothing to stop) when the store offers no heartbeat or the
// worker has no id: its id is its River client id (RiverConfig's, else the
// job client's own).
func (e *Engine) startTakeover(ctx context.Context, r Runner) (*takeover, error) {
	st, ok := e.store.(takeoverStore)
	id := e.workerID
	if idr, ok := r.(interface{ ID() string }); ok && id == "" {
		id = idr.ID()
	}
	if !ok || id == "" {
		return nil, nil
	}
	t := &takeover{e: e, st: st, self: store.Worker{ID: id, LeaseOwner: e.cfg.Owner}, done: make(chan struct{})}
	release, alone, err := st.LockLocal(func() error {
		res, err := st.TakeOver(ctx, t.self.ID, t.self.LeaseOwner, nil, true)
		if err != nil {
			return err
		}
		if res.Jobs > 0 || res.Leases > 0 {
			e.log.Warn("took over the work of stopped runs at once (no other process holds the store's lock)",
				"jobs", res.Jobs, "leases", res.Leases, "workers", strings.Join(res.Workers, ","))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("takeover: %w", err)
	}
	t.release = release
	if err := st.Heartbeat(ctx, t.self); err != nil {
		release()
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	if !alone {
		t.pass(ctx)
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t.cancel = cancel
	go t.loop(hctx)
	return t, nil
}

func (t *takeover) loop(ctx context.Context) {
	defer close(t.done)
	tick := time.NewTicker(HeartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := t.st.Heartbeat(ctx, t.self); err != nil {
			if ctx.Err() == nil {
				t.e.log.Warn("heartbeat", "err", err)
			}
			continue
		}
		t.pass(ctx)
	}
}

// pass takes over the workers silent for DeadAfter, and describes what the
// run still waits for: running jobs of workers that look alive, or of
// workers that send no heartbeat (River rescues those after RescueAfter).
func (t *takeover) pass(ctx context.Context) {
	ws, err := t.st.Workers(ctx)
	if err != nil {
		t.warn(ctx, "workers", err)
		return
	}
	// Staleness is judged against the newest heartbeat (this worker's,
	// just written), so that the store's clock is the only one involved.
	var newest time.Time
	for _, w := range ws {
		if w.ID == t.self.ID {
			newest = w.HeartbeatAt
		}
	}
	var dead []store.Worker
	alive := map[string]store.Worker{}
	for _, w := range ws {
		switch {
		case w.ID == t.self.ID:
		case newest.Sub(w.HeartbeatAt) > DeadAfter:
			dead = append(dead, w)
		default:
			alive[w.ID] = w
		}
	}
	if len(dead) > 0 {
		res, err := t.st.TakeOver(ctx, t.self.ID, t.self.LeaseOwner, dead, false)
		if err != nil {
			t.warn(ctx, "takeover", err)
			return
		}
		t.e.log.Warn("took over the work of silent workers", "workers", strings.Join(res.Workers, ","),
			"silent_for", DeadAfter, "jobs", res.Jobs, "leases", res.Leases)
	}
	running, err := t.st.RunningJobs(ctx)
	if err != nil {
		t.warn(ctx, "running jobs", err)
		return
	}
	var waits []string
	for _, id := range slices.Sorted(maps.Keys(running)) {
		n := running[id]
		if id == t.self.ID || n == 0 {
			continue
		}
		jobs := fmt.Sprintf("%d jobs", n)
		if n == 1 {
			jobs = "1 job"
		}
		if w, ok := alive[id]; ok {
			waits = append(waits, fmt.Sprintf("%s held by worker %s (last heartbeat %s): taken over at %s if it stays silent",
				jobs, id, clock(w.HeartbeatAt), clock(w.HeartbeatAt.Add(DeadAfter))))
			continue
		}
		waits = append(waits, fmt.Sprintf("%s held by %s, which sends no heartbeat: River rescues them %s after they started",
			jobs, cmpOr(id, "an unknown worker"), t.e.cfg.RescueAfter))
	}
	t.mu.Lock()
	t.waiting = strings.Join(waits, "; ")
	t.mu.Unlock()
}

func (t *takeover) warn(ctx context.Context, what string, err error) {
	if ctx.Err() == nil {
		t.e.log.Warn(what, "err", err)
	}
}

// Waiting describes the jobs of other workers the run waits for ("" when
// none).
func (t *takeover) Waiting() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waiting
}

// stop ends the heartbeat, deletes the worker's row and releases the local
// lock.
func (t *takeover) stop(ctx context.Context) {
	if t == nil {
		return
	}
	t.cancel()
	<-t.done
	if err := t.st.RemoveWorker(context.WithoutCancel(ctx), t.self.ID); err != nil {
		t.e.log.Warn("remove worker", "err", err)
	}
	t.release()
}

func clock(t time.Time) string { return t.Local().Format("15:04:05") }

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
