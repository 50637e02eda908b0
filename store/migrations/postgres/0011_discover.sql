-- contactmerge schema v11 (PostgreSQL): the ids a discovery (package discover)
-- could not read as themselves: the platform answered 404 (deleted, or an
-- auto-created contact aged out: 'missing') or with another contact (merged
-- away: 'resolved'). The next discoveries do not read them again until
-- read_at is older than their re-read age (discover.Options.Reread). read_at
-- is unix microseconds, of the discovery's clock.
CREATE TABLE discover_unreadable (
    id      TEXT PRIMARY KEY,
    outcome TEXT NOT NULL CHECK (outcome IN ('missing', 'resolved')),
    read_at BIGINT NOT NULL
);
