-- contactmerge schema v1 (PostgreSQL). JSON columns are json, not jsonb, so that
-- documents round-trip byte for byte. Times are BIGINT unix microseconds
-- (UTC), the same representation as the SQLite store.

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    division_id TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL DEFAULT '',
    modify_date BIGINT NOT NULL,
    data        JSON NOT NULL,
    norm        BYTEA,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE scans (
    name       TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL DEFAULT '',
    pages      BIGINT NOT NULL DEFAULT 0,
    contacts   BIGINT NOT NULL DEFAULT 0,
    done       BOOLEAN NOT NULL DEFAULT FALSE,
    started_at BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE groups (
    id              TEXT PRIMARY KEY,
    parent_id       TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    members         JSON NOT NULL,
    survivor_id     TEXT NOT NULL DEFAULT '',
    confidence      DOUBLE PRECISION NOT NULL DEFAULT 0,
    merged          JSON,
    unkept          JSON,
    explanation     JSON,
    content_hash    TEXT NOT NULL DEFAULT '',
    plan_version    BIGINT NOT NULL DEFAULT 0,
    attempts        BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL DEFAULT '',
    canonical_id    TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    retry_at        BIGINT NOT NULL DEFAULT 0,
    quarantines     BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL
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
);
CREATE INDEX group_members_group ON group_members (group_id);

-- decisions of a superseded group are deleted with it (the ledger keeps the
-- supersede note and the transitions that recorded them).
CREATE TABLE decisions (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id TEXT NOT NULL, -- deleted with the group by the store (no per-row FK trigger)
    approve  BOOLEAN NOT NULL,
    actor    TEXT NOT NULL DEFAULT '',
    reason   TEXT NOT NULL DEFAULT '',
    at       BIGINT NOT NULL,
    survivor TEXT NOT NULL DEFAULT ''
);
CREATE INDEX decisions_group ON decisions (group_id, id);

CREATE TABLE leases (
    member_id  TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    token      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- counters holds monotonic counters; 'lease_token' issues fencing tokens.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('lease_token', 0);

CREATE TABLE ledger (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    group_id        TEXT NOT NULL DEFAULT '',
    from_state      TEXT NOT NULL DEFAULT '',
    to_state        TEXT NOT NULL DEFAULT '',
    actor           TEXT NOT NULL DEFAULT '',
    attempt         BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL DEFAULT '',
    request         TEXT NOT NULL DEFAULT '',
    status          BIGINT NOT NULL DEFAULT 0,
    correlation_id  TEXT NOT NULL DEFAULT '',
    canonical_id    TEXT NOT NULL DEFAULT '',
    before_images   JSON, -- verbatim: the audit keeps the bytes it was given
    unkept          JSON,
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ledger_group ON ledger (group_id, seq);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger is append-only';
END;
$$;
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
