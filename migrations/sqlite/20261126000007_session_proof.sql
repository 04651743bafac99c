-- How each session signed in (password, password+totp, recovery_code,
-- passkey), and when it last proved a factor (NULL: at its start).
-- Sensitive actions need a recent proof.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
ALTER TABLE sessions ADD COLUMN proved_at INTEGER;
