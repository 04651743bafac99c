-- Access-token signing keys, shared by every instance. A key moves
-- standby (published, not yet signing) -> current (signing) -> previous
-- (verifying the tokens it signed until `verify_until`) -> retired, or is
-- revoked at any point. Private keys are sealed with a key derived from the
-- master secret, and wiped once a key stops signing for good.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    state        TEXT NOT NULL,
    public_key   BYTEA NOT NULL,
    private_key  BYTEA,
    created_at   BIGINT NOT NULL,
    activate_at  BIGINT,
    activated_at BIGINT,
    verify_until BIGINT,
    ended_at     BIGINT
);
-- At most one key signs, whatever instances race to promote one.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (state) WHERE state = 'current';
-- At most one key waits to sign, whatever instances race to publish one.
CREATE UNIQUE INDEX signing_keys_one_standby ON signing_keys (state) WHERE state = 'standby';
