//! Single-use links sent by mail: 256 random bits, base64url, stored only
//! as their SHA-256 with a purpose, an account and an expiry (OWASP Forgot
//! Password Cheat Sheet, "URL Tokens"). A token of one purpose never does
//! another's job; using one is one conditional statement.

use super::{
    letters,
    mail::{Letter, Mailer},
};
use crate::{
    clock::{now_ms, rfc3339, Millis},
    config::Config,
    crypto::{hex, random_id},
    error::{AppError, ErrorCode},
    ids::{SessionId, UserId},
    request::ClientInfo,
    sessions::device::device_name,
    store::{
        links::{LinkRow, NewLink},
        throttle::Reservation,
        Db, User,
    },
};
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub use crate::vocab::Purpose;

impl Purpose {
    /// How long a link works.
    fn lifetime_ms(self) -> Millis {
        const MINUTE: Millis = 60_000;
        match self {
            Purpose::ResetPassword => 30 * MINUTE,
            Purpose::VerifyEmail => 24 * 60 * MINUTE,
            Purpose::ChangeEmail => 60 * MINUTE,
            Purpose::NotMe => 7 * 24 * 60 * MINUTE,
        }
    }

    /// The page a link opens.
    fn page(self) -> &'static str {
        match self {
            Purpose::ResetPassword => "/reset-password",
            Purpose::VerifyEmail => "/verify-email",
            Purpose::ChangeEmail => "/confirm-email",
            Purpose::NotMe => "/not-me",
        }
    }
}

/// The bytes of a token: 256 bits.
const TOKEN_BYTES: usize = 32;
/// Its base64url length.
const TOKEN_CHARS: usize = 43;
/// Letters of one purpose to one address, at most one per this long.
const MAIL_SPACING_MS: Millis = 60_000;

/// The stored form of a presented token; `None` if it cannot be one of
/// ours (no database work for garbage).
fn token_hash(token: &str) -> Option<String> {
    let token = token.trim();
    let well_formed = token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| hex(&Sha256::digest(token.as_bytes())))
}

fn invalid_token() -> AppError {
    ErrorCode::InvalidToken.into()
}

/// Issues links and mails them; shared by sign-up, sign-in and recovery.
#[derive(Clone)]
pub struct Links {
    db: Db,
    mailer: Mailer,
    config: Arc<Config>,
}

impl Links {
    pub fn new(db: Db, mailer: Mailer, config: Arc<Config>) -> Self {
        Self { db, mailer, config }
    }

    /// A new link of `purpose` for the account; its address to mail.
    /// Issuing a reset, verification or email-change link makes the
    /// account's older one of the same purpose stop working.
    pub async fn issue(
        &self,
        purpose: Purpose,
        user_id: &UserId,
        email: Option<&str>,
        session_id: Option<&SessionId>,
    ) -> Result<String, AppError> {
        let token = random_id(TOKEN_BYTES);
        let hash = token_hash(&token).expect("a new token is well formed");
        let now = now_ms();
        let link = NewLink {
            token_hash: &hash,
            purpose,
            user_id,
            email,
            session_id,
            now,
            expires_at: now + purpose.lifetime_ms(),
        };
        self.db.insert_link(link, purpose != Purpose::NotMe).await?;
        Ok(format!(
            "{}{}?token={token}",
            self.config.link_origin,
            purpose.page()
        ))
    }

    /// Whether a letter of `purpose` may go to `address` now: at most one
    /// a minute, so nobody can use gatehouse to flood a mailbox.
    pub async fn may_mail(&self, purpose: Purpose, address: &str) -> Result<bool, AppError> {
        self.may_mail_kind(purpose.as_str(), address).await
    }

    /// Whether a letter of `kind` may go to `address` now (at most one a
    /// minute).
    pub async fn may_mail_kind(&self, kind: &str, address: &str) -> Result<bool, AppError> {
        let key = format!("mail:{kind}:{}", hex(&Sha256::digest(address.as_bytes())));
        let reservation = self.db.reserve_in_window(&key, 1, MAIL_SPACING_MS).await?;
        Ok(matches!(reservation, Reservation::Allowed))
    }

    pub fn mail(&self, letter: Letter) {
        self.mailer.send(letter);
    }

    /// The account and details behind an unused, unexpired token of
    /// `purpose`, without using it.
    pub async fn peek(&self, token: &str, purpose: Purpose) -> Result<LinkRow, AppError> {
        let hash = token_hash(token).ok_or_else(invalid_token)?;
        let found = self.db.find_link(&hash, purpose, now_ms()).await?;
        found.ok_or_else(invalid_token)
    }

