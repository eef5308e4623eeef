-- The durable webhook outbox. Kept structurally identical to
-- migrations/postgres/0003_webhook_outbox.sql.

-- Event names: `kill`/`restore`/`all` become `flag.killed`/`flag.restored`/
-- `env.panic` (a panic used to be announced as `kill`; `all` meant every
-- notification there was, i.e. those three).
UPDATE webhooks SET events = CASE
    WHEN events LIKE '%"all"%' OR (events LIKE '%"kill"%' AND events LIKE '%"restore"%')
        THEN '["flag.killed","flag.restored","env.panic"]'
    WHEN events LIKE '%"kill"%' THEN '["flag.killed","env.panic"]'
    ELSE '["flag.restored"]'
END;

-- One row per (event, webhook), written in the transaction of the change
-- that caused it. `delivery_id` is the event's id: the same for every
-- webhook and every attempt (receivers dedupe on it). `body` is the exact
-- JSON text that is signed and sent. A worker claims due rows
-- (`status = 'pending'` and `next_attempt_at` reached) by pushing
-- `next_attempt_at` one lease ahead.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id),
    delivery_id     TEXT NOT NULL,
    event           TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_attempt_at INTEGER,
    response_status INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    CONSTRAINT webhook_deliveries_once UNIQUE (webhook_id, delivery_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);
