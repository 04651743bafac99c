-- With each revocation, when the session was last given an access token
-- (its `last_used_at`, written by the clock of the instance that issued
-- it): every instance keeps refusing the session until that token has
-- expired by its own `exp`, whatever the database's clock and its own say.
ALTER TABLE revocations ADD COLUMN last_issued_at INTEGER;

UPDATE revocations SET last_issued_at =
    (SELECT last_used_at FROM sessions WHERE sessions.id = revocations.session_id);

DROP TRIGGER sessions_revoked;
CREATE TRIGGER sessions_revoked AFTER UPDATE OF revoked_at ON sessions
WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
BEGIN
    INSERT INTO revocations (session_id, reason, revoked_at, last_issued_at)
    VALUES (NEW.id, COALESCE(NEW.revoked_reason, 'revoked'), NEW.revoked_at, NEW.last_used_at);
END;

DROP TRIGGER sessions_deleted;
CREATE TRIGGER sessions_deleted BEFORE DELETE ON sessions
WHEN OLD.revoked_at IS NULL
  AND OLD.idle_expires_at > CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)
BEGIN
    INSERT INTO revocations (session_id, reason, revoked_at, last_issued_at)
    VALUES (OLD.id, 'account_deleted',
            CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER), OLD.last_used_at);
END;
