-- Where each second factor came from. One added while the account's address
-- was unproved may have been planted by someone who signed up with another
-- person's address ("pre-hijacking"): a reset by mail or a "this wasn't me"
-- removes it. One added by a session that "this wasn't me" ends goes with it.
ALTER TABLE totp_factors ADD COLUMN added_unverified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE totp_factors ADD COLUMN added_by_session TEXT;
ALTER TABLE passkeys ADD COLUMN added_unverified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE passkeys ADD COLUMN added_by_session TEXT;
UPDATE totp_factors SET added_unverified = TRUE
 WHERE user_id IN (SELECT id FROM users WHERE email_verified_at IS NULL);
UPDATE passkeys SET added_unverified = TRUE
 WHERE user_id IN (SELECT id FROM users WHERE email_verified_at IS NULL);
