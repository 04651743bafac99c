-- A session deleted while still active (an account deleted with a sign-in
-- racing its revocation) is recorded as revoked, so every instance refuses
-- its access tokens.
CREATE TRIGGER sessions_deleted BEFORE DELETE ON sessions
WHEN OLD.revoked_at IS NULL
  AND OLD.idle_expires_at > CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)
BEGIN
    INSERT INTO revocations (session_id, reason, revoked_at)
    VALUES (OLD.id, 'account_deleted',
            CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER));
END;
