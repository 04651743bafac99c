-- Every change to an account row also goes into the ordered revocation
-- log, as `user:<id>`, and is pushed with NOTIFY, so every instance forgets
-- its cached copy of the account at once. Written by a trigger, so no code
-- path can change an account without it.
CREATE FUNCTION gatehouse_user_changed() RETURNS trigger AS $$
DECLARE
    changed TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := 'user:' || OLD.id;
    ELSE
        changed := 'user:' || NEW.id;
    END IF;
    INSERT INTO revocations (session_id, reason, revoked_at)
    VALUES (changed, 'account_changed', CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT));
    PERFORM pg_notify('gatehouse_revocations', changed);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
FOR EACH ROW EXECUTE FUNCTION gatehouse_user_changed();
