-- The security dashboard counts events of a few kinds over a time range and
-- pages through everyone's events newest first: without these it reads the
-- whole table for each.
CREATE INDEX security_events_by_kind_at ON security_events (kind, at, id);
CREATE INDEX security_events_by_at ON security_events (at, id);
