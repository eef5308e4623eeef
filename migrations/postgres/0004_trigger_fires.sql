-- The fleet-wide rate limit of alert triggers: when each trigger fired in
-- the last minute (older rows are deleted by the next fire of the trigger).
-- Kept structurally identical to migrations/sqlite/0004_trigger_fires.sql.
CREATE TABLE trigger_fires (
    trigger_id BIGINT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
    fired_at   BIGINT NOT NULL
);
CREATE INDEX trigger_fires_idx ON trigger_fires (trigger_id, fired_at);
