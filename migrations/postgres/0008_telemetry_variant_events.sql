-- SDK telemetry (issue 16): custom events tracked while serving requests,
-- per (environment, flag, variant, event, minute), so that the release
-- guard can compare an event between treatment and control. Upserts add,
-- like every telemetry table; pruned with the others by the retention.
-- Kept structurally identical to migrations/sqlite/0008_telemetry_variant_events.sql.
CREATE TABLE telemetry_variant_events (
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag TEXT NOT NULL,
    variant TEXT NOT NULL,
    event TEXT NOT NULL,
    minute BIGINT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    value_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (environment_id, flag, variant, event, minute)
);
CREATE INDEX telemetry_variant_events_minute_idx ON telemetry_variant_events (minute);
