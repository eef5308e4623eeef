-- Incident timelines (issue 17): the incident id of a kill, restore or
-- delivery receipt as a column of its audit event, indexed per project, so
-- that every event of one incident is one index range and the list of a
-- project's incidents one index scan. Written by new events only; the
-- events written before this migration are backfilled once here: a kill's
-- incident was in its `after` (the configuration it wrote), its receipt's
-- is its kill's (same environment, flag and revision). The table is
-- append-only: its UPDATE trigger is dropped for the backfill alone and
-- created again, in this migration's transaction.
-- Kept structurally identical to migrations/postgres/0010_audit_incident.sql.
ALTER TABLE audit_events ADD COLUMN incident TEXT;

DROP TRIGGER audit_events_no_update;
UPDATE audit_events SET incident = json_extract(after, '$.config.kill.incident')
    WHERE action = 'flag.kill' AND json_extract(after, '$.config.kill.incident') IS NOT NULL;
UPDATE audit_events SET incident = (
        SELECT k.incident FROM audit_events k
        WHERE k.action = 'flag.kill' AND k.incident IS NOT NULL
          AND k.project_id = audit_events.project_id AND k.environment = audit_events.environment
          AND k.flag = audit_events.flag AND k.revision = audit_events.revision
        LIMIT 1)
    WHERE action = 'flag.kill.applied';
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- On the id's first 200 characters: an incident id has no length limit, and
-- a B-tree entry on Postgres must fit in a third of a page (a 300 KB id
-- would fail the insert). Lookups compare the prefix, then the whole id.
CREATE INDEX audit_events_incident_idx ON audit_events (project_id, substr(incident, 1, 200), id)
    WHERE incident IS NOT NULL;
