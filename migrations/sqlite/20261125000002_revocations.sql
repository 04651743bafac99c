-- Every revocation in order, for other instances to pick up by sequence
-- number (not by any server's clock). Kept apart from `sessions`, so the
-- revocations of a deleted account outlive its rows. Written by a trigger,
-- so no code path can revoke a session without recording it here.
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    reason     TEXT NOT NULL,
    revoked_at INTEGER NOT NULL
);
CREATE INDEX revocations_by_time ON revocations (revoked_at);

INSERT INTO revocations (session_id, reason, revoked_at)
SELECT id, COALESCE(revoked_reason, 'revoked'), revoked_at FROM sessions
WHERE revoked_at IS NOT NULL ORDER BY revoked_at;

CREATE TRIGGER sessions_revoked AFTER UPDATE OF revoked_at ON sessions
WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
BEGIN
    INSERT INTO revocations (session_id, reason, revoked_at)
    VALUES (NEW.id, COALESCE(NEW.revoked_reason, 'revoked'), NEW.revoked_at);
END;
