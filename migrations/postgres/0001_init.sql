-- Switchyard schema, PostgreSQL flavour. Kept structurally identical to
-- migrations/sqlite/0001_init.sql: the store runs the same SQL text on both.
--
-- Conventions
-- * ids: BIGINT identity; keys: TEXT COLLATE "C" (byte order, as SQLite's
--   BINARY, so pagination by key orders the same on both backends);
-- * timestamps: BIGINT unix epoch milliseconds;
-- * JSON documents: JSONB (TEXT on SQLite), read and written through serde.

CREATE TABLE settings (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE projects (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         TEXT COLLATE "C" NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  BIGINT NOT NULL,
    CONSTRAINT projects_key_key UNIQUE (key)
);

CREATE TABLE api_tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    project_id BIGINT REFERENCES projects (id),
    hash       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    CONSTRAINT api_tokens_hash_key UNIQUE (hash)
);

CREATE TABLE environments (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    key        TEXT COLLATE "C" NOT NULL,
    name       TEXT NOT NULL,
    revision   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT environments_project_key_key UNIQUE (project_id, key)
);

CREATE TABLE flags (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT NOT NULL REFERENCES projects (id),
    key         TEXT COLLATE "C" NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    kind        TEXT NOT NULL,
    variants    JSONB NOT NULL,
    tags        JSONB NOT NULL,
    owner       TEXT,
    temporary   BOOLEAN NOT NULL,
    salt        TEXT NOT NULL,
    -- defaults for configurations created later (new environments)
    off_variant TEXT NOT NULL,
    on_variant  TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT flags_project_key_key UNIQUE (project_id, key)
);

CREATE TABLE flag_configs (
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag_id        BIGINT NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
    version        BIGINT NOT NULL,
    config         JSONB NOT NULL,
    on_state       BOOLEAN NOT NULL,
    killed         BOOLEAN NOT NULL,
    updated_at     BIGINT NOT NULL,
    updated_by     TEXT NOT NULL,
    PRIMARY KEY (environment_id, flag_id)
);
CREATE INDEX flag_configs_flag_idx ON flag_configs (flag_id);

-- Append-only history of every configuration version (revert, restore,
-- change-set revert). No foreign key on the flag: it outlives deletion.
CREATE TABLE flag_config_versions (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    flag_id        BIGINT NOT NULL,
    flag_key       TEXT COLLATE "C" NOT NULL,
    version        BIGINT NOT NULL,
    config         JSONB NOT NULL,
    group_id       TEXT,
    created_at     BIGINT NOT NULL,
    created_by     TEXT NOT NULL,
    CONSTRAINT flag_config_versions_version_key UNIQUE (environment_id, flag_id, version)
);
CREATE INDEX flag_config_versions_group_idx ON flag_config_versions (group_id);

CREATE TABLE segments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT NOT NULL REFERENCES projects (id),
    key         TEXT COLLATE "C" NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    segment     JSONB NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT segments_project_key_key UNIQUE (project_id, key)
);

-- Append-only: see the triggers below. Keys are stored as text (not foreign
-- keys) so that events outlive the objects they describe.
CREATE TABLE audit_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT,
    environment TEXT COLLATE "C",
    flag        TEXT COLLATE "C",
    segment     TEXT COLLATE "C",
    actor       TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    action      TEXT NOT NULL,
    reason      TEXT,
    before      JSONB,
    after       JSONB,
    revision    BIGINT,
    request_id  TEXT,
    client_addr TEXT,
    group_id    TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX audit_events_project_idx ON audit_events (project_id, id);
CREATE INDEX audit_events_flag_idx ON audit_events (project_id, flag, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The change log: one row per environment revision (pruned to the newest N).
CREATE TABLE changes (
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    revision       BIGINT NOT NULL,
    event          JSONB NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (environment_id, revision)
);

CREATE TABLE sdk_keys (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    name           TEXT NOT NULL,
    hash           TEXT NOT NULL,
    prefix         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    CONSTRAINT sdk_keys_hash_key UNIQUE (hash)
);
CREATE INDEX sdk_keys_environment_idx ON sdk_keys (environment_id);
