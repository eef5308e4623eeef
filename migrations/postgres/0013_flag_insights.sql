-- Flag insights (issue 17 parts 2 and 4): which SDK instances and services
-- evaluate a flag. Written with every telemetry batch (its evaluations,
-- attributed to the batch's instance and the service named in its
-- X-Switchyard-Service header, '' when none); upserts that add, like every
-- telemetry table; pruned with the others by the retention.
-- Kept structurally identical to migrations/sqlite/0013_flag_insights.sql.

-- Per (environment, flag, instance): the instance's last batch that
-- evaluated the flag (ms since the epoch), the minute it counted in, and
-- its evaluations in total. Bounded by instances x flags (no minutes).
CREATE TABLE telemetry_flag_instances (
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag TEXT NOT NULL,
    instance TEXT NOT NULL,
    service TEXT NOT NULL DEFAULT '',
    last_minute BIGINT NOT NULL,
    last_batch_at BIGINT NOT NULL,
    evaluations BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (environment_id, flag, instance)
);
CREATE INDEX telemetry_flag_instances_last_idx ON telemetry_flag_instances (last_batch_at);

-- Per (environment, flag, service, minute): evaluations.
CREATE TABLE telemetry_flag_services (
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag TEXT NOT NULL,
    service TEXT NOT NULL,
    minute BIGINT NOT NULL,
    evaluations BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (environment_id, flag, service, minute)
);
CREATE INDEX telemetry_flag_services_minute_idx ON telemetry_flag_services (minute);
