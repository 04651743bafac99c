//! Accounts and provider identities: which account a provider sign-in
//! opens, linking and unlinking, and a provider as a recent sign-in.
//!
//! An identity is (issuer, `sub`), never an address. An address the
//! provider vouches for (`email_verified: true`) may open a new account,
//! but never merges into an existing one silently ("classic-federated
//! merge", Sudhodanan & Paverd, "Pre-hijacked accounts", USENIX Security
//! 2022, §IV-B): the person signs in to that account once and links it.
//! The one exception is an account whose address was never proved: the
//! provider's word proves the mailbox, and the account is taken back
//! exactly as a reset by mail takes it back.

use super::{log, void_links, AccountService};
use crate::sessions::service::{end_sessions, Federated};
use crate::{
    auth::service::{normalize_email, SignIn},
    clock::{now_ms, rfc3339},
    error::{AppError, ErrorCode},
    federation::{provider::ProviderLogin, IdentityInfo},
    ids::{SessionId, UserId},
    recovery::{letters, links::Purpose},
    request::{AuthedUser, ClientInfo},
    store::{identities::IdentityRow, users::NO_PASSWORD_PREFIX, Db, User},
    vocab::{EventKind, RevokeReason},
};

/// Where a provider sign-in ends.
#[allow(clippy::large_enum_variant)]
pub enum ProviderSignIn {
    /// Signed in, or waiting for the account's own second factor.
    SignedIn(SignIn),
    /// An account already uses this address: the person signs in to it
    /// first, then links the provider. Nothing was changed.
    LinkFirst,
}

/// The stored hash of an account without a password: no password matches
/// it, and it is new each time, so credentials bound to the old one end.
fn no_password() -> String {
    format!("{NO_PASSWORD_PREFIX}{}", crate::crypto::random_id(16))
}

/// The `amr` a provider sign-in's tokens carry (RFC 8176): what the
/// provider reported, but never `pwd` (gatehouse checked no password), and
/// `mfa` only from a provider the administrator trusts for it
/// (`GATEHOUSE_OIDC_<NAME>_TRUST_MFA`): a resource server asking for `mfa`
/// must not get it on an untrusted provider's word.
fn carried_amr(reported: &[String], trust_mfa: bool) -> Vec<String> {
    let mut amr: Vec<String> = Vec::new();
    for method in reported {
        let dropped = method == "pwd" || (method == "mfa" && !trust_mfa);
        if !dropped && !amr.contains(method) {
            amr.push(method.clone());
        }
    }
    amr
}

