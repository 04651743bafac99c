//! Passkeys (WebAuthn discoverable credentials, with user verification),
//! checked by webauthn-rs. The relying-party id and origin come from
//! `GATEHOUSE_PUBLIC_URL` (or, in development, `localhost` on the bound
//! port: WebAuthn refuses an IP address as relying-party id). Ceremony
//! state is kept on the server under a random id the browser holds in a
//! short-lived cookie, and used once (W3C WebAuthn Level 3 §13.4.3,
//! "Cryptographic Challenges").

use super::PasskeyInfo;
use crate::{
    auth::cookies::CEREMONY_MAX_AGE_SECS,
    clock::{now_ms, rfc3339},
    config::Config,
    crypto,
    error::{AppError, ErrorCode},
    ids::UserId,
    request::{AuthedUser, ClientInfo},
    sessions::service::SessionService,
    store::{
        passkeys::{NewCeremony, PasskeyRow},
        Db, User,
    },
    vocab::CeremonyKind,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use std::sync::Arc;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

/// Passkeys one account may hold.
const MAX_PER_ACCOUNT: usize = 20;
/// Longest passkey name, in characters.
const MAX_NAME: usize = 64;
/// Sign-in ceremonies one client address may start per minute (each is a
/// stored row).
const STARTS_PER_MINUTE: i64 = 60;

/// The relying party for this deployment: `(rp id, origin)`.
pub fn relying_party(config: &Config) -> Option<(String, Url)> {
    let mut origin =
        Url::parse(config.public_url.as_deref().unwrap_or(&config.link_origin)).ok()?;
    if config.public_url.is_none() && !matches!(origin.host(), Some(url::Host::Domain(_))) {
        origin.set_host(Some("localhost")).ok()?;
    }
    let rp_id = origin.host_str()?.to_owned();
    Some((rp_id, origin))
}

fn not_available() -> AppError {
    AppError::invalid_input("Passkeys are not available on this server (it has no domain name).")
}

fn not_recognised() -> AppError {
    AppError::new(
        ErrorCode::InvalidCredentials,
        "That passkey was not recognised. Try again, or sign in with your password.",
    )
}

fn ceremony_gone() -> AppError {
    AppError::new(
        ErrorCode::InvalidToken,
        "The passkey request expired or was already answered. Please try again.",
    )
}

/// An account's WebAuthn user handle: the 128 random bits of its id.
fn user_handle(user_id: &UserId) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(user_id.as_str()).ok()?;
    Uuid::from_slice(&bytes).ok()
}

fn user_of_handle(handle: Uuid) -> UserId {
    UserId::new(URL_SAFE_NO_PAD.encode(handle.as_bytes()))
}

fn ceremony_hash(id: &str) -> Option<String> {
    crypto::token_hash(id, 43)
}

/// A passkey's name as typed: trimmed, printable, not too long.
fn clean_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid_input("Give the passkey a name."));
    }
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AppError::invalid_input(
            "A passkey name is at most 64 characters, without control characters.",
        ));
    }
    Ok(name.to_owned())
}

fn info(row: PasskeyRow) -> PasskeyInfo {
    PasskeyInfo {
        id: row.id,
        name: row.name,
        created_at: rfc3339(row.created_at),
        last_used_at: row.last_used_at.map(rfc3339),
    }
}

#[derive(Clone)]
pub struct PasskeyService {
    db: Db,
    webauthn: Option<Arc<Webauthn>>,
    sessions: Arc<SessionService>,
}

impl PasskeyService {
    pub fn new(db: Db, config: &Config, sessions: Arc<SessionService>) -> Self {
        let webauthn = relying_party(config).and_then(|(rp_id, origin)| {
            let built =
                WebauthnBuilder::new(&rp_id, &origin).and_then(|b| b.rp_name("gatehouse").build());
            match built {
                Ok(w) => Some(Arc::new(w)),
                Err(err) => {
                    tracing::warn!(error = %err, rp_id, "passkeys are off: no valid relying party");
                    None
                }
            }
        });
        Self {
            db,
            webauthn,
            sessions,
        }
    }

