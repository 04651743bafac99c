-- Every revocation in order, for other instances to pick up by sequence
-- number (not by any server's clock), and pushed to them at once with
-- NOTIFY. Kept apart from `sessions`, so the revocations of a deleted
-- account outlive its rows. Written by a trigger, so no code path can
-- revoke a session without recording it here.
CREATE TABLE revocations (
    seq        BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL,
    reason     TEXT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX revocations_by_time ON revocations (revoked_at);

INSERT INTO revocations (session_id, reason, revoked_at)
SELECT id, COALESCE(revoked_reason, 'revoked'), revoked_at FROM sessions
WHERE revoked_at IS NOT NULL ORDER BY revoked_at;

CREATE FUNCTION gatehouse_session_revoked() RETURNS trigger AS $$
BEGIN
    INSERT INTO revocations (session_id, reason, revoked_at)
    VALUES (NEW.id, COALESCE(NEW.revoked_reason, 'revoked'), NEW.revoked_at);
    PERFORM pg_notify('gatehouse_revocations', NEW.id);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_revoked AFTER UPDATE OF revoked_at ON sessions
FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
EXECUTE FUNCTION gatehouse_session_revoked();
