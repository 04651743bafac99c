-- Every change to an account row also goes into the ordered revocation
-- log, as `user:<id>`, so every instance forgets its cached copy of the
-- account at its next sync. Written by triggers, so no code path can change
-- an account without it.
CREATE TRIGGER users_changed AFTER UPDATE ON users
BEGIN
    INSERT INTO revocations (session_id, reason, revoked_at)
    VALUES ('user:' || NEW.id, 'account_changed',
            CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER));
END;

CREATE TRIGGER users_deleted AFTER DELETE ON users
BEGIN
    INSERT INTO revocations (session_id, reason, revoked_at)
    VALUES ('user:' || OLD.id, 'account_changed',
            CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER));
END;
