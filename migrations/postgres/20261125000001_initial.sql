-- Accounts. Emails are stored normalized (trimmed, lower-cased).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL -- unix milliseconds, like every time below
);

-- One row per sign-in (a refresh-token family). No token is stored: the
-- current token is re-derived from (id, generation, secret) under a server key.
CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('browser', 'api')),
    secret              BYTEA NOT NULL,
    generation          BIGINT NOT NULL DEFAULT 0,
    rotated_at          BIGINT,
    created_at          BIGINT NOT NULL,
    last_used_at        BIGINT NOT NULL,
    idle_expires_at     BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    user_agent          TEXT NOT NULL DEFAULT '',
    ip                  TEXT,
    revoked_at          BIGINT,
    revoked_reason      TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Failed sign-in counters; kept in the database so a restart does not reset them.
CREATE TABLE login_throttle (
    key             TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until   BIGINT NOT NULL
);

-- What happened to an account, for the account's owner.
CREATE TABLE security_events (
    id        BIGSERIAL PRIMARY KEY,
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    at        BIGINT NOT NULL,
    device    TEXT,
    ip        TEXT,
    detail    TEXT NOT NULL DEFAULT '',
    dismissed BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX security_events_by_user ON security_events (user_id, at);
