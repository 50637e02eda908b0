// Package store persists contactmerge's state: the contact snapshot, scan
// progress, merge groups with their state machine, review decisions, the
// stewards' pair constraints (must-link, cannot-link: pair_constraints,
// independent of groups, written in the transaction of the decision that
// records them), member leases with fencing tokens, and the append-only
// audit ledger. It implements cm.Store twice behind one Open:
//
//   - SQLite (modernc.org/sqlite, pure Go), the default: a file path, or
//     "" for ./contactmerge.db. WAL journal, foreign keys on, busy_timeout
//     10 s, synchronous=NORMAL (durable against process crashes), one writer
//     connection (BEGIN IMMEDIATE) shared with River, plus read-only
//     connections for queries.
//   - PostgreSQL (pgx/v5 pool), selected by a postgres:// or postgresql://
//     URL. Every table, River's included, lives in the connection's current
//     schema (set search_path in the URL to choose one). Bulk writes use
//     COPY and unnest arrays; Transition locks the group row (SELECT ...
//     FOR UPDATE); ledger appends hold a transaction-scoped advisory lock
//     so sequence numbers become visible in commit order. The rows that
//     concurrent workers contend for are locked in id order (the groups of
//     a TransitionMany, leases, a takeover's jobs), the ledger lock last,
//     so that those transactions wait for each other instead of
//     deadlocking; a transaction PostgreSQL still aborts as a deadlock
//     victim (40P01) or serialization failure (40001) is run again, up to
//     5 runs with a short jittered pause (logged at debug level). The contact, scan and
//     match-state writes run once: the streamed contact upsert consumes
//     its input and cannot run again, and the others have not been opted
//     in. RetryAborted does the same for work outside the store's
//     transactions, such as River's InsertMany.
//
// Both pass the conformance suite in store/storetest.
//
// Migrations are embedded (migrations/<dialect>/NNNN_name.sql), recorded in
// schema_migrations, and applied by Open together with River's own
// migrations while holding an exclusive lock (SQLite: one IMMEDIATE
// transaction for both; PostgreSQL: a session advisory lock, the store's
// migrations in one transaction and River's each in its own), so that two
// processes opening a new database at once are safe.
//
// Times are stored as unix microseconds (UTC) in both databases. The ledger
// is append-only in the database itself: triggers abort any UPDATE or DELETE
// (and, on PostgreSQL, TRUNCATE) of its rows.
//
// Background jobs run on River (NewJobClient) with riversqlite or
// riverpgxv5 on the same database as the state they act on. Enqueue per-group jobs with
// GroupUniqueOpts and arguments that hold only the group id: a group then has
// at most one live job, while a finished job does not stop a later
// legitimate re-run. Jobs whose worker died are rescued by River after
// Config.RescueStuckJobsAfter. Stop every job client before closing the
// store.
//
// Open takes the dsn as given; reading CONTACTMERGE_DB is the command's job.
//
// Tests and benchmarks (PostgreSQL ones skip unless TEST_DATABASE_URL is set;
// each test gets its own schema):
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test ./store/...
//	go test -run '^$' -bench . ./store/   # contacts/s, jobs/s, 200k-group SaveProposals
//
// The crash tests re-execute the test binary as a child (TestHelperProcess)
// and kill it with SIGKILL at random points of its transition loop or in the
// middle of a River job, then check the ledger, or the rescue of the job.
package store
