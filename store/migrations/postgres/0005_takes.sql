-- contactmerge schema v5 (PostgreSQL): a steward's per-field choices.
-- take holds a decision's cm.Decision.Take as a JSON object (field → the
-- member whose value the merged record takes), '' when there are none.
ALTER TABLE decisions ADD COLUMN take TEXT NOT NULL DEFAULT '';
