-- contactmerge schema v3 (SQLite): the organization a store holds.
-- meta has at most one row (singleton = 1): the store's binding to the
-- Genesys Cloud organization it was filled from, written by the first scan
-- or import (Store.BindOrg) and never changed afterwards.
CREATE TABLE meta (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    org_id       TEXT NOT NULL,
    org_name     TEXT NOT NULL DEFAULT '',
    org_source   TEXT NOT NULL DEFAULT '',
    org_bound_at INTEGER NOT NULL
);
