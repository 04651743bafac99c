-- The hourly purge deletes in small batches, each found through an index
-- instead of a scan of the whole table: sessions by idle expiry (never
-- later than the absolute one), throttle counters by their last failure.
CREATE INDEX sessions_by_idle_expiry ON sessions (idle_expires_at);
CREATE INDEX login_throttle_by_last_failure ON login_throttle (last_failure_at);

-- Events counted per hour and kind as they are written, so the dashboard's
-- charts read at most 720 hours of counts instead of the log itself. The
-- counts are of what happened: deleting an account (and its events) does
-- not rewrite them; the purge drops hours past the log's retention. SQLite
-- has one writer at a time, so one row per hour and kind (shard 0); on
-- PostgreSQL the count is spread over four.
CREATE TABLE event_counts (
    hour  INTEGER NOT NULL, -- unix milliseconds / 3,600,000
    kind  TEXT NOT NULL,
    shard INTEGER NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (hour, kind, shard)
);
INSERT INTO event_counts (hour, kind, shard, n)
SELECT at / 3600000, kind, 0, COUNT(*) FROM security_events GROUP BY at / 3600000, kind;
CREATE TRIGGER security_events_counted AFTER INSERT ON security_events
BEGIN
    INSERT INTO event_counts (hour, kind, shard, n) VALUES (NEW.at / 3600000, NEW.kind, 0, 1)
    ON CONFLICT (hour, kind, shard) DO UPDATE SET n = n + 1;
END;

-- The admin search finds accounts by any part of an address: a trigram
-- index (FTS5) answers that without reading every address. It keeps the
-- account id beside the address; the triggers find a row to drop by the
-- address itself (a quoted phrase of the index, then the exact value).
CREATE VIRTUAL TABLE users_email_trigrams USING fts5(email, id UNINDEXED, tokenize = 'trigram');
INSERT INTO users_email_trigrams (email, id) SELECT email, id FROM users;
CREATE TRIGGER users_email_indexed AFTER INSERT ON users
BEGIN
    INSERT INTO users_email_trigrams (email, id) VALUES (NEW.email, NEW.id);
END;
CREATE TRIGGER users_email_unindexed AFTER DELETE ON users
BEGIN
    DELETE FROM users_email_trigrams
    WHERE users_email_trigrams MATCH '"' || replace(OLD.email, '"', '""') || '"'
      AND id = OLD.id;
END;
CREATE TRIGGER users_email_reindexed AFTER UPDATE OF email ON users
WHEN OLD.email IS NOT NEW.email
BEGIN
    DELETE FROM users_email_trigrams
    WHERE users_email_trigrams MATCH '"' || replace(OLD.email, '"', '""') || '"'
      AND id = OLD.id;
    INSERT INTO users_email_trigrams (email, id) VALUES (NEW.email, NEW.id);
END;
