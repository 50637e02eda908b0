-- contactmerge schema v9 (PostgreSQL): the match state (store/matchstate.go),
-- what a match keeps so that the next one is incremental: opaque named
-- parts (match.State), each split into rows ordered by seq; updated_at is
-- unix microseconds. An incremental match reads the contacts written since
-- the last one (contacts_updated) and the ids of the contacts deleted
-- (match_deleted, which the trigger fills and SaveMatch empties of the
-- rows the match saw).
CREATE TABLE match_state (
    name       TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    data       BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (name, seq)
);

CREATE INDEX contacts_updated ON contacts (updated_at, id, modify_date);

CREATE TABLE match_deleted (
    seq BIGSERIAL PRIMARY KEY,
    id  TEXT NOT NULL
);

CREATE FUNCTION contacts_match_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO match_deleted (id) VALUES (OLD.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_match_deleted AFTER DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_match_deleted();
