-- SDK telemetry (issue 16 part 1): aggregates written by
-- POST /sdk/v1/telemetry. Every write is an upsert that ADDS
-- (ON CONFLICT DO UPDATE SET x = x + excluded.x), so batches and replicas
-- writing the same minute add up exactly. `minute` is minutes since the
-- Unix epoch. Rows older than the retention are pruned by a background task.
-- Kept structurally identical to migrations/sqlite/0006_telemetry.sql.

-- Per (environment, flag, variant, minute): evaluations and request
-- outcomes. b0..b14: requests per latency bucket, upper bounds 1, 2, 5, 10,
-- 20, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000 ms, then slower.
CREATE TABLE telemetry_variants (
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag TEXT NOT NULL,
    variant TEXT NOT NULL,
    minute BIGINT NOT NULL,
    evaluations BIGINT NOT NULL DEFAULT 0,
    requests BIGINT NOT NULL DEFAULT 0,
    errors BIGINT NOT NULL DEFAULT 0,
    latency_ms_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    latency_ms_sum_sq DOUBLE PRECISION NOT NULL DEFAULT 0,
    b0 BIGINT NOT NULL DEFAULT 0,
    b1 BIGINT NOT NULL DEFAULT 0,
    b2 BIGINT NOT NULL DEFAULT 0,
    b3 BIGINT NOT NULL DEFAULT 0,
    b4 BIGINT NOT NULL DEFAULT 0,
    b5 BIGINT NOT NULL DEFAULT 0,
    b6 BIGINT NOT NULL DEFAULT 0,
    b7 BIGINT NOT NULL DEFAULT 0,
    b8 BIGINT NOT NULL DEFAULT 0,
    b9 BIGINT NOT NULL DEFAULT 0,
    b10 BIGINT NOT NULL DEFAULT 0,
    b11 BIGINT NOT NULL DEFAULT 0,
    b12 BIGINT NOT NULL DEFAULT 0,
    b13 BIGINT NOT NULL DEFAULT 0,
    b14 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (environment_id, flag, variant, minute)
);
CREATE INDEX telemetry_variants_minute_idx ON telemetry_variants (minute);

-- Evaluations that served the caller's default, per (environment, minute).
CREATE TABLE telemetry_unattributed (
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    minute BIGINT NOT NULL,
    evaluations BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (environment_id, minute)
);
CREATE INDEX telemetry_unattributed_minute_idx ON telemetry_unattributed (minute);

-- Custom events (Client::track), per (environment, event, minute).
CREATE TABLE telemetry_events (
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    minute BIGINT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    value_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (environment_id, event, minute)
);
CREATE INDEX telemetry_events_minute_idx ON telemetry_events (minute);

-- The last batch of each SDK instance (for the fleet view): its SDK, when
-- (ms since the epoch) and the items it reported dropped, in total.
CREATE TABLE telemetry_instances (
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    instance TEXT NOT NULL,
    sdk TEXT NOT NULL,
    last_batch_at BIGINT NOT NULL,
    dropped BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (environment_id, instance)
);
CREATE INDEX telemetry_instances_last_idx ON telemetry_instances (last_batch_at);