impl AccountService {
    /// Signs in the person a provider vouched for: the account linked to
    /// the identity, or a new account for a verified address no account
    /// uses, or — for an account whose address was never proved — that
    /// account, taken back. An account that proved its address first is
    /// never joined without its own sign-in.
    pub async fn provider_sign_in(
        &self,
        login: &ProviderLogin,
        trust_mfa: bool,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> Result<ProviderSignIn, AppError> {
        let amr = carried_amr(&login.amr, trust_mfa);
        // A second factor at the provider stands in for the account's own
        // only when the provider is trusted for it and says `mfa`.
        let second_factor_done = trust_mfa && amr.iter().any(|m| m == "mfa");
        let federated = Federated {
            provider: login.provider.clone(),
            amr,
            authenticated_at: login.auth_time,
        };
        let (user, known_device) = if let Some(identity) =
            self.db.identity(&login.issuer, &login.subject).await?
        {
            let user = self.account(&identity.user_id).await?;
            self.db
                .identity_used(
                    &login.issuer,
                    &login.subject,
                    login.email.as_deref().filter(|_| login.email_verified),
                    now_ms(),
                )
                .await?;
            let known = self.auth.knows_device(&user, device);
            (user, known)
        } else {
            let email = verified_email(login)?;
            match self.db.user_by_email(&email).await? {
                None => match self.open_with_provider(login, &email, client).await? {
                    // A new account's first sign-in alerts no one:
                    // there is no earlier device to compare with.
                    Some(user) => (user, true),
                    // Another sign-up took the address meanwhile.
                    None => return Ok(ProviderSignIn::LinkFirst),
                },
                Some(user) if user.email_verified_at.is_some() => {
                    tracing::info!(user_id = %user.id, provider = %login.provider, "provider sign-in for an existing account: its own sign-in comes first");
                    return Ok(ProviderSignIn::LinkFirst);
                }
                Some(user) => {
                    let user = self.claim_unproved(user, login, client).await?;
                    let known = self.auth.knows_device(&user, device);
                    (user, known)
                }
            }
        };
        let signed = self
            .auth
            .sign_in_federated(&user, federated, second_factor_done, known_device, client)
            .await?;
        Ok(ProviderSignIn::SignedIn(signed))
    }

    /// A new account with the provider's verified address and no
    /// password, linked to the identity, in one transaction; `None` if the
    /// address was taken meanwhile.
    async fn open_with_provider(
        &self,
        login: &ProviderLogin,
        email: &str,
        client: &ClientInfo,
    ) -> Result<Option<User>, AppError> {
        let id = UserId::new(crate::crypto::random_id(16));
        let now = now_ms();
        let tx = self.db.begin().await?;
        let Some(mut user) = tx.create_user(&id, email, &no_password(), now).await? else {
            return Ok(None);
        };
        tx.mark_email_verified(&user.id, email, now).await?;
        user.email_verified_at = Some(now);
        if !tx
            .insert_identity(&identity_row(login, &user.id, None, now))
            .await?
        {
            return Err(ErrorCode::OidcState.into());
        }
        let label = self.sessions.provider_label(&login.provider);
        let detail = format!("Account created with {label}");
        log(&tx, &user.id, EventKind::Registered, client, &detail).await?;
        tx.commit().await?;
        crate::telemetry::sign_up();
        tracing::info!(user_id = %user.id, provider = %login.provider, "account registered through a provider");
        Ok(Some(user))
    }

    /// Takes back an account whose address was never proved, for the
    /// person the provider says owns it — as a reset by mail would: every
    /// session ends, the password and the factors set up before the
    /// address was proved are removed, pending links die, and the owner is
    /// told. One transaction.
    async fn claim_unproved(
        &self,
        user: User,
        login: &ProviderLogin,
        client: &ClientInfo,
    ) -> Result<User, AppError> {
        if user.disabled {
            return Err(ErrorCode::AccountDisabled.into());
        }
        let now = now_ms();
        let hash = no_password();
        let tx = self.db.begin().await?;
        // Still unproved, still this address, in one conditional statement:
        // a verification or a password change racing this one is neither
        // undone nor lets its password survive.
        if !tx.claim_unproved(&user.id, &user.email, &hash, now).await? {
            return Err(ErrorCode::OidcState.into());
        }
        void_links(
            &tx,
            &user.id,
            &[
                Purpose::ResetPassword,
                Purpose::ChangeEmail,
                Purpose::VerifyEmail,
            ],
            now,
        )
        .await?;
        let ended = end_sessions(&tx, &user.id, None, RevokeReason::PasswordChanged).await?;
        let mut removed = self.remove_planted_factors(&tx, &user.id, &[]).await?;
        // Linking needs a proved address, so none should be here; any that
        // is was planted.
        removed.providers = tx.remove_planted_identities(&user.id, &[], true).await?;
        if !tx
            .insert_identity(&identity_row(login, &user.id, None, now))
            .await?
        {
            return Err(ErrorCode::OidcState.into());
        }
        let label = self.sessions.provider_label(&login.provider);
        let detail = format!(
            "Address proved by signing in with {label}; password removed, {} session(s) ended{}",
            ended.len(),
            removed.sentence()
        );
        log(&tx, &user.id, EventKind::EmailVerified, client, &detail).await?;
        tx.commit().await?;
        self.committed(&user.id, &ended, now, RevokeReason::PasswordChanged);
        tracing::warn!(user_id = %user.id, provider = %login.provider, ended = ended.len(), removed = removed.len(), "unproved account taken back through a provider");
        self.links.mail(letters::account_claimed(
            &user.email,
            &label,
            &removed.names(),
        ));
        Ok(User {
            password_hash: hash,
            email_verified_at: Some(now),
            ..user
        })
    }

    /// Links the provider identity to the account of the session that
    /// started the round trip (which proved a recent sign-in then, and
    /// must still be open). One transaction; the owner is told.
    pub async fn link_provider(
        &self,
        login: &ProviderLogin,
        session_id: &SessionId,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let session = self.open_session(session_id).await?;
        let user = self.account(&session.user_id).await?;
        // Like a second factor, a provider may be linked only to an account
        // whose address is proved: one linked by whoever opened an account
        // with someone else's address would outlive the owner's reset
        // ("Pre-hijacked accounts", §IV; OWASP ASVS 4.0 V2.5.7).
        if user.email_verified_at.is_none() {
            return Err(AppError::new(
                ErrorCode::EmailUnverified,
                "Confirm your email address first (we sent a link to it); then link a provider.",
            ));
        }
        verified_email(login)?;
        if let Some(existing) = self.db.identity(&login.issuer, &login.subject).await? {
            if existing.user_id == user.id {
                return Ok(());
            }
            return Err(AppError::new(
                ErrorCode::OidcFailed,
                "That provider account is already linked to another gatehouse account.",
            ));
        }
        let now = now_ms();
        let tx = self.db.begin().await?;
        if !tx
            .insert_identity(&identity_row(login, &user.id, Some(session_id), now))
            .await?
        {
            return Err(AppError::new(
                ErrorCode::OidcFailed,
                "This account is already linked to another account at that provider. Unlink it first.",
            ));
        }
        let label = self.sessions.provider_label(&login.provider);
        let detail = format!("{label} linked");
        log(&tx, &user.id, EventKind::ProviderLinked, client, &detail).await?;
        tx.commit().await?;
        self.sessions.account_changed(&user.id);
        tracing::info!(user_id = %user.id, provider = %login.provider, "provider linked");
        self.links.mail(letters::provider_linked(
            &user.email,
            &label,
            &self.links.forgot_url(),
        ));
        Ok(())
    }

    /// A sign-in at a provider linked to the session's account counts as
    /// a recent sign-in for it.
    pub async fn provider_reauthenticated(
        &self,
        login: &ProviderLogin,
        session_id: &SessionId,
    ) -> Result<(), AppError> {
        let session = self.open_session(session_id).await?;
        let linked = self.db.identity(&login.issuer, &login.subject).await?;
        if linked.is_none_or(|identity| identity.user_id != session.user_id) {
            return Err(AppError::new(
                ErrorCode::OidcFailed,
                "That provider account is not the one linked to this account.",
            ));
        }
        self.sessions.mark_proved(session_id).await
    }

    /// The session that started a round trip, if it is still open: the
    /// callback comes minutes later, and the session may have ended.
    async fn open_session(
        &self,
        session_id: &SessionId,
    ) -> Result<crate::store::Session, AppError> {
        self.sessions
            .find(session_id)
            .await?
            .filter(|s| s.revoke_reason().is_none() && s.absolute_expires_at > now_ms())
            .ok_or_else(|| ErrorCode::Unauthenticated.into())
    }

    /// The account's linked providers.
    pub async fn identities(&self, me: &AuthedUser) -> Result<Vec<IdentityInfo>, AppError> {
        Ok(self
            .db
            .identities_of(&me.user_id)
            .await?
            .into_iter()
            .map(|row| IdentityInfo {
                provider: row.provider,
                email: row.email,
                linked_at: rfc3339(row.linked_at),
                last_used_at: row.last_used_at.map(rfc3339),
            })
            .collect())
    }

    /// Unlinks a provider (after a recent sign-in), only if another way in
    /// remains: a password, a passkey, or another provider.
    pub async fn unlink_provider(
        &self,
        me: &AuthedUser,
        provider: &str,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        self.sessions.require_recent_proof(me).await?;
        let user = self.account(&me.user_id).await?;
        let identities = self.db.identities_of(&user.id).await?;
        if !identities.iter().any(|i| i.provider == provider) {
            return Err(AppError::new(
                ErrorCode::NotFound,
                "That provider is not linked to this account.",
            ));
        }
        let other_way_in = user.has_password()
            || identities.iter().any(|i| i.provider != provider)
            || !self.db.passkeys_of(&user.id).await?.is_empty();
        if !other_way_in {
            return Err(ErrorCode::LastSignInMethod.into());
        }
        let tx = self.db.begin().await?;
        tx.lock_account(&user.id).await?;
        if !tx.delete_identity(&user.id, provider).await? {
            return Err(ErrorCode::NotFound.into());
        }
        // Checked again inside: a passkey or another provider removed by a
        // racing request must not leave the account with no way in.
        still_a_way_in(&tx, &user.id).await?;
        let label = self.sessions.provider_label(provider);
        let detail = format!("{label} unlinked");
        log(&tx, &user.id, EventKind::ProviderUnlinked, client, &detail).await?;
        tx.commit().await?;
        self.sessions.account_changed(&user.id);
        tracing::info!(user_id = %user.id, provider, "provider unlinked");
        Ok(())
    }
}

/// Refuses (inside a command's transaction, after its removal) to leave
/// the account with no way to sign in: no password, no passkey, no
/// provider. A reset by mail would still get the owner back, but no one
/// should need it for having tidied up.
pub(super) async fn still_a_way_in(tx: &Db, user_id: &UserId) -> Result<(), AppError> {
    let user = tx
        .user_by_id(user_id)
        .await?
        .ok_or(ErrorCode::Unauthenticated)?;
    if user.has_password()
        || !tx.identities_of(user_id).await?.is_empty()
        || !tx.passkeys_of(user_id).await?.is_empty()
    {
        return Ok(());
    }
    Err(ErrorCode::LastSignInMethod.into())
}

/// The provider's address, if it vouched for it; an unverified claim never
/// opens, links or proves anything.
fn verified_email(login: &ProviderLogin) -> Result<String, AppError> {
    match (&login.email, login.email_verified) {
        (Some(email), true) => normalize_email(email).map_err(|_| {
            AppError::new(
                ErrorCode::EmailUnverified,
                "The provider did not give a usable email address.",
            )
        }),
        _ => Err(AppError::new(
            ErrorCode::EmailUnverified,
            "The provider did not confirm your email address, so it cannot be used here. Sign in another way, or confirm the address at the provider first.",
        )),
    }
}

fn identity_row(
    login: &ProviderLogin,
    user_id: &UserId,
    linked_by: Option<&SessionId>,
    now: crate::clock::Millis,
) -> IdentityRow {
    IdentityRow {
        issuer: login.issuer.clone(),
        subject: login.subject.clone(),
        provider: login.provider.clone(),
        user_id: user_id.clone(),
        email: login.email.clone().filter(|_| login.email_verified),
        linked_by_session: linked_by.cloned(),
        linked_at: now,
        last_used_at: Some(now),
    }
}
