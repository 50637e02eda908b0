-- contactmerge schema v7 (SQLite): the rate budget and access token every
-- process using one OAuth client shares (store/budget.go). One row per OAuth
-- client id: the current rate-limit window (window_reset unix microseconds,
-- 0: none yet; lim requests allowed to every process together; reserved
-- requests handed out so far) and the shared access token with the time it
-- is due for renewal (token_renew_at, 0: never). The token is a credential:
-- it is never logged or shown.
CREATE TABLE client_budgets (
    client_id      TEXT PRIMARY KEY,
    window_reset   INTEGER NOT NULL DEFAULT 0,
    lim            INTEGER NOT NULL DEFAULT 0,
    reserved       INTEGER NOT NULL DEFAULT 0,
    token          TEXT NOT NULL DEFAULT '',
    token_renew_at INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL DEFAULT 0
);
