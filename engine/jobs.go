package engine

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

// Jobs is the part of a River client the engine enqueues with; both the
// SQLite and the PostgreSQL clients of store.JobClient satisfy it.
type Jobs interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// Queue names. Per-group jobs are unique while live
// (store.GroupUniqueOpts): a group is never enqueued twice at once, yet can
// be enqueued again after its job finished (a quarantined group comes back).
const (
	QueueMerge     = "merge"
	QueuePreflight = "preflight"
	QueueRetry     = "retry"
)

// jobMaxAttempts is the River attempts of every engine job (merge job
// failures are transient; permanent ones end in a group state instead).
const jobMaxAttempts = 20

// groupJobOpts are the insert options of the engine's per-group jobs.
func groupJobOpts(queue string) river.InsertOpts {
	return river.InsertOpts{Queue: queue, MaxAttempts: jobMaxAttempts, UniqueOpts: store.GroupUniqueOpts()}
}

// MergeArgs is the merge job of one group. It carries the id only.
type MergeArgs struct {
	GroupID string `json:"group_id"`
}

// Kind implements river.JobArgs.
func (MergeArgs) Kind() string { return "contactmerge.merge" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (MergeArgs) InsertOpts() river.InsertOpts {
	return groupJobOpts(QueueMerge)
}

// PreflightArgs is the preflight job of a batch of approved groups.
type PreflightArgs struct {
	GroupIDs []string `json:"group_ids"`
}

// Kind implements river.JobArgs.
func (PreflightArgs) Kind() string { return "contactmerge.preflight" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (PreflightArgs) InsertOpts() river.InsertOpts {
	return groupJobOpts(QueuePreflight)
}

// RetryArgs brings a quarantined group back to approved at its retry time.
type RetryArgs struct {
	GroupID string `json:"group_id"`
}

// Kind implements river.JobArgs.
func (RetryArgs) Kind() string { return "contactmerge.quarantine_retry" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (RetryArgs) InsertOpts() river.InsertOpts {
	return groupJobOpts(QueueRetry)
}

// Workers returns the engine's River workers, to be passed in river.Config
// (RiverConfig does).
func (e *Engine) Workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, &mergeWorker{e: e})
	river.AddWorker(w, &preflightWorker{e: e})
	river.AddWorker(w, &retryWorker{e: e})
	return w
}

// Queues returns the queue configuration the engine's workers need
// (RiverConfig sets it).
func (e *Engine) Queues() map[string]river.QueueConfig {
	return map[string]river.QueueConfig{
		QueueMerge:     {MaxWorkers: max(e.aimd.max, 1)},
		QueuePreflight: {MaxWorkers: 2},
		QueueRetry:     {MaxWorkers: 2},
	}
}

// Default polling of the job client RiverConfig returns: short, since a
// run waits on its jobs.
const (
	defaultFetchCooldown     = 20 * time.Millisecond
	defaultFetchPollInterval = 100 * time.Millisecond
)

// RiverConfig returns base completed with what the engine's jobs need:
// an ID naming the engine's owner when base has none (the worker's id in
// heartbeats, takeover.go), Workers and Queues, JobTimeout (Config.JobTimeout) and
// RescueStuckJobsAfter (Config.RescueAfter), a worker middleware timing
// every job (Metrics: job_duration_seconds, job_wait_seconds) after base's
// own, and FetchCooldown and FetchPollInterval (defaultFetchCooldown,
// defaultFetchPollInterval) when base leaves them zero. Everything else of
// base (Logger, retention, …) is kept. Build the job client from it
// (store.Store.NewJobClient); Run attaches it.
func (e *Engine) RiverConfig(base river.Config) *river.Config {
	c := base
	c.Workers = e.Workers()
	c.Queues = e.Queues()
	c.Middleware = append(slices.Clip(base.Middleware), &jobMetrics{m: e.met})
	if c.ID == "" {
		// The worker's id in heartbeats and River's attempted_by
		// (takeover.go): readable, and unique per client.
		c.ID = riverClientID(e.cfg.Owner, time.Now())
	}
	e.workerID = c.ID
	c.JobTimeout = e.cfg.JobTimeout
	c.RescueStuckJobsAfter = e.cfg.RescueAfter
	if c.FetchCooldown == 0 {
		c.FetchCooldown = defaultFetchCooldown
	}
	if c.FetchPollInterval == 0 {
		c.FetchPollInterval = defaultFetchPollInterval
	}
	return &c
}

// riverClientID is a River client id naming owner (at most 100
// characters, as River requires), unique per client by its start time.
func riverClientID(owner string, now time.Time) string {
	if len(owner) > 60 {
		owner = owner[:60]
	}
	return owner + "_" + now.UTC().Format("20060102T150405.000000000")
}

// Attach gives the engine the job client it enqueues follow-up jobs with.
// Call it after the River client is built, before starting it.
func (e *Engine) Attach(j Jobs) { e.jobs = j }

// nextRetry is the retry time of a failed job: exponential from 1 s,
// capped at 30 s (River's default grows as attempt⁴ seconds, which leaves a
// group idle for hours after a few transient errors).
func (e *Engine) nextRetry(attempt int) time.Time {
	d := time.Second << min(max(attempt-1, 0), 5)
	return e.cfg.Now().Add(min(d, 30*time.Second))
}

type mergeWorker struct {
	river.WorkerDefaults[MergeArgs]
	e *Engine
}

func (w *mergeWorker) Work(ctx context.Context, job *river.Job[MergeArgs]) error {
	out, err := w.e.Execute(ctx, job.Args.GroupID)
	if err != nil {
		return err
	}
	if err := w.e.follow(ctx, out.Enqueue); err != nil {
		return err
	}
	if out.RetryIn > 0 {
		return river.JobSnooze(out.RetryIn)
	}
	return nil
}

// NextRetry implements river.Worker.
func (w *mergeWorker) NextRetry(job *river.Job[MergeArgs]) time.Time {
	return w.e.nextRetry(job.Attempt)
}

// Timeout implements river.Worker (Config.JobTimeout).
func (w *mergeWorker) Timeout(*river.Job[MergeArgs]) time.Duration { return w.e.cfg.JobTimeout }

type preflightWorker struct {
	river.WorkerDefaults[PreflightArgs]
	e *Engine
}

func (w *preflightWorker) Work(ctx context.Context, job *river.Job[PreflightArgs]) error {
	res, err := w.e.Preflight(ctx, job.Args.GroupIDs)
	if err != nil {
		return err
	}
	return w.e.enqueueMerges(ctx, res.Ready)
}

// NextRetry implements river.Worker.
func (w *preflightWorker) NextRetry(job *river.Job[PreflightArgs]) time.Time {
	return w.e.nextRetry(job.Attempt)
}

// Timeout implements river.Worker (Config.JobTimeout).
func (w *preflightWorker) Timeout(*river.Job[PreflightArgs]) time.Duration { return w.e.cfg.JobTimeout }

type retryWorker struct {
	river.WorkerDefaults[RetryArgs]
	e *Engine
}

// NextRetry implements river.Worker.
func (w *retryWorker) NextRetry(job *river.Job[RetryArgs]) time.Time {
	return w.e.nextRetry(job.Attempt)
}

func (w *retryWorker) Work(ctx context.Context, job *river.Job[RetryArgs]) error {
	g, err := w.e.store.Group(ctx, job.Args.GroupID)
	if cm.IsCode(err, cm.ENOTFOUND) {
		return nil
	}
	if err != nil {
		return err
	}
	if g.State != cm.StateQuarantined {
		return nil
	}
	if wait := g.RetryAt.Sub(w.e.cfg.Now()); wait > 0 {
		return river.JobSnooze(wait)
	}
	return w.e.releaseQuarantined(ctx, []string{g.ID})
}

// releaseQuarantined moves due quarantined groups back to approved and
// enqueues their preflight.
func (e *Engine) releaseQuarantined(ctx context.Context, ids []string) error {
	var back []string
	for _, id := range ids {
		_, err := e.transition(ctx, cm.Transition{GroupID: id, From: []cm.GroupState{cm.StateQuarantined}, To: cm.StateApproved,
			Detail: "retry time reached"})
		if cm.IsCode(err, cm.ECONFLICT) {
			continue
		}
		if err != nil {
			return err
		}
		back = append(back, id)
	}
	return e.enqueuePreflight(ctx, back)
}

// follow enqueues whatever the groups in ids need next, by their state.
func (e *Engine) follow(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	groups, err := e.store.Groups(ctx, cm.GroupFilter{IDs: ids})
	if err != nil {
		return err
	}
	var pre, merge []string
	for _, g := range groups {
		switch g.State {
		case cm.StateApproved:
			pre = append(pre, g.ID)
		case cm.StateReady, cm.StateInFlight, cm.StateUnknown:
			merge = append(merge, g.ID)
		}
	}
	if err := e.enqueuePreflight(ctx, pre); err != nil {
		return err
	}
	return e.enqueueMerges(ctx, merge)
}

func (e *Engine) enqueueMerges(ctx context.Context, ids []string) error {
	if len(ids) == 0 || e.jobs == nil {
		return nil
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: MergeArgs{GroupID: id}}
	}
	return e.insertMany(ctx, "enqueue merges", params)
}

