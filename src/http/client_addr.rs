//! Who is calling, as far as the server can tell: the extractor that reads
//! the caller's address and browser ([`ClientInfo`]) from a request.

use crate::{config::Config, request::ClientInfo};
use axum::{
    extract::{FromRef, FromRequestParts},
    http::request::Parts,
};
use std::{convert::Infallible, sync::Arc};

impl<S> FromRequestParts<S> for ClientInfo
where
    Arc<Config>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<ClientInfo>() {
            Some(known) => known.clone(),
            None => ClientInfo::from_parts(&Arc::<Config>::from_ref(state), parts),
        })
    }
}
