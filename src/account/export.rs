//! "Download my data": what every capability keeps about an account,
//! gathered into one document ([`DataExport`]). A read: nothing is
//! written, so no transaction is opened, and each list is read as it is.

use super::AccountService;
use crate::{
    clock::rfc3339,
    error::AppError,
    export::{AccountData, DataExport, FactorData, LinkedProvider, SessionData, FORMAT},
    mfa::PasskeyInfo,
    request::AuthedUser,
    sessions::{device::device_name, SecurityEventInfo},
    store::{Session, User},
};

impl AccountService {
    /// The signed-in person's own data. It describes every device and
    /// address they used, so it takes a recent sign-in, like the other
    /// sensitive actions (OWASP ASVS 4.0 V3.7.1).
    pub async fn export_own(&self, me: &AuthedUser) -> Result<DataExport, AppError> {
        self.sessions.require_recent_proof(me).await?;
        let user = self.account(&me.user_id).await?;
        self.export(&user).await
    }

    /// An account's data, for its owner or an administrator (the command
    /// line). Names and dates only: no hash, key, token or credential.
    pub async fn export(&self, user: &User) -> Result<DataExport, AppError> {
        let sessions = self.db.sessions_of(&user.id).await?;
        let events = self.db.events_of(&user.id).await?;
        let totp = self.db.totp_dates(&user.id).await?;
        let codes = self.db.recovery_code_dates(&user.id).await?;
        let passkeys = self.db.passkeys_of(&user.id).await?;
        let identities = self.db.identities_of(&user.id).await?;

        let mut factors = Vec::new();
        if let Some((added, confirmed)) = totp {
            factors.push(FactorData {
                kind: "totp".into(),
                name: "Authenticator app".into(),
                added_at: rfc3339(added),
                confirmed_at: confirmed.map(rfc3339),
                total: None,
                unused: None,
            });
        }
        if let Some(first) = codes.iter().map(|(made, _)| *made).min() {
            factors.push(FactorData {
                kind: "recovery_codes".into(),
                name: "Recovery codes".into(),
                added_at: rfc3339(first),
                confirmed_at: None,
                total: Some(codes.len()),
                unused: Some(codes.iter().filter(|(_, used)| used.is_none()).count()),
            });
        }
        Ok(DataExport {
            format: FORMAT.into(),
            exported_at: rfc3339(crate::clock::now_ms()),
            account: AccountData {
                id: user.id.to_string(),
                email: user.email.clone(),
                email_verified: user.email_verified_at.is_some(),
                email_verified_at: user.email_verified_at.map(rfc3339),
                role: user.role,
                disabled: user.disabled,
                created_at: rfc3339(user.created_at),
            },
            sessions: sessions.into_iter().map(session_data).collect(),
            security_log: events
                .into_iter()
                .map(|e| SecurityEventInfo {
                    kind: e.kind,
                    at: rfc3339(e.at),
                    device: e.device,
                    ip: e.ip,
                    detail: e.detail,
                })
                .collect(),
            factors,
            passkeys: passkeys
                .into_iter()
                .map(|p| PasskeyInfo {
                    id: p.id,
                    name: p.name,
                    created_at: rfc3339(p.created_at),
                    last_used_at: p.last_used_at.map(rfc3339),
                })
                .collect(),
            // The provider and the address it gave; never the subject
            // identifier, which is the provider's key for the person.
            linked_providers: identities
                .into_iter()
                .map(|i| LinkedProvider {
                    provider: i.provider,
                    email: i.email.unwrap_or_default(),
                    linked_at: rfc3339(i.linked_at),
                    last_used_at: i.last_used_at.map(rfc3339),
                })
                .collect(),
        })
    }
}

/// A session as its owner may read it: never its key (`secret`) or
/// generation.
fn session_data(s: Session) -> SessionData {
    SessionData {
        device: device_name(&s.user_agent),
        end_reason: s.revoke_reason(),
        id: s.id.into_string(),
        kind: s.kind,
        method: s.method,
        user_agent: s.user_agent,
        ip: s.ip,
        created_at: rfc3339(s.created_at),
        last_used_at: rfc3339(s.last_used_at),
        expires_at: rfc3339(s.idle_expires_at.min(s.absolute_expires_at)),
        ended_at: s.revoked_at.map(rfc3339),
    }
}
