-- Release plans (issue 16): each stage's start, end and the guard's verdict
-- on it, so that the guard can count the telemetry of every stage so far
-- (`ops::release::guard`) and people can see the timeline. A JSON array of
-- `store::StageEntry`, oldest first; the last entry without `ended_at` is
-- the stage applied now. Plans started before this migration have none:
-- the guard then counts the current stage from `stage_started_at`.
-- Kept structurally identical to migrations/postgres/0009_release_stage_history.sql.
ALTER TABLE release_plans ADD COLUMN history TEXT NOT NULL DEFAULT '[]';
