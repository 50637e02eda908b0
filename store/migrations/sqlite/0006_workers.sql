-- contactmerge schema v6 (SQLite): worker heartbeats, for the takeover of a
-- dead worker's jobs and leases (store/workers.go). owner is the worker's
-- River client id, lease_owner the engine owner its member leases are
-- named after (lease owners are lease_owner#n), heartbeat_at unix
-- microseconds.
CREATE TABLE workers (
    owner        TEXT PRIMARY KEY,
    lease_owner  TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
