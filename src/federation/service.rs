//! The federation capability as the adapters reach it: the providers'
//! buttons, and starting and finishing a round trip.

use super::{
    provider::{self, Authorization, Callback, FlowError, ProviderLogin, Purpose},
    registry::Registry,
    ProviderButton,
};
use crate::{config::Config, error::ErrorCode, ids::SessionId, store::Db};
use std::sync::Arc;

pub struct FederationService {
    db: Db,
    registry: Arc<Registry>,
}

impl FederationService {
    pub fn new(db: Db, config: &Config) -> Self {
        Self {
            db,
            registry: Arc::new(Registry::new(config)),
        }
    }

    /// Loads every provider's discovery document and keys in the
    /// background (see [`Registry::start`]).
    pub fn start(&self) {
        self.registry.start();
    }

    pub fn buttons(&self) -> Vec<ProviderButton> {
        self.registry.buttons()
    }

    /// Whether `name` is a configured provider.
    pub fn knows(&self, name: &str) -> bool {
        self.registry.get(name).is_some()
    }

    /// Whether a provider sign-in whose `amr` reports a second factor may
    /// skip gatehouse's own (`GATEHOUSE_OIDC_<NAME>_TRUST_MFA`).
    pub fn trusts_mfa(&self, name: &str) -> bool {
        self.registry.get(name).is_some_and(|p| p.config.trust_mfa)
    }

    pub async fn begin(
        &self,
        name: &str,
        purpose: Purpose,
        next: Option<&str>,
        session_id: Option<&SessionId>,
    ) -> Result<Authorization, FlowError> {
        let provider = self.registry.get(name).ok_or(FlowError {
            code: ErrorCode::NotFound,
            reason: "no such provider".into(),
        })?;
        provider::begin(
            &self.registry,
            &self.db,
            provider,
            purpose,
            next,
            session_id,
        )
        .await
    }

    pub async fn finish(
        &self,
        name: &str,
        flow_id: Option<&str>,
        callback: &Callback,
    ) -> Result<ProviderLogin, FlowError> {
        provider::finish(&self.registry, &self.db, name, flow_id, callback).await
    }
}
