-- contactmerge schema v8 (SQLite): the verdicts of the guarded auto-approve
-- policy (store/policy.go, package policy), one row per cycle and group:
-- what the policy would approve (shadow mode) or approved (enforce), and
-- every guard that held a group (reasons, a JSON array of strings). at is
-- unix microseconds; approve and applied are 0 or 1.
CREATE TABLE policy_verdicts (
    cycle      TEXT NOT NULL,
    group_id   TEXT NOT NULL,
    at         INTEGER NOT NULL,
    mode       TEXT NOT NULL,
    approve    INTEGER NOT NULL,
    applied    INTEGER NOT NULL,
    confidence REAL NOT NULL,
    members    INTEGER NOT NULL,
    reasons    TEXT NOT NULL,
    PRIMARY KEY (cycle, group_id)
);
CREATE INDEX policy_verdicts_group ON policy_verdicts (group_id, at);