    fn webauthn(&self) -> Result<&Webauthn, AppError> {
        self.webauthn.as_deref().ok_or_else(not_available)
    }

    async fn open_ceremony(
        &self,
        kind: CeremonyKind,
        user_id: Option<&UserId>,
        state: &str,
    ) -> Result<String, AppError> {
        let id = crypto::random_id(32);
        let hash = ceremony_hash(&id).expect("a new id is well formed");
        let now = now_ms();
        self.db
            .insert_ceremony(NewCeremony {
                id_hash: &hash,
                kind,
                user_id,
                state,
                now,
                expires_at: now + CEREMONY_MAX_AGE_SECS * 1000,
            })
            .await?;
        Ok(id)
    }

    async fn take_ceremony(
        &self,
        id: Option<&str>,
        kind: CeremonyKind,
    ) -> Result<(Option<UserId>, String), AppError> {
        let hash = id.and_then(ceremony_hash).ok_or_else(ceremony_gone)?;
        let row = self.db.take_ceremony(&hash, kind, now_ms()).await?;
        let row = row.ok_or_else(ceremony_gone)?;
        Ok((row.user_id, row.state))
    }

    /// Starts adding a passkey (needs a recent sign-in): the creation
    /// options for the browser, and the ceremony id for its cookie.
    pub async fn register_start(
        &self,
        me: &AuthedUser,
        user: &User,
    ) -> Result<(serde_json::Value, String), AppError> {
        self.sessions.require_recent_proof(me).await?;
        let webauthn = self.webauthn()?;
        let existing = self.db.passkeys_of(&user.id).await?;
        if existing.len() >= MAX_PER_ACCOUNT {
            return Err(AppError::invalid_input(
                "This account has 20 passkeys, the most it may have. Remove one first.",
            ));
        }
        let exclude = existing
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
            .collect();
        let handle = user_handle(&user.id)
            .ok_or_else(|| AppError::internal("an account id is not 128 bits"))?;
        let (challenge, state) = webauthn
            .start_passkey_registration(handle, &user.email, &user.email, Some(exclude))
            .map_err(AppError::internal)?;
        let mut options = serde_json::to_value(&challenge).map_err(AppError::internal)?;
        // A passkey is found by the authenticator itself at sign-in (no
        // address typed first): ask for a discoverable credential.
        let selection = &mut options["publicKey"]["authenticatorSelection"];
        selection["residentKey"] = "required".into();
        selection["requireResidentKey"] = true.into();
        let state = serde_json::to_string(&state).map_err(AppError::internal)?;
        let id = self
            .open_ceremony(CeremonyKind::Register, Some(&user.id), &state)
            .await?;
        Ok((options, id))
    }

    /// Checks the browser's answer to a passkey ceremony (which it uses up)
    /// and makes the passkey named `name`, not yet stored.
    pub async fn register_finish(
        &self,
        me: &AuthedUser,
        ceremony: Option<&str>,
        name: &str,
        credential: &str,
    ) -> Result<PasskeyRow, AppError> {
        self.sessions.require_recent_proof(me).await?;
        let name = clean_name(name)?;
        let webauthn = self.webauthn()?;
        let (owner, state) = self.take_ceremony(ceremony, CeremonyKind::Register).await?;
        if owner.as_ref() != Some(&me.user_id) {
            return Err(ceremony_gone());
        }
        let state: PasskeyRegistration =
            serde_json::from_str(&state).map_err(AppError::internal)?;
        let answer: RegisterPublicKeyCredential = serde_json::from_str(credential)
            .map_err(|_| AppError::invalid_input("The passkey answer is malformed."))?;
        let passkey = webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(|err| {
                tracing::info!(user_id = %me.user_id, error = %err, "passkey registration refused");
                AppError::invalid_input("The passkey could not be verified. Please try again.")
            })?;
        let row = PasskeyRow {
            id: crypto::random_id(12),
            user_id: me.user_id.clone(),
            credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            credential: serde_json::to_string(&passkey).map_err(AppError::internal)?,
            name,
            created_at: now_ms(),
            last_used_at: None,
        };
        Ok(row)
    }

