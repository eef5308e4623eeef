-- Who approved a change request, by kind and id (issue 19: an approver
-- revoked, demoted below the policy's approver role, or removed from the
-- project after approving still counted toward the request's approvals).
-- Kept structurally identical to migrations/sqlite/0019_approval_links.sql.
--
-- author_kind: 'user' or 'token'; author_id: users.id or api_tokens.id
-- (kept for approvals; a comment's are recorded too). When a request is
-- applied, only approvals whose approver still exists, is usable (a token
-- not revoked, in scope) and still has the policy's approver role in the
-- project count.
ALTER TABLE change_request_notes ADD COLUMN author_kind TEXT;
ALTER TABLE change_request_notes ADD COLUMN author_id BIGINT;

-- Notes written before: the name is resolved where it names exactly one
-- principal (a user, or a single token, and not both), as 0017 did for
-- requesters. The others stay NULL: such an approval no longer counts
-- (nobody can say who gave it), and applying says so.
UPDATE change_request_notes SET author_kind = 'user',
    author_id = (SELECT u.id FROM users u WHERE u.username = change_request_notes.author)
    WHERE author IN (SELECT username FROM users)
      AND author NOT IN (SELECT name FROM api_tokens);
UPDATE change_request_notes SET author_kind = 'token',
    author_id = (SELECT t.id FROM api_tokens t WHERE t.name = change_request_notes.author)
    WHERE author NOT IN (SELECT username FROM users)
      AND (SELECT COUNT(*) FROM api_tokens t WHERE t.name = change_request_notes.author) = 1;

-- The change request a release plan started where approvals are on waits
-- for (issue 19: the link lived in its first step's job payload, and the
-- request and the plan were made in two transactions, so a crash between
-- them left a request with no plan). Set in the one transaction that opens
-- the request and creates the plan; kept once the plan has moved on.
ALTER TABLE release_plans ADD COLUMN change_request_id BIGINT;

-- Plans made before: the link is read from their first step's job.
UPDATE release_plans SET change_request_id = (
    SELECT (j.payload ->> 'change_request')::BIGINT FROM jobs j WHERE j.key = 'release:' || release_plans.id || ':0'
);
