-- contactmerge schema v10 (SQLite): the match state (store/matchstate.go),
-- what a match keeps so that the next one is incremental: opaque named
-- parts (match.State), each split into rows ordered by seq. updated_at is
-- unix microseconds. The covering index lets a match read every contact's
-- modify_date and write time without reading the rows.
CREATE TABLE match_state (
    name       TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    data       BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (name, seq)
);

CREATE INDEX contacts_match_stamps ON contacts (id, modify_date, updated_at);
