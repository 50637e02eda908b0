-- contactmerge schema v2 (SQLite): stewards' decisions about pairs of
-- contacts, as durable constraints that every later match, policy and
-- preflight respects.
--
-- A constraint belongs to no group: group_id names the group the decision
-- was made on ('' for a pair linked by itself), but superseding, splitting
-- or merging that group leaves the row in place. Only a person removes one
-- (unlink, unreject, or a new decision on the same group). The decisions
-- rows of a superseded group are kept from this version on as well.
--
-- a < b (byte order) is enforced by the store; a pair may hold several rows
-- of one kind, one per group it was decided on, never both kinds.
CREATE TABLE pair_constraints (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL CHECK (kind IN ('must_link', 'cannot_link')),
    a        TEXT NOT NULL,
    b        TEXT NOT NULL,
    group_id TEXT NOT NULL DEFAULT '',
    actor    TEXT NOT NULL DEFAULT '',
    reason   TEXT NOT NULL DEFAULT '',
    at       INTEGER NOT NULL,
    CHECK (a <> b)
);
CREATE UNIQUE INDEX pair_constraints_pair ON pair_constraints (a, b, kind, group_id);
CREATE INDEX pair_constraints_b ON pair_constraints (b);
CREATE INDEX pair_constraints_group ON pair_constraints (group_id);

-- Rejections recorded before this version become what they would record now:
-- a cannot-link for every pair of every rejected group, with the actor,
-- reason and time of the group's latest rejection (actor 'migration' and
-- the group's last update when no decision row is left).
INSERT INTO pair_constraints (kind, a, b, group_id, actor, reason, at)
SELECT 'cannot_link', x.value, y.value, g.id,
       COALESCE((SELECT d.actor FROM decisions d WHERE d.group_id = g.id AND d.approve = 0 ORDER BY d.id DESC LIMIT 1), 'migration'),
       COALESCE((SELECT d.reason FROM decisions d WHERE d.group_id = g.id AND d.approve = 0 ORDER BY d.id DESC LIMIT 1), ''),
       COALESCE((SELECT d.at FROM decisions d WHERE d.group_id = g.id AND d.approve = 0 ORDER BY d.id DESC LIMIT 1), g.updated_at)
FROM groups g, json_each(CAST(g.members AS TEXT)) x, json_each(CAST(g.members AS TEXT)) y
WHERE g.state = 'rejected' AND x.value < y.value
ON CONFLICT DO NOTHING;
