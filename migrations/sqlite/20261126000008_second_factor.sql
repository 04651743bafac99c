-- An authenticator app (TOTP, RFC 6238) per account. The secret is sealed
-- (XChaCha20-Poly1305 under a key of its own, bound to the account), never
-- stored in the clear. It works only once confirmed with a code; last_step is
-- the time step of the last accepted code, so no code is accepted twice
-- (RFC 6238 §5.2).
CREATE TABLE totp_factors (
    user_id       TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_sealed BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    last_step     INTEGER
);

-- Recovery codes, stored only as a keyed hash; each works once.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- The second step of a sign-in: a correct password for an account with a
-- second factor opens one of these (no session yet). Only the SHA-256 of its
-- token is kept; completing it is one conditional statement.
CREATE TABLE mfa_challenges (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('browser', 'api')),
    known_device INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);
