-- With each revocation, when the session was last given an access token
-- (its `last_used_at`, written by the clock of the instance that issued
-- it): every instance keeps refusing the session until that token has
-- expired by its own `exp`, whatever the database's clock and its own say.
ALTER TABLE revocations ADD COLUMN last_issued_at BIGINT;

UPDATE revocations SET last_issued_at =
    (SELECT last_used_at FROM sessions WHERE sessions.id = revocations.session_id);

CREATE OR REPLACE FUNCTION gatehouse_session_revoked() RETURNS trigger AS $$
BEGIN
    INSERT INTO revocations (session_id, reason, revoked_at, last_issued_at)
    VALUES (NEW.id, COALESCE(NEW.revoked_reason, 'revoked'), NEW.revoked_at, NEW.last_used_at);
    PERFORM pg_notify('gatehouse_revocations', NEW.id);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION gatehouse_session_deleted() RETURNS trigger AS $$
BEGIN
    INSERT INTO revocations (session_id, reason, revoked_at, last_issued_at)
    VALUES (OLD.id, 'account_deleted',
            CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT), OLD.last_used_at);
    PERFORM pg_notify('gatehouse_revocations', OLD.id);
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
