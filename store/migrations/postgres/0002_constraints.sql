-- contactmerge schema v2 (PostgreSQL): stewards' decisions about pairs of
-- contacts, as durable constraints that every later match, policy and
-- preflight respects.
--
-- A constraint belongs to no group: group_id names the group the decision
-- was made on ('' for a pair linked by itself), but superseding, splitting
-- or merging that group leaves the row in place. Only a person removes one
-- (unlink, unreject, or a new decision on the same group). The decisions
-- rows of a superseded group are kept from this version on as well.
--
-- a < b (byte order, not the collation's) is enforced by the store; a pair
-- may hold several rows of one kind, one per group it was decided on, never
-- both kinds.
CREATE TABLE pair_constraints (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind     TEXT NOT NULL CHECK (kind IN ('must_link', 'cannot_link')),
    a        TEXT NOT NULL,
    b        TEXT NOT NULL,
    group_id TEXT NOT NULL DEFAULT '',
    actor    TEXT NOT NULL DEFAULT '',
    reason   TEXT NOT NULL DEFAULT '',
    at       BIGINT NOT NULL,
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
SELECT 'cannot_link', x, y, g.id, COALESCE(d.actor, 'migration'), COALESCE(d.reason, ''), COALESCE(d.at, g.updated_at)
FROM groups g
CROSS JOIN LATERAL json_array_elements_text(g.members) AS x
CROSS JOIN LATERAL json_array_elements_text(g.members) AS y
LEFT JOIN LATERAL (SELECT actor, reason, at FROM decisions WHERE group_id = g.id AND NOT approve ORDER BY id DESC LIMIT 1) d ON TRUE
WHERE g.state = 'rejected' AND x COLLATE "C" < y COLLATE "C"
ON CONFLICT DO NOTHING;
