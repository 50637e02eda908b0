// Package engine takes approved merge groups to a known end on the platform,
// each merge exactly once: it scans contacts into the snapshot, preflights
// approved groups against fresh reads, executes the merges under member
// leases and adaptive concurrency, verifies every ambiguous outcome before
// anything is sent again, and runs all of it as River jobs. It is a logic
// package: it talks to the platform through a *genesys.Client and to
// storage through cm.Store, and every state change it makes goes through
// one cm.Transition, with its ledger rows, in one transaction.
//
// # Building an engine
//
// DefaultConfig holds every default (the run and worker flags start from
// it); Config.WithDefaults fills zero fields from it. New builds the engine
// and then its API client, handing the client factory (ClientFunc) the
// engine's observer, so that metrics and adaptive concurrency see every
// response; a client that serves no engine (the demo's scan client) takes
// NewObserver for its metrics. RiverConfig completes a
// river.Config with the engine's workers, queues and timeouts; Run starts
// the job client built from it, attaches it, enqueues what is runnable and
// returns when nothing is (or, with RunOptions.Forever, when ctx ends).
// While it runs it heartbeats into the store and takes over the running
// jobs and member leases of processes known dead, within seconds instead
// of RescueAfter: on SQLite at once when the store's lock file is free (no
// other process is alive), on both databases once a worker's heartbeat is
// DeadAfter old (takeover.go). Progress.Waiting says what a run waits for.
// A store that fails Run's own polls (counting the groups, re-enqueueing
// them: a locked SQLite file, a PostgreSQL restart) is logged and polled
// again; Run gives up with the error only when it has failed for
// RunOptions.StoreOutage (1m) without an answer in between.
//
// # Execution
//
// Execute drives one group: it leases the members (and the canonical
// contact of earlier rounds), verifies an in_flight or unknown group first,
// and otherwise submits the next round. submit builds the request (at most
// MaxPerRequest ids: the previous round's canonical contact, then pending
// members; the last round carries the survivorship record as
// valueOverride), commits the intent (in_flight, attempt, idempotency key)
// before sending, sends, classifies the answer with the pure classifyMerge
// (applied, conflict, throttled, ambiguous, stale, refused, forbidden) and
// settles the group. A 403 (forbidden: the OAuth client lacks a permission)
// fails no group: the group goes back to ready, the engine sends nothing
// more, and Run returns ErrForbidden naming the permission; CheckPermissions
// finds the same before a run's first merge. verify reads the unresolved
// records of the contacts the attempt could have consumed and classifies
// them with the pure classifyReads (none merged, merged into one contact,
// into several). Attempts are counted per
// merge request, that is per round: a round verified as not applied
// maxAttempts (6) times fails the group, and the failure of a group part-way
// through its rounds says how many members are already one contact; the
// group keeps that canonical contact, and approving it again continues from
// it. A 409 bisects the group, isolating a busy member in O(log n) requests.
//
// # The ledger
//
// Each merge the platform applied is recorded by exactly one ledger row,
// whether the group ended merged or not: the api row of a request answered
// 2xx (Status 2xx, CanonicalID the result, Request naming the inputs as
// contactIds=…, BeforeImages their records), or the note of a verification
// that found it applied (CanonicalID the result, Request naming the
// inputs). AppliedMergeOf and AppliedMerges read them back, for an id map of
// old to canonical ids.
//
// # Files
//
//	engine.go     Config, DefaultConfig, New, the request observer, transition
//	preflight.go  Preflight, preflightGroup, replan, quarantine, bulk reads, activity
//	execute.go    Execute, nextRound, submit, settle, recordMerged, before-images
//	verify.go     verify, notApplied, bisect
//	verdict.go    classifyMerge, classifyReads: the platform's answers, as pure functions
//	ledger.go     request summaries in ledger rows; AppliedMerges
//	jobs.go       River job args and workers, RiverConfig, enqueueing, releaseQuarantined
//	run.go        Run, reconcile, DryRun, Rounds
//	takeover.go   heartbeats; the takeover of a dead process's running jobs and leases
//	scan.go       Scan (through the client's scan iterator; restarts after an expired cursor)
//	permissions.go ErrForbidden, CheckPermissions, the halt a 403 puts on the engine
//	aimd.go       AIMD adaptive concurrency, alerts, alert webhook
//	metrics.go    Metrics: the Prometheus collectors the engine, its jobs and the observer feed
//
// # Who takes which edge
//
// The edges of the state machine (the root package's CanTransition) and the
// functions that take them. Review edges belong to review, not the engine.
//
//	proposed → approved, rejected        review
//	approved → ready                     preflightGroup ("preflight ok")
//	approved → split                     preflightGroup (re-planned onto the live contacts: a child group)
//	approved → dropped                   preflightGroup (fewer than two live contacts)
//	approved → quarantined               quarantine, from preflightGroup (activity)
//	approved → failed                    preflightGroup (merge-set limit); quarantine (gave up)
//	approved → rejected                  review
//	rejected → approved                  review
//	rejected → proposed                  review (unreject: lifts the rejection's cannot-link pairs)
//	ready → in_flight                    submit (the intent, before the request)
//	ready → approved                     submit (a member changed since preflight; after a 404, a 422 not.found or a 401)
//	ready → merged                       submit ("all rounds done")
//	ready → dropped                      submit (fewer than two contacts left)
//	ready → rejected                     review
//	in_flight → merged                   recordMerged (last round: 2xx, or verified applied)
//	in_flight → ready                    recordMerged (a round, more to go); settle (429, 404/422 not.found/401, 403); notApplied
//	in_flight → unknown                  settle (ambiguous answer); notApplied (found in flight after a restart)
//	in_flight → split                    bisect (409)
//	in_flight → quarantined              quarantine, from bisect (409 with nothing to halve)
//	in_flight → failed                   settle (refused); notApplied (attempts used up); verify (anomaly); quarantine (gave up)
//	unknown → merged                     recordMerged, from verify (last round applied)
//	unknown → ready                      notApplied (verified not applied); recordMerged, from verify (a round applied)
//	unknown → failed                     notApplied (attempts used up); verify (anomaly)
//	quarantined → approved               releaseQuarantined (retry time reached: retryWorker, reconcile); review
//	quarantined → rejected               review
//	failed → approved                    review
//	merged, split, dropped               terminal
//
// # Tests
//
// The classifiers and helpers have table tests without HTTP
// (verdict_test.go). The other tests run the engine against the sandbox on a
// loopback server with a real store, SQLite and (with TEST_DATABASE_URL)
// PostgreSQL: exactly-once under faults, two pipelines with overlapping
// plans, bisection, multi-round groups under scripted 503s, the scan's
// repeated-cursor guard, and the request budget beside the naive baseline
// (naive_test.go). CONTACTMERGE_FULL=1 runs them at the full size.
// goleak checks that no goroutine outlives them.
package engine
