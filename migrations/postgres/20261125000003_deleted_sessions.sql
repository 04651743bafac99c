-- A session deleted while still active (an account deleted with a sign-in
-- racing its revocation) is recorded as revoked, so every instance refuses
-- its access tokens.
CREATE FUNCTION gatehouse_session_deleted() RETURNS trigger AS $$
BEGIN
    INSERT INTO revocations (session_id, reason, revoked_at)
    VALUES (OLD.id, 'account_deleted',
            CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT));
    PERFORM pg_notify('gatehouse_revocations', OLD.id);
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_deleted BEFORE DELETE ON sessions
FOR EACH ROW WHEN (OLD.revoked_at IS NULL
  AND OLD.idle_expires_at > CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT))
EXECUTE FUNCTION gatehouse_session_deleted();
