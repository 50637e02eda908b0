-- contactmerge schema v1 (SQLite). Times are INTEGER unix microseconds (UTC).

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    division_id TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL DEFAULT '',
    modify_date INTEGER NOT NULL,
    data        BLOB NOT NULL,
    norm        BLOB,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE scans (
    name       TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL DEFAULT '',
    pages      INTEGER NOT NULL DEFAULT 0,
    contacts   INTEGER NOT NULL DEFAULT 0,
    done       INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE groups (
    id              TEXT PRIMARY KEY,
    parent_id       TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    members         BLOB NOT NULL,
    survivor_id     TEXT NOT NULL DEFAULT '',
    confidence      REAL NOT NULL DEFAULT 0,
    merged          BLOB,
    unkept          BLOB,
    explanation     BLOB,
    content_hash    TEXT NOT NULL DEFAULT '',
    plan_version    INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL DEFAULT '',
    canonical_id    TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    retry_at        INTEGER NOT NULL DEFAULT 0,
    quarantines     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL
);
-- (state, retry_at) also serves lookups by state alone.
CREATE INDEX groups_state_retry ON groups (state, retry_at);

-- group_members has no foreign key on purpose: bulk match runs insert
-- hundreds of thousands of rows, and the store deletes a group's rows itself
-- wherever it deletes or re-members a group.
CREATE TABLE group_members (
    member_id TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    PRIMARY KEY (member_id, group_id)
) WITHOUT ROWID;
CREATE INDEX group_members_group ON group_members (group_id);

-- decisions of a superseded group are deleted with it (the ledger keeps the
-- supersede note and the transitions that recorded them).
CREATE TABLE decisions (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id TEXT NOT NULL, -- deleted with the group by the store (no per-row FK trigger)
    approve  INTEGER NOT NULL,
    actor    TEXT NOT NULL DEFAULT '',
    reason   TEXT NOT NULL DEFAULT '',
    at       INTEGER NOT NULL,
    survivor TEXT NOT NULL DEFAULT ''
);
CREATE INDEX decisions_group ON decisions (group_id, id);

CREATE TABLE leases (
    member_id  TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    token      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- counters holds monotonic counters; 'lease_token' issues fencing tokens.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('lease_token', 0);

CREATE TABLE ledger (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    group_id        TEXT NOT NULL DEFAULT '',
    from_state      TEXT NOT NULL DEFAULT '',
    to_state        TEXT NOT NULL DEFAULT '',
    actor           TEXT NOT NULL DEFAULT '',
    attempt         INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL DEFAULT '',
    request         TEXT NOT NULL DEFAULT '',
    status          INTEGER NOT NULL DEFAULT 0,
    correlation_id  TEXT NOT NULL DEFAULT '',
    canonical_id    TEXT NOT NULL DEFAULT '',
    before_images   BLOB,
    unkept          BLOB,
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ledger_group ON ledger (group_id, seq);

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;
