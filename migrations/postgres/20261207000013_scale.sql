-- The hourly purge deletes in small batches, each found through an index
-- instead of a scan of the whole table: sessions by idle expiry (never
-- later than the absolute one), throttle counters by their last failure.
CREATE INDEX sessions_by_idle_expiry ON sessions (idle_expires_at);
CREATE INDEX login_throttle_by_last_failure ON login_throttle (last_failure_at);

-- Events counted per hour and kind as they are written, so the dashboard's
-- charts read at most 720 hours of counts instead of the log itself. The
-- counts are of what happened: deleting an account (and its events) does
-- not rewrite them; the purge drops hours past the log's retention. Each
-- hour and kind is counted in four shards (by the event's id), so
-- concurrent sign-ins do not all wait for one row's lock until they commit;
-- a chart reads at most 720 hours x 4 shards a kind.
CREATE TABLE event_counts (
    hour  BIGINT NOT NULL, -- unix milliseconds / 3,600,000
    kind  TEXT NOT NULL,
    shard BIGINT NOT NULL,
    n     BIGINT NOT NULL,
    PRIMARY KEY (hour, kind, shard)
);
-- No event may be written between the count and the trigger.
LOCK TABLE security_events IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO event_counts (hour, kind, shard, n)
SELECT at / 3600000, kind, 0, COUNT(*) FROM security_events GROUP BY at / 3600000, kind;
CREATE FUNCTION count_security_event() RETURNS trigger AS $$
BEGIN
    INSERT INTO event_counts (hour, kind, shard, n) VALUES (NEW.at / 3600000, NEW.kind, NEW.id % 4, 1)
    ON CONFLICT (hour, kind, shard) DO UPDATE SET n = event_counts.n + 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER security_events_counted AFTER INSERT ON security_events
FOR EACH ROW EXECUTE FUNCTION count_security_event();

-- The admin search finds accounts by any part of an address: a trigram
-- index (pg_trgm, a trusted extension shipped with PostgreSQL) answers
-- that without reading every address. Where the extension cannot be made,
-- the search still works, by reading every address.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX users_email_trigrams ON users USING gin (email gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%); the admin search reads every address', SQLERRM;
END
$$;
