-- Who asked for a change applied later, by kind and id (issue 19: a
-- scheduled change whose requester was revoked, demoted or lost its
-- project applied anyway; a name alone cannot tell a user from a token,
-- nor a revoked token from a new one of the same name). Kept structurally
-- identical to migrations/sqlite/0017_requesters.sql.
--
-- requester_kind/author_kind: 'user' or 'token'; requester_id/author_id:
-- users.id or api_tokens.id. When a scheduled change is due and when a
-- change request is applied, that principal must still exist, be usable
-- (a token not revoked, in scope) and be at least an editor in the project.
ALTER TABLE scheduled_changes ADD COLUMN requester_kind TEXT;
ALTER TABLE scheduled_changes ADD COLUMN requester_id BIGINT;
ALTER TABLE change_requests ADD COLUMN author_kind TEXT;
ALTER TABLE change_requests ADD COLUMN author_id BIGINT;

-- Rows written before: the name is resolved where it names exactly one
-- principal (a user, or a single token, and not both). The others stay
-- NULL: such a pending change fails when due, and such a request cannot
-- be applied, each saying why (nobody can vouch for who asked).
UPDATE scheduled_changes SET requester_kind = 'user',
    requester_id = (SELECT u.id FROM users u WHERE u.username = scheduled_changes.requested_by)
    WHERE requested_by IN (SELECT username FROM users)
      AND requested_by NOT IN (SELECT name FROM api_tokens);
UPDATE scheduled_changes SET requester_kind = 'token',
    requester_id = (SELECT t.id FROM api_tokens t WHERE t.name = scheduled_changes.requested_by)
    WHERE requested_by NOT IN (SELECT username FROM users)
      AND (SELECT COUNT(*) FROM api_tokens t WHERE t.name = scheduled_changes.requested_by) = 1;
UPDATE change_requests SET author_kind = 'user',
    author_id = (SELECT u.id FROM users u WHERE u.username = change_requests.author)
    WHERE author IN (SELECT username FROM users)
      AND author NOT IN (SELECT name FROM api_tokens);
UPDATE change_requests SET author_kind = 'token',
    author_id = (SELECT t.id FROM api_tokens t WHERE t.name = change_requests.author)
    WHERE author NOT IN (SELECT username FROM users)
      AND (SELECT COUNT(*) FROM api_tokens t WHERE t.name = change_requests.author) = 1;
