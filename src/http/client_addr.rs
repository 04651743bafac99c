//! Who is calling, as far as the server can tell: the extractor that reads
//! the caller's address and browser ([`ClientInfo`]) from a request.

use crate::{request::ClientInfo, state::AppState};
use axum::{extract::FromRequestParts, http::request::Parts};
use std::convert::Infallible;

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<ClientInfo>() {
            Some(known) => known.clone(),
            None => ClientInfo::from_parts(&state.config, parts),
        })
    }
}
