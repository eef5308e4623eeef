-- Release plans (issue 16 part 2) and the durable job queue that advances
-- them. Kept structurally identical to migrations/postgres/0007_release_plans.sql.

-- Reusable plan shapes of a project: stages and guard metrics (JSON, the
-- shapes of `store::ReleaseStage` and `store::ReleaseGuards`).
CREATE TABLE release_templates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    name        TEXT,
    stages      TEXT NOT NULL,
    guards      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT release_templates_key UNIQUE (project_id, key)
);

-- A plan widens `treatment` against `control` on one flag in one
-- environment, stage by stage. `stage`: index of the last applied stage
-- (NULL before the first); `stage_started_at`: when it was applied (ms).
-- state: running, paused, aborted, completed, rolled_back. At most one
-- running or paused plan per flag and environment.
CREATE TABLE release_plans (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id   INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag             TEXT NOT NULL,
    template         TEXT,
    control          TEXT NOT NULL,
    treatment        TEXT NOT NULL,
    stages           TEXT NOT NULL,
    guards           TEXT NOT NULL,
    state            TEXT NOT NULL,
    stage            INTEGER,
    stage_started_at INTEGER,
    summary          TEXT,
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX release_plans_active_idx ON release_plans (environment_id, flag)
    WHERE state IN ('running', 'paused');

-- Due jobs (any kind: release steps now, scheduled changes later). `key`
-- names the step (e.g. `release:12:3`): scheduling the same key again
-- moves the one row. state: pending, running (claimed until
-- `locked_until` by `locked_by`; a lapsed claim is claimable again), done,
-- failed. Claimed with FOR UPDATE SKIP LOCKED on Postgres.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    payload      TEXT NOT NULL,
    due_at       INTEGER NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    locked_by    TEXT,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CONSTRAINT jobs_key UNIQUE (key)
);
CREATE INDEX jobs_due_idx ON jobs (due_at) WHERE state IN ('pending', 'running');
