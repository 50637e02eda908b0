// Package cycle runs contactmerge's scheduled cycles: scan → discover →
// match → policy → run → report, one cycle at a time across processes, resumable
// after a crash, skippable and triggerable (serve's console, the
// 'contactmerge cycle' command).
//
// A Runner runs one cycle. The store (store.CycleStore, migration 0010)
// records the cycle and each step's start, end and result; a cycle whose
// process died (its heartbeat older than Config.StaleAfter; on SQLite at
// once, when no other process holds the store's local lock,
// store.WorkerStore.LockLocal) or was interrupted (released) is resumed at the step it was in by the next
// Run of any process: the steps it completed are not run again (their
// recorded results go into the summary). Every step is safe to run again:
// the scan resumes from its saved cursor, discover reads in bulk only the
// ids the store does not hold, match and SaveProposals keep
// the groups they found before with their decisions, the policy only
// judges proposed groups, and the run verifies in-flight merges before it
// sends anything (engine.Run).
//
//   - scan: engine.Scan with its own client, whose limiter ceiling is
//     the scan budget, Config.ScanBudget of the window the platform
//     allows (inin-ratelimit-allowed, read from GET /api/v2/tokens/me
//     at the start of the cycle), so that merges and the tenant's other
//     integrations keep the rest (genesys.Limiter.SetCeiling).
//   - discover: discover.Run (Config.Discover; nil turns the step off)
//     with the same client, so the same ceiling bounds it (set again
//     when a cycle is resumed at this step): the auto-created contacts
//     the scan cannot see, through the conversations of the last 31 days
//     that name them (see package discover). It first probes the
//     analytics permission (genesys.CapConversationJobs: the status of a
//     details job that does not exist, which changes nothing); a client
//     whose role lacks it, or a 403 during the reads, skips the step with
//     one log line and the reason in DiscoverResult.Skipped, and the
//     cycle goes on. The ids the ledger records as merged away
//     (engine.AppliedMerges) are passed as discover.Options.Known, so a
//     later cycle does not read again the duplicates an earlier one
//     merged; the ids the store holds are never read again.
//   - match: match.Run and SaveProposals (incremental when match is).
//   - policy: Config.Policy (the policy package's file policy through
//     FilePolicy, or Threshold); a shadow policy approves nothing.
//   - run: Config.Merge (engine.Run). Unattended (Config.RequireEnforce:
//     serve), it merges only under a policy in enforce mode: the policy
//     file is the confirmation nobody is there to type.
//   - report: the Summary, kept in the store and POSTed to the
//     notify webhook (Notifier: retried on network errors, 408, 429 and
//     5xx; no secret in the body, and the webhook's address is never
//     logged). A summary the webhook did not take is posted again before
//     the next cycle begins.
//
// Before the first step the token's organization is checked against the
// store's: a store bound to another organization fails the cycle with a
// clear error and an alert (Summary.Alert, logged and posted).
//
// # Schedules
//
// A Scheduler starts cycles on a Schedule: --every D (the multiples of D
// since the Unix epoch, so that several serve processes agree on the slots)
// or --cron EXPR (github.com/robfig/cron/v3's standard parser: River has no
// cron parser; its documentation points to this package, see River's
// example_cron_job_test.go). Both are river.PeriodicSchedule values. The
// scheduler does not enqueue them as River periodic jobs: River's periodic
// enqueuer runs only in the elected leader among all River clients of the
// database ("The periodic job scheduler is approximate ... It's started by
// the elected leader in a River cluster", river.NewPeriodicJob, and
// LeaderElectionDisabled's note in river.Config), and the engine's own
// clients (serve's workers, 'contactmerge worker') would win that election
// without the cycle job configured, leaving cycles unscheduled. Instead
// each slot is claimed in the store (cycles.slot is unique), so a slot
// runs once whichever process reaches it first, and a skip request
// (store.CycleStore.SkipNextCycle) turns the next scheduled cycle into a
// recorded skip.
package cycle
