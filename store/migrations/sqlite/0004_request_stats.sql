-- contactmerge schema v4 (SQLite): durable request counters.
-- request_stats counts the API requests (HTTP attempts, retries included)
-- the commands made for this store, by route template and status (0: no
-- response). The ledger records mutations and transitions; these counters
-- are what `status` reports as requests and throttled (429) responses.
CREATE TABLE request_stats (
    route  TEXT NOT NULL,
    status INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (route, status)
) WITHOUT ROWID;
