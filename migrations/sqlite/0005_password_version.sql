-- A per-user password version: bumped by every password change or reset.
-- Session tokens carry the version they were issued under and stop working
-- once it moves on (a changed or reset password ends the user's sessions).
-- Kept structurally identical to migrations/postgres/0005_password_version.sql.
ALTER TABLE users ADD COLUMN password_version INTEGER NOT NULL DEFAULT 0;
