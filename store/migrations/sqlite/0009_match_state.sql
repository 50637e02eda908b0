-- contactmerge schema v9 (SQLite): the match state (store/matchstate.go),
-- what a match keeps so that the next one is incremental: opaque named
-- parts (match.State), each split into rows ordered by seq; updated_at is
-- unix microseconds. An incremental match reads the contacts written since
-- the last one (contacts_updated) and the ids of the contacts deleted
-- (match_deleted, which the trigger fills and SaveMatch empties of the
-- rows the match saw).
CREATE TABLE match_state (
    name       TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    data       BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (name, seq)
);

CREATE INDEX contacts_updated ON contacts (updated_at, id, modify_date);

CREATE TABLE match_deleted (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id  TEXT NOT NULL
);

CREATE TRIGGER contacts_match_deleted AFTER DELETE ON contacts
BEGIN
    INSERT INTO match_deleted (id) VALUES (old.id);
END;
