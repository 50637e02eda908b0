-- contactmerge schema v10 (SQLite): scheduled cycles (package cycle,
-- store/cycles.go). A cycle is scan → match → policy → run → report; each
-- step's start, end and result are recorded in cycle_steps so that a
-- crashed cycle resumes at its step. At most one cycle is running at a time
-- (cycles_one_running), across processes; BeginCycle serializes on the
-- cycle_lock row. slot is the scheduled time of a scheduled cycle (one
-- cycle per slot, whichever process starts it). Times are unix
-- microseconds; summary and result are JSON.
CREATE TABLE cycles (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    state        TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'skipped')),
    trigger_kind TEXT NOT NULL,
    actor        TEXT NOT NULL,
    slot         INTEGER UNIQUE,
    owner        TEXT NOT NULL,
    step         TEXT NOT NULL DEFAULT '',
    resumes      INTEGER NOT NULL DEFAULT 0,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    ended_at     INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL DEFAULT '',
    notified_at  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX cycles_one_running ON cycles (state) WHERE state = 'running';

CREATE TABLE cycle_steps (
    cycle_id   INTEGER NOT NULL REFERENCES cycles (id),
    step       TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 1,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER NOT NULL DEFAULT 0,
    result     TEXT NOT NULL DEFAULT '',
    error      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (cycle_id, step)
);

-- A request to skip the next scheduled cycle: consumed (cycle_id set) by
-- the scheduled cycle it skips, or withdrawn (withdrawn_at set).
CREATE TABLE cycle_skips (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    actor        TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    requested_at INTEGER NOT NULL,
    cycle_id     INTEGER REFERENCES cycles (id),
    withdrawn_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE cycle_lock (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1)
);
INSERT INTO cycle_lock (singleton) VALUES (1);
