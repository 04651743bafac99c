//! Accounts and tokens: the browser server functions for registering,
//! signing in, silent refresh and signing out.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod cookies;
#[cfg(feature = "ssr")]
pub mod middleware;
#[cfg(feature = "ssr")]
pub mod passwords;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod throttle;
#[cfg(feature = "ssr")]
pub mod tokens;

/// An account, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
}

/// The signed-in person, for rendering and for the client's refresh timer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub email: String,
    pub role: String,
    /// When the access token expires, unix seconds; lets the page refresh in
    /// time without reading the HttpOnly cookie.
    pub access_expires_at: i64,
}

/// The answer to a refresh: when the new access token expires (RFC 3339 UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refreshed {
    pub expires_at: String,
}

/// An empty JSON object, `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {}

/// Server-side helpers shared by every server function.
#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{middleware::Auth, service::ClientInfo, service::IssuedTokens};
    use crate::{error::AppError, state::AppState};
    use axum::http::{header, request::Parts, HeaderValue};
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;
    use std::future::Future;

    pub fn state() -> AppState {
        expect_context::<AppState>()
    }

    fn parts() -> Parts {
        expect_context::<Parts>()
    }

    /// What the authentication middleware found for this request.
    pub fn auth() -> Auth {
        parts()
            .extensions
            .get::<Auth>()
            .cloned()
            .unwrap_or(Auth::SignedOut)
    }

    pub fn client() -> ClientInfo {
        parts()
            .extensions
            .get::<ClientInfo>()
            .cloned()
            .unwrap_or_default()
    }

    /// The refresh cookie of this request.
    pub fn refresh_cookie() -> Option<String> {
        super::cookies::read(&state().config, &parts().headers).1
    }

    fn response() -> ResponseOptions {
        expect_context::<ResponseOptions>()
    }

    pub fn set_token_cookies(issued: &IssuedTokens) {
        let values = super::cookies::set_tokens(&state().config, issued);
        let res = response();
        for value in values {
            res.append_header(header::SET_COOKIE, value);
        }
        res.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    pub fn clear_token_cookies() {
        let values = super::cookies::clear_tokens(&state().config);
        let res = response();
        for value in values {
            res.append_header(header::SET_COOKIE, value);
        }
        res.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    /// Runs a server function body; a failure's `Retry-After` becomes a header
    /// (its status is set by the server-function adapter from the code).
    pub async fn run<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        let result = body.await;
        if let Err(err) = &result {
            if let Some(seconds) = err.retry_after {
                response().insert_header(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            if err.error.ends_sign_in() && err.error != crate::error::ErrorCode::Unauthenticated {
                // The browser's sign-in is over; don't leave dead cookies behind.
                clear_token_cookies();
            }
        }
        result
    }
}

/// Creates an account and signs it in.
#[server(endpoint = "register", prefix = "/api")]
pub async fn register(email: String, password: String) -> Result<UserInfo, AppError> {
    use self::ssr::*;
    run(async move {
        let (user, issued) = state()
            .register(&email, passwords::Password::new(password), &client())
            .await?;
        set_token_cookies(&issued);
        Ok(UserInfo {
            id: user.id,
            email: user.email,
        })
    })
    .await
}

/// Signs in; `next` is where a form post without JavaScript goes afterwards.
#[server(endpoint = "login", prefix = "/api")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<UserInfo, AppError> {
    use self::ssr::*;
    let _ = next;
    run(async move {
        let (user, issued) = state()
            .login(
                &email,
                passwords::Password::new(password),
                service::SessionKind::Browser,
                &client(),
            )
            .await?;
        set_token_cookies(&issued);
        Ok(UserInfo {
            id: user.id,
            email: user.email,
        })
    })
    .await
}

/// Rotates the refresh cookie and issues a new access cookie.
#[server(endpoint = "refresh", prefix = "/api")]
pub async fn refresh() -> Result<Refreshed, AppError> {
    use self::ssr::*;
    run(async move {
        let token = refresh_cookie().ok_or(crate::error::ErrorCode::Unauthenticated)?;
        let issued = state().refresh(&token, &client()).await?;
        set_token_cookies(&issued);
        Ok(Refreshed {
            expires_at: crate::db::rfc3339(issued.access.expires_at * 1000),
        })
    })
    .await
}

/// Ends this browser's session and clears its cookies; safe to repeat.
#[server(endpoint = "logout", prefix = "/api")]
pub async fn logout() -> Result<Done, AppError> {
    use self::ssr::*;
    run(async move {
        let state = state();
        // The session is found by the refresh cookie, or by the access token
        // when the refresh cookie is gone.
        let session = match refresh_cookie().and_then(|t| tokens::parse_refresh_token(&t)) {
            Some(parsed) => state
                .db
                .session(&parsed.session_id)
                .await?
                .filter(|s| state.keys.refresh_token_is_authentic(&parsed, &s.secret)),
            None => match auth() {
                middleware::Auth::SignedIn(user) => state.db.session(&user.session_id).await?,
                _ => None,
            },
        };
        if let Some(session) = session {
            if state.end_session(&session.id, "signed_out").await? {
                tracing::info!(user_id = %session.user_id, session_id = %session.id, "signed out");
                state
                    .record_event(&session.user_id, "signed_out", &client(), "Signed out")
                    .await;
            }
        }
        clear_token_cookies();
        Ok(Done {})
    })
    .await
}

/// The signed-in person, if any.
#[server(endpoint = "whoami", prefix = "/api")]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    use self::ssr::*;
    run(async move {
        let middleware::Auth::SignedIn(authed) = auth() else {
            return Ok(None);
        };
        let Some(user) = state().db.user_by_id(&authed.user_id).await? else {
            return Ok(None);
        };
        Ok(Some(CurrentUser {
            id: user.id,
            email: user.email,
            role: user.role,
            access_expires_at: authed.access_expires_at,
        }))
    })
    .await
}
