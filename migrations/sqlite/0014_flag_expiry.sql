-- Flag expiry (issue 17 part 3): a flag may declare when it should be gone
-- (ms since the epoch; NULL: no expiry). Past it, the flag is listed as a
-- removal candidate by the stale-flag report, whatever it serves. The
-- temporary/permanent type is the existing `temporary` column.
-- Kept structurally identical to migrations/postgres/0014_flag_expiry.sql.
ALTER TABLE flags ADD COLUMN expires_at INTEGER;
