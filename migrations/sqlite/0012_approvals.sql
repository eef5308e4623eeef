-- Approvals per environment (issue 19 §3). Kept structurally identical to
-- migrations/postgres/0012_approvals.sql.

-- An environment's policy: ordinary configuration changes need
-- `approvals` approvals (0: off) by users or tokens of at least
-- `approver_role`, through a change request. Kills, panics, restores,
-- alert triggers and release-guard rollbacks never do.
CREATE TABLE approval_policies (
    environment_id INTEGER PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    approvals      INTEGER NOT NULL,
    approver_role  TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- A proposed change of one flag's configuration (the JSON shape of
-- `store::ConfigPatch`), made against `base_version`; `diff`: each field it
-- sets, its value then and the value it sets. state: open, applied
-- (`revision`: the one its write produced), cancelled.
CREATE TABLE change_requests (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag           TEXT NOT NULL,
    change         TEXT NOT NULL,
    base_version   INTEGER NOT NULL,
    diff           TEXT NOT NULL,
    state          TEXT NOT NULL,
    reason         TEXT,
    author         TEXT NOT NULL,
    revision       INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX change_requests_env_idx ON change_requests (environment_id, state);

-- Approvals and comments of a change request (kind: approval, comment);
-- one approval per approver.
CREATE TABLE change_request_notes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES change_requests (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    author     TEXT NOT NULL,
    body       TEXT,
    at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX change_request_notes_one_approval ON change_request_notes (request_id, author)
    WHERE kind = 'approval';
