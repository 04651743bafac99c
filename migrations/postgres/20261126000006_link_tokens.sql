-- When the account's current address was proved to be its owner's (a link
-- sent to it was followed); NULL until then.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

-- Single-use links sent by mail. Only the SHA-256 of a token is kept, with
-- what it may be used for: a token of one purpose never does another's job.
CREATE TABLE link_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email', 'not_me')),
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The address the link was sent to (verification, email change).
    email      TEXT,
    -- The session a "this wasn't me" link ends.
    session_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX link_tokens_by_user ON link_tokens (user_id, purpose);
CREATE INDEX link_tokens_by_expiry ON link_tokens (expires_at);
