//! The federation server functions: the providers offered, and the signed-in
//! account's linked providers (list, unlink). The round trip itself is two
//! plain routes (`http/oidc.rs`), so it works without JavaScript.

use crate::{
    auth::Done,
    error::AppError,
    federation::{IdentityInfo, ProviderButton},
};
use leptos::prelude::*;

/// The configured providers, for the sign-in and sign-up pages' buttons.
#[server(endpoint = "oidc/providers", prefix = "/api")]
pub async fn oidc_providers() -> Result<Vec<ProviderButton>, AppError> {
    use crate::http::server_fn::*;
    run(async move { Ok(state().federation.buttons()) }).await
}

/// The providers linked to the signed-in account.
#[server(endpoint = "oidc/identities", prefix = "/api")]
pub async fn oidc_identities() -> Result<Vec<IdentityInfo>, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        state().account.identities(&me).await
    })
    .await
}

/// Unlinks a provider (after a recent sign-in); refused with
/// `409 last_sign_in_method` when it is the account's last way in.
#[server(endpoint = "oidc/unlink", prefix = "/api")]
pub async fn oidc_unlink(provider: String) -> Result<Done, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        state()
            .account
            .unlink_provider(&me, provider.trim(), &client())
            .await?;
        Ok(Done {})
    })
    .await
}
