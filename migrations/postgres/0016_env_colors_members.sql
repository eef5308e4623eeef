-- Issue 19 §5 and §6, one migration for both (this work owns the number
-- 0016). Kept structurally identical to migrations/sqlite/0016_env_colors_members.sql.
--
-- §6: an environment's colour (`#rrggbb`, NULL: the UI's default) and its
-- place in the project's lists (ascending, ties by creation). Existing
-- environments keep their creation order.
ALTER TABLE environments ADD COLUMN color TEXT;
ALTER TABLE environments ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
UPDATE environments SET position = (
    SELECT COUNT(*) FROM environments e2
    WHERE e2.project_id = environments.project_id AND e2.id < environments.id
);

-- §5: per-project user roles. A user's role in a project is the higher of
-- their global role (`users.role`) and their membership's role here.
CREATE TABLE project_members (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    CONSTRAINT project_members_pkey PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user_idx ON project_members (user_id);