    /// Uses a token: succeeds once, for one caller, then never again.
    pub async fn take(&self, token: &str, purpose: Purpose) -> Result<LinkRow, AppError> {
        self.take_in(&self.db, token, purpose).await
    }

    /// Uses a token inside the transaction `db` of a larger command: if the
    /// command fails, the link still works.
    pub async fn take_in(
        &self,
        db: &Db,
        token: &str,
        purpose: Purpose,
    ) -> Result<LinkRow, AppError> {
        let hash = token_hash(token).ok_or_else(invalid_token)?;
        let used = db.use_link(&hash, purpose, now_ms()).await?;
        used.ok_or_else(invalid_token)
    }

    /// Makes the account's unused links of `purpose` stop working.
    pub async fn void(&self, user_id: &UserId, purpose: Purpose) -> Result<(), AppError> {
        Ok(self.db.void_links(user_id, purpose, now_ms()).await?)
    }

    /// The page where a person asks for a reset link.
    pub fn forgot_url(&self) -> String {
        format!("{}/forgot-password", self.config.link_origin)
    }

    /// Mails a verification link for the account's address; `false` if one
    /// went there less than a minute ago.
    pub async fn send_verification(&self, user: &User) -> Result<bool, AppError> {
        if !self.may_mail(Purpose::VerifyEmail, &user.email).await? {
            return Ok(false);
        }
        let url = self
            .issue(Purpose::VerifyEmail, &user.id, Some(&user.email), None)
            .await?;
        self.mail(letters::verification(&user.email, &url));
        Ok(true)
    }

    /// After a sign-in: when it came from a device without this account's
    /// device credential, or from an address no earlier session of the
    /// account used, mail an alert whose link ends exactly that session.
    /// Runs after the answer has left.
    pub fn alert_sign_in_later(
        &self,
        user: &User,
        session_id: &SessionId,
        client: &ClientInfo,
        known_device: bool,
        how: &str,
    ) {
        let (links, user, session_id, client, how) = (
            self.clone(),
            user.clone(),
            session_id.clone(),
            client.clone(),
            how.to_owned(),
        );
        tokio::spawn(async move {
            if let Err(err) = links
                .alert_sign_in(&user, &session_id, &client, known_device, &how)
                .await
            {
                tracing::warn!(user_id = %user.id, error = %err, "could not send a sign-in alert");
            }
        });
    }

    /// After a correct password and a wrong second-factor code: tell the
    /// owner their password is known (at most once a minute). Runs after
    /// the answer has left.
    pub fn alert_wrong_code_later(&self, user: &User, client: &ClientInfo) {
        let (links, user, client) = (self.clone(), user.clone(), client.clone());
        tokio::spawn(async move {
            match links.may_mail_kind("wrong_code", &user.email).await {
                Ok(true) => links.mail(letters::wrong_code(
                    &user.email,
                    &device_name(&client.user_agent),
                    client.ip.as_deref().unwrap_or("unknown"),
                    &links.forgot_url(),
                )),
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(user_id = %user.id, error = %err, "could not send a wrong-code alert")
                }
            }
        });
    }

    async fn alert_sign_in(
        &self,
        user: &User,
        session_id: &SessionId,
        client: &ClientInfo,
        known_device: bool,
        how: &str,
    ) -> Result<(), AppError> {
        let known_address = match client.ip.as_deref() {
            Some(ip) => self.db.address_known(&user.id, ip, session_id).await?,
            None => true,
        };
        if (known_device && known_address) || !self.may_mail(Purpose::NotMe, &user.email).await? {
            return Ok(());
        }
        let url = self
            .issue(Purpose::NotMe, &user.id, None, Some(session_id))
            .await?;
        let at = rfc3339(now_ms()).replace('T', " ").replace('Z', " UTC");
        self.mail(letters::sign_in_alert(
            &user.email,
            &device_name(&client.user_agent),
            client.ip.as_deref().unwrap_or("unknown"),
            how,
            &at,
            &url,
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_tokens_are_looked_up() {
        let token = random_id(TOKEN_BYTES);
        assert_eq!(token.len(), TOKEN_CHARS);
        assert!(token_hash(&token).is_some());
        assert_ne!(token_hash(&token), token_hash(&random_id(TOKEN_BYTES)));
        for bad in ["", "short", &"a".repeat(44), &format!("{}=", &token[..42])] {
            assert!(token_hash(bad).is_none(), "{bad}");
        }
    }
}