    /// Stores a passkey made by [`PasskeyService::register_finish`] through
    /// `tx` (the caller's transaction, which logs it).
    pub async fn store(
        &self,
        tx: &Db,
        me: &AuthedUser,
        row: PasskeyRow,
    ) -> Result<PasskeyInfo, AppError> {
        if !tx.insert_passkey(&row, &me.session_id).await? {
            return Err(AppError::invalid_input(
                "This passkey is already registered.",
            ));
        }
        Ok(info(row))
    }

    /// Starts a passkey sign-in (no account named): the request options,
    /// and the ceremony id for the cookie.
    pub async fn sign_in_start(
        &self,
        client: &ClientInfo,
    ) -> Result<(serde_json::Value, String), AppError> {
        let webauthn = self.webauthn()?;
        let limits = crate::auth::throttle::per_address_limits(
            "passkey-start",
            client.ip.as_deref(),
            STARTS_PER_MINUTE,
        );
        let reservation = self.db.reserve_in_windows(&limits, 60_000).await?;
        crate::auth::throttle::refuse_if_blocked(reservation)?;
        let (challenge, state) = webauthn
            .start_discoverable_authentication()
            .map_err(AppError::internal)?;
        let options = serde_json::to_value(&challenge).map_err(AppError::internal)?;
        let state = serde_json::to_string(&state).map_err(AppError::internal)?;
        let id = self
            .open_ceremony(CeremonyKind::SignIn, None, &state)
            .await?;
        Ok((options, id))
    }

    /// Checks a passkey sign-in: the account it signs in, once per
    /// ceremony. The caller opens the session.
    pub async fn sign_in_finish(
        &self,
        ceremony: Option<&str>,
        credential: &str,
    ) -> Result<UserId, AppError> {
        let webauthn = self.webauthn()?;
        let (_, state) = self.take_ceremony(ceremony, CeremonyKind::SignIn).await?;
        let state: DiscoverableAuthentication =
            serde_json::from_str(&state).map_err(AppError::internal)?;
        let answer: PublicKeyCredential = serde_json::from_str(credential)
            .map_err(|_| AppError::invalid_input("The passkey answer is malformed."))?;
        let (handle, raw_id) = webauthn
            .identify_discoverable_authentication(&answer)
            .map_err(|_| not_recognised())?;
        let row = self
            .db
            .passkey_by_credential(&URL_SAFE_NO_PAD.encode(raw_id))
            .await?
            .ok_or_else(not_recognised)?;
        // The credential must belong to the account its user handle names.
        if row.user_id != user_of_handle(handle) {
            return Err(not_recognised());
        }
        let mut passkey: Passkey =
            serde_json::from_str(&row.credential).map_err(AppError::internal)?;
        let result = webauthn
            .finish_discoverable_authentication_v2(&answer, state, &passkey)
            .map_err(|err| {
                tracing::info!(user_id = %row.user_id, error = %err, "passkey sign-in refused");
                not_recognised()
            })?;
        passkey.update_credential(&result);
        let stored = serde_json::to_string(&passkey).map_err(AppError::internal)?;
        self.db
            .passkey_used(&row.id, &row.credential, &stored, now_ms())
            .await?;
        Ok(row.user_id)
    }

    pub async fn list(&self, user_id: &UserId) -> Result<Vec<PasskeyInfo>, AppError> {
        Ok(self
            .db
            .passkeys_of(user_id)
            .await?
            .into_iter()
            .map(info)
            .collect())
    }

    pub async fn rename(&self, me: &AuthedUser, id: &str, name: &str) -> Result<(), AppError> {
        let name = clean_name(name)?;
        if !self.db.rename_passkey(id, &me.user_id, &name).await? {
            return Err(ErrorCode::NotFound.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_handles_are_the_account_ids_bits() {
        let id = UserId::new(crypto::random_id(16));
        let handle = user_handle(&id).unwrap();
        assert_eq!(user_of_handle(handle), id);
        assert!(user_handle(&UserId::new("short")).is_none());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Laptop ").unwrap(), "Laptop");
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"x".repeat(65)).is_err());
        assert!(clean_name("a\u{7}b").is_err());
    }
}
