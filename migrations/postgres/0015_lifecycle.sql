-- Lifecycle (issue 19 part 4): archive and restore flags, environments and
-- projects (ms since the epoch; NULL: not archived), and when an SDK key
-- was last used, recorded coarsely (at most once per key every few minutes,
-- never per request) for the in-use check before an environment or project
-- is archived.
-- An archived flag keeps its rows (definition, configurations, history)
-- but is left out of SDK snapshots and default lists; only an archived
-- flag may be deleted.
-- Kept structurally identical to migrations/sqlite/0015_lifecycle.sql.
ALTER TABLE flags ADD COLUMN archived_at BIGINT;
ALTER TABLE environments ADD COLUMN archived_at BIGINT;
ALTER TABLE projects ADD COLUMN archived_at BIGINT;
ALTER TABLE sdk_keys ADD COLUMN last_used_at BIGINT;
