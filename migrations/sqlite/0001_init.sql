-- Switchyard schema, SQLite flavour. Kept structurally identical to
-- migrations/postgres/0001_init.sql: the store runs the same SQL text on both.
--
-- Conventions
-- * ids: INTEGER PRIMARY KEY AUTOINCREMENT (never reused: the configuration
--   history refers to flag ids that outlive their flag);
-- * timestamps: INTEGER unix epoch milliseconds;
-- * JSON documents: TEXT (JSONB on Postgres), read and written through serde;
-- * booleans: BOOLEAN affinity, stored as 0/1.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  INTEGER NOT NULL,
    CONSTRAINT projects_key_key UNIQUE (key)
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    project_id INTEGER REFERENCES projects (id),
    hash       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CONSTRAINT api_tokens_hash_key UNIQUE (hash)
);

CREATE TABLE environments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    key        TEXT NOT NULL,
    name       TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT environments_project_key_key UNIQUE (project_id, key)
);

CREATE TABLE flags (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    kind        TEXT NOT NULL,
    variants    TEXT NOT NULL,
    tags        TEXT NOT NULL,
    owner       TEXT,
    temporary   BOOLEAN NOT NULL,
    salt        TEXT NOT NULL,
    -- defaults for configurations created later (new environments)
    off_variant TEXT NOT NULL,
    on_variant  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT flags_project_key_key UNIQUE (project_id, key)
);

CREATE TABLE flag_configs (
    environment_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag_id        INTEGER NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    config         TEXT NOT NULL,
    on_state       BOOLEAN NOT NULL,
    killed         BOOLEAN NOT NULL,
    updated_at     INTEGER NOT NULL,
    updated_by     TEXT NOT NULL,
    PRIMARY KEY (environment_id, flag_id)
);
CREATE INDEX flag_configs_flag_idx ON flag_configs (flag_id);

-- Append-only history of every configuration version (revert, restore,
-- change-set revert). No foreign key on the flag: it outlives deletion.
CREATE TABLE flag_config_versions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id INTEGER NOT NULL REFERENCES environments (id),
    flag_id        INTEGER NOT NULL,
    flag_key       TEXT NOT NULL,
    version        INTEGER NOT NULL,
    config         TEXT NOT NULL,
    group_id       TEXT,
    created_at     INTEGER NOT NULL,
    created_by     TEXT NOT NULL,
    CONSTRAINT flag_config_versions_version_key UNIQUE (environment_id, flag_id, version)
);
CREATE INDEX flag_config_versions_group_idx ON flag_config_versions (group_id);

CREATE TABLE segments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    segment     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT segments_project_key_key UNIQUE (project_id, key)
);

-- Append-only: see the triggers below. Keys are stored as text (not foreign
-- keys) so that events outlive the objects they describe.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER,
    environment TEXT,
    flag        TEXT,
    segment     TEXT,
    actor       TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    action      TEXT NOT NULL,
    reason      TEXT,
    before      TEXT,
    after       TEXT,
    revision    INTEGER,
    request_id  TEXT,
    client_addr TEXT,
    group_id    TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX audit_events_project_idx ON audit_events (project_id, id);
CREATE INDEX audit_events_flag_idx ON audit_events (project_id, flag, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- The change log: one row per environment revision (pruned to the newest N).
CREATE TABLE changes (
    environment_id INTEGER NOT NULL REFERENCES environments (id),
    revision       INTEGER NOT NULL,
    event          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (environment_id, revision)
);

CREATE TABLE sdk_keys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id INTEGER NOT NULL REFERENCES environments (id),
    name           TEXT NOT NULL,
    hash           TEXT NOT NULL,
    prefix         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    CONSTRAINT sdk_keys_hash_key UNIQUE (hash)
);
CREATE INDEX sdk_keys_environment_idx ON sdk_keys (environment_id);
