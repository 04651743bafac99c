-- Identities at OpenID Connect providers, linked to accounts. An identity is
-- the pair (issuer, subject), never the address the provider gave
-- (OpenID Connect Core 1.0 §5.7: only iss and sub identify an End-User).
CREATE TABLE identities (
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    -- The configured provider's name (`google`), for pages and unlinking.
    provider     TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The address the provider gave when the identity was last used.
    email        TEXT,
    -- The session that linked it (none when it opened the account):
    -- "this wasn't me" removes what the sessions it ends linked.
    linked_by_session TEXT,
    linked_at    BIGINT NOT NULL,
    last_used_at BIGINT,
    PRIMARY KEY (issuer, subject)
);
-- One identity per provider and account.
CREATE UNIQUE INDEX identities_by_user ON identities (user_id, provider);

-- A round trip to a provider in progress: state, nonce and the PKCE
-- verifier stay on the server under the SHA-256 of a random id that the
-- browser holds in a ten-minute cookie. Taken once.
CREATE TABLE oidc_flows (
    id_hash       TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    purpose       TEXT NOT NULL CHECK (purpose IN ('sign_in', 'link', 'reauth')),
    state         TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next          TEXT,
    -- For linking and re-authentication: the session that started it.
    session_id    TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX oidc_flows_by_expiry ON oidc_flows (expires_at);

-- A session (or a second step) opened by a provider sign-in: the provider's
-- name and the authentication methods it reported (RFC 8176), space-separated.
ALTER TABLE sessions ADD COLUMN provider TEXT;
ALTER TABLE sessions ADD COLUMN amr TEXT;
ALTER TABLE mfa_challenges ADD COLUMN provider TEXT;
ALTER TABLE mfa_challenges ADD COLUMN amr TEXT;
