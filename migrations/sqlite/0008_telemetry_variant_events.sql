-- SDK telemetry (issue 16): custom events tracked while serving requests,
-- per (environment, flag, variant, event, minute), so that the release
-- guard can compare an event between treatment and control. Upserts add,
-- like every telemetry table; pruned with the others by the retention.
-- Kept structurally identical to migrations/postgres/0008_telemetry_variant_events.sql.
CREATE TABLE telemetry_variant_events (
    environment_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag TEXT NOT NULL,
    variant TEXT NOT NULL,
    event TEXT NOT NULL,
    minute INTEGER NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    value_sum REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (environment_id, flag, variant, event, minute)
);
CREATE INDEX telemetry_variant_events_minute_idx ON telemetry_variant_events (minute);
