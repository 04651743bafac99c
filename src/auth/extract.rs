//! Who is calling: the access-token check, and the [`AuthedUser`] /
//! `MaybeUser` extractors that handlers and server functions read it through.
//! The check needs no database: a signature, the claims, and the in-memory
//! revocation set.

use super::cookies;
use crate::{
    error::{AppError, ErrorCode},
    ids::{SessionId, UserId},
    keys::claims::AccessError,
    request::AuthedUser,
    state::AppState,
};
use axum::{extract::FromRequestParts, http::request::Parts};

/// What authenticating a request found.
#[derive(Clone, Debug)]
pub enum Auth {
    SignedIn(AuthedUser),
    SignedOut,
    /// Credentials were presented and refused, for this reason.
    Refused(ErrorCode),
}

impl Auth {
    /// The signed-in user, or the error a protected resource answers with.
    pub fn require(&self) -> Result<&AuthedUser, AppError> {
        match self {
            Auth::SignedIn(user) => Ok(user),
            Auth::SignedOut => Err(ErrorCode::Unauthenticated.into()),
            Auth::Refused(code) => Err((*code).into()),
        }
    }

    pub fn is_signed_in(&self) -> bool {
        matches!(self, Auth::SignedIn(_))
    }
}

/// Verifies the presented access token and checks its session against the
/// in-memory revocation set (no database read).
pub fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    cookies: &cookies::AuthCookies,
) -> Auth {
    let Some(token) = cookies::presented_access(headers, cookies) else {
        // No access token but a refresh cookie: the access cookie has simply
        // expired, and the client should refresh.
        return match cookies.refresh {
            Some(_) => Auth::Refused(ErrorCode::TokenExpired),
            None => Auth::SignedOut,
        };
    };
    match state.keys.verify_access(&token) {
        Ok(claims) => {
            let session_id = SessionId::new(claims.sid.clone());
            match state.revocations.revoked(&session_id, claims.exp) {
                Some(reason) => Auth::Refused(reason.into()),
                None => Auth::SignedIn(AuthedUser {
                    user_id: UserId::new(claims.sub.clone()),
                    session_id,
                    access_expires_at: claims.exp,
                }),
            }
        }
        Err(AccessError::Expired) => Auth::Refused(ErrorCode::TokenExpired),
        Err(AccessError::Invalid) => Auth::Refused(ErrorCode::Unauthenticated),
    }
}

/// The authentication result the auth layer left on the request (signed out
/// if the layer did not run).
pub fn auth_of(parts: &Parts) -> Auth {
    parts
        .extensions
        .get::<Auth>()
        .cloned()
        .unwrap_or(Auth::SignedOut)
}

impl<S: Send + Sync> FromRequestParts<S> for AuthedUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        auth_of(parts).require().cloned()
    }
}

/// The signed-in user if there is one. Credentials that were presented and
/// refused (expired, revoked, forged) are an error, never "anonymous".
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<AuthedUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match auth_of(parts) {
            Auth::SignedIn(user) => Ok(MaybeUser(Some(user))),
            Auth::SignedOut => Ok(MaybeUser(None)),
            Auth::Refused(code) => Err(code.into()),
        }
    }
}
