-- contactmerge schema v10 (PostgreSQL): scheduled cycles (package cycle,
-- store/cycles.go). A cycle is scan → match → policy → run → report; each
-- step's start, end and result are recorded in cycle_steps so that a
-- crashed cycle resumes at its step. At most one cycle is running at a time
-- (cycles_one_running), across processes; BeginCycle serializes on the
-- cycle_lock row. slot is the scheduled time of a scheduled cycle (one
-- cycle per slot, whichever process starts it). Times are unix
-- microseconds; summary and result are JSON.
CREATE TABLE cycles (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state        TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'skipped')),
    trigger_kind TEXT NOT NULL,
    actor        TEXT NOT NULL,
    slot         BIGINT UNIQUE,
    owner        TEXT NOT NULL,
    step         TEXT NOT NULL DEFAULT '',
    resumes      BIGINT NOT NULL DEFAULT 0,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    ended_at     BIGINT NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL DEFAULT '',
    notified_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX cycles_one_running ON cycles (state) WHERE state = 'running';

CREATE TABLE cycle_steps (
    cycle_id   BIGINT NOT NULL REFERENCES cycles (id),
    step       TEXT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 1,
    started_at BIGINT NOT NULL,
    ended_at   BIGINT NOT NULL DEFAULT 0,
    result     TEXT NOT NULL DEFAULT '',
    error      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (cycle_id, step)
);

-- A request to skip the next scheduled cycle: consumed (cycle_id set) by
-- the scheduled cycle it skips, or withdrawn (withdrawn_at set).
CREATE TABLE cycle_skips (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor        TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    requested_at BIGINT NOT NULL,
    cycle_id     BIGINT REFERENCES cycles (id),
    withdrawn_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE cycle_lock (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1)
);
INSERT INTO cycle_lock (singleton) VALUES (1);
