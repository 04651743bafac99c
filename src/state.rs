//! Shared server state, built once at start-up.

use crate::error::ErrorCode;
use crate::{
    auth::{passwords::PasswordHasherPool, tokens::TokenKeys},
    config::Config,
    db::{now_ms, Db, Millis},
};
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: Arc<TokenKeys>,
    pub passwords: PasswordHasherPool,
    pub revocations: Revocations,
}

/// Session ids revoked recently enough that access tokens naming them may
/// still be unexpired. Checked on every request, so revocation takes effect
/// at once without a database read per request.
#[derive(Clone, Debug, Default)]
pub struct Revocations {
    inner: Arc<RwLock<RevocationSet>>,
}

#[derive(Debug, Default)]
struct RevocationSet {
    revoked: HashMap<String, (Millis, ErrorCode)>,
    /// The newest `revoked_at` seen in the database.
    high_water: Millis,
}

impl Revocations {
    /// Why the session was revoked, if it was: the error its access tokens
    /// are refused with.
    pub fn revoked(&self, session_id: &str) -> Option<ErrorCode> {
        let set = self.inner.read().expect("revocation lock");
        set.revoked.get(session_id).map(|(_, code)| *code)
    }

    pub fn insert(&self, session_id: impl Into<String>, at: Millis, reason: &str) {
        let mut set = self.inner.write().expect("revocation lock");
        set.revoked
            .insert(session_id.into(), (at, refusal_for(reason)));
    }

    pub fn insert_all(&self, session_ids: &[String], at: Millis, reason: &str) {
        let mut set = self.inner.write().expect("revocation lock");
        for id in session_ids {
            set.revoked.insert(id.clone(), (at, refusal_for(reason)));
        }
    }

    /// Loads revocations from the database made since the last load (with a
    /// little overlap for clock differences between instances), and forgets
    /// entries older than `retention`: by then every access token naming
    /// them has expired.
    pub async fn sync(
        &self,
        db: &Db,
        retention: Duration,
    ) -> Result<usize, crate::error::AppError> {
        let now = now_ms();
        let retention_ms = retention.as_millis() as Millis;
        let since = {
            let set = self.inner.read().expect("revocation lock");
            if set.high_water == 0 {
                now - retention_ms
            } else {
                set.high_water - 5_000
            }
        };
        let rows = db.revoked_since(since).await?;
        let mut set = self.inner.write().expect("revocation lock");
        let loaded = rows.len();
        for (id, at, reason) in rows {
            set.high_water = set.high_water.max(at);
            set.revoked
                .insert(id, (at, refusal_for(reason.as_deref().unwrap_or_default())));
        }
        set.revoked.retain(|_, (at, _)| *at > now - retention_ms);
        Ok(loaded)
    }

    pub fn len(&self) -> usize {
        self.inner.read().expect("revocation lock").revoked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The error a revoked session's requests are refused with, by the reason
/// stored with the revocation.
pub fn refusal_for(reason: &str) -> ErrorCode {
    match reason {
        "reuse" => ErrorCode::ReuseDetected,
        "account_disabled" => ErrorCode::AccountDisabled,
        _ => ErrorCode::SessionRevoked,
    }
}
