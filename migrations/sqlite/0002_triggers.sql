-- Alert triggers (incoming) and project webhooks (outgoing). Kept
-- structurally identical to migrations/postgres/0002_triggers.sql.

-- A secret URL per flag and environment that alerting tools POST to. Only
-- the SHA-256 of the secret is stored. Deleting a trigger only disables it
-- (`disabled_at`): the row stays, so audit events keep naming something that
-- existed. A deleted flag takes its triggers with it.
CREATE TABLE triggers (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id     INTEGER NOT NULL REFERENCES environments (id),
    flag_id            INTEGER NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    action             TEXT NOT NULL,
    restore_on_resolve BOOLEAN NOT NULL,
    hash               TEXT NOT NULL,
    prefix             TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    disabled_at        INTEGER,
    CONSTRAINT triggers_hash_key UNIQUE (hash)
);
CREATE INDEX triggers_flag_idx ON triggers (environment_id, flag_id);

-- Outgoing notifications of a project. The signing secret is stored as
-- given (HMAC needs it); only admins can list webhooks, and never the secret.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    disabled_at INTEGER
);
CREATE INDEX webhooks_project_idx ON webhooks (project_id);
