-- Scheduled changes (issue 19 §2): a change to one flag's configuration in
-- one environment (any of `on`, `targets`, `rules`, `fallthrough`; the
-- JSON shape of `store::ConfigPatch`), applied at `due_at` by the durable
-- scheduler (job `change:<id>` of kind `change.apply` in `jobs`). Kept
-- structurally identical to migrations/postgres/0011_scheduled_changes.sql.
--
-- state: pending (editable, cancellable), applied (by one transaction with
-- the configuration write: `revision` is the one it produced, NULL when the
-- flag already served it), cancelled, failed (`result` says why: the flag
-- was deleted, a variant the change names is gone). `requested_by`: the
-- user or token that scheduled it (the audit's requester).
CREATE TABLE scheduled_changes (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag           TEXT NOT NULL,
    change         TEXT NOT NULL,
    due_at         INTEGER NOT NULL,
    state          TEXT NOT NULL,
    reason         TEXT,
    requested_by   TEXT NOT NULL,
    revision       INTEGER,
    result         TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX scheduled_changes_env_idx ON scheduled_changes (environment_id, due_at);