func (e *Engine) enqueuePreflight(ctx context.Context, ids []string) error {
	if len(ids) == 0 || e.jobs == nil {
		return nil
	}
	var params []river.InsertManyParams
	for start := 0; start < len(ids); start += e.cfg.PreflightBatch {
		batch := ids[start:min(start+e.cfg.PreflightBatch, len(ids))]
		params = append(params, river.InsertManyParams{Args: PreflightArgs{GroupIDs: batch}})
	}
	return e.insertMany(ctx, "enqueue preflight", params)
}

// insertMany inserts the jobs of params in one statement, run again when
// PostgreSQL aborts it as a deadlock victim (store.RetryAborted): an insert
// of unique jobs locks the rows of the live ones it finds in params' order,
// while River's completer locks rows in its batch's order, and the two
// deadlock now and then when several workers share the database. Failing
// would fail Run's reconcile, which stops the worker.
func (e *Engine) insertMany(ctx context.Context, what string, params []river.InsertManyParams) error {
	return store.RetryAborted(ctx, e.log, what, func() error {
		_, err := e.jobs.InsertMany(ctx, params)
		return err
	})
}

// enqueueRetry schedules the quarantine retry of a group (best effort: Run
// also releases due quarantined groups it finds).
func (e *Engine) enqueueRetry(ctx context.Context, id string, at time.Time) {
	if e.jobs == nil {
		return
	}
	_, err := e.jobs.Insert(ctx, RetryArgs{GroupID: id}, &river.InsertOpts{ScheduledAt: at})
	if err != nil && !errors.Is(err, context.Canceled) {
		e.log.Warn("enqueue quarantine retry", "group", id, "err", err)
	}
}
