//! The auth capability, as the browser reaches it: registering, signing in,
//! silent refresh and signing out. Each server function parses its fields,
//! makes one service call and shapes the answer.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

server_only! {
    pub mod cookies;
    pub mod device;
    pub mod extract;
    pub mod hash_workers;
    pub mod passwords;
    pub mod refresh_layer;
    pub mod service;
    pub mod throttle;
    pub mod tokens;
    pub mod user_cache;
}

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
    pub email_verified: bool,
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

/// The answer to a correct password: signed in, or (for an account with a
/// second factor) `{"mfa_required": true, "methods": [...]}` and a second
/// step to complete with a code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LoginAnswer {
    SecondStep {
        mfa_required: bool,
        methods: Vec<String>,
    },
    SignedIn(UserInfo),
}

/// An empty JSON object, `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {}

/// What every server function reaches the request and response through.
#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{cookies, extract, tokens::IssuedTokens};
    pub use super::{extract::AuthedUser, passwords, service};
    use crate::{error::AppError, http::client_addr::ClientInfo, state::AppState};
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

    /// What the auth layer found for this request.
    pub fn auth() -> extract::Auth {
        extract::auth_of(&parts())
    }

    /// The signed-in user of this request, or the reason there is none.
    pub fn authed() -> Result<AuthedUser, AppError> {
        auth().require().cloned()
    }

    pub fn client() -> ClientInfo {
        let parts = parts();
        match parts.extensions.get::<ClientInfo>() {
            Some(client) => client.clone(),
            None => ClientInfo::from_parts(&state().config, &parts),
        }
    }

    fn presented() -> cookies::AuthCookies {
        parts()
            .extensions
            .get::<cookies::AuthCookies>()
            .cloned()
            .unwrap_or_default()
    }

    /// The refresh cookie of this request.
    pub fn refresh_cookie() -> Option<String> {
        presented().refresh
    }

    /// The device credential this browser earned at an earlier sign-in.
    pub fn device_cookie() -> Option<String> {
        presented().device
    }

    /// The second step of a sign-in this browser is in, if any.
    pub fn second_step_cookie() -> Option<String> {
        presented().second_step
    }

    /// Answers a correct password (or link): the session's cookies, or the
    /// second step's cookie and `mfa_required`.
    pub fn answer_sign_in(answer: service::SignIn, next: Option<&str>) -> super::LoginAnswer {
        match answer {
            service::SignIn::Done(user, issued) => {
                super::LoginAnswer::SignedIn(signed_in(user, &issued))
            }
            service::SignIn::SecondStep { token, methods } => {
                store_second_step(&token, next);
                super::LoginAnswer::SecondStep {
                    mfa_required: true,
                    methods: methods.into_iter().map(str::to_owned).collect(),
                }
            }
        }
    }

    /// Starts a sign-in's second step in this browser. A form post
    /// without JavaScript continues on the second-step page.
    pub fn store_second_step(token: &str, next: Option<&str>) {
        write(cookies::store_second_step(&state().config, token));
        let page = crate::redirect::second_step_url(next);
        if let Ok(value) = HeaderValue::from_str(&page) {
            expect_context::<ResponseOptions>()
                .insert_header(crate::http::forms::FORM_NEXT.clone(), value);
        }
    }

    pub fn clear_second_step() {
        write(cookies::clear_second_step(&state().config));
    }

    /// The passkey ceremony this browser is in, if any.
    pub fn ceremony_cookie() -> Option<String> {
        presented().ceremony
    }

    pub fn store_ceremony(id: &str) {
        write(cookies::store_ceremony(&state().config, id));
    }

    pub fn clear_ceremony() {
        write(cookies::clear_ceremony(&state().config));
    }

    fn write(update: cookies::CookieUpdate) {
        let res = expect_context::<ResponseOptions>();
        for (name, value) in update.headers() {
            if name == header::SET_COOKIE {
                res.append_header(name, value);
            } else {
                res.insert_header(name, value);
            }
        }
    }

    pub fn store_tokens(issued: &IssuedTokens) {
        write(cookies::store(&state().config, issued));
    }

    /// Stores a new sign-in's cookies and describes its account.
    pub fn signed_in(user: crate::store::User, issued: &IssuedTokens) -> super::UserInfo {
        store_tokens(issued);
        super::UserInfo {
            id: user.id.into_string(),
            email: user.email,
        }
    }

    pub fn clear_tokens() {
        write(cookies::clear(&state().config));
    }

    /// Clears this browser's cookies after its sign-in ended here.
    pub fn signed_out() -> super::Done {
        clear_tokens();
        super::Done {}
    }

    /// Runs a server function body; a failure's `Retry-After` travels as a
    /// header to the server-function adapter, which answers the error, and a
    /// failure that ends the sign-in clears the dead cookies.
    pub async fn run<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        let result = body.await;
        if let Err(err) = &result {
            if let Some(seconds) = err.retry_after {
                expect_context::<ResponseOptions>()
                    .insert_header(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            if err.error.ends_sign_in() && err.error != crate::error::ErrorCode::Unauthenticated {
                clear_tokens();
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
            .auth
            .register(&email, passwords::Password::new(password), &client())
            .await?;
        Ok(signed_in(user, &issued))
    })
    .await
}

/// Signs in; `next` is where a form post without JavaScript goes afterwards.
#[server(endpoint = "login", prefix = "/api")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<LoginAnswer, AppError> {
    use self::ssr::*;
    run(async move {
        let answer = state()
            .auth
            .login(
                &email,
                passwords::Password::new(password),
                crate::sessions::service::SessionKind::Browser,
                device_cookie().as_deref(),
                &client(),
            )
            .await?;
        Ok(answer_sign_in(answer, next.as_deref()))
    })
    .await
}

/// Rotates the refresh cookie and issues a new access cookie.
#[server(endpoint = "refresh", prefix = "/api")]
pub async fn refresh() -> Result<Refreshed, AppError> {
    use self::ssr::*;
    run(async move {
        let token = refresh_cookie().ok_or(crate::error::ErrorCode::Unauthenticated)?;
        let issued = state().auth.refresh(&token, &client()).await;
        let issued = issued.inspect_err(|err| {
            if err.error.ends_renewal() {
                clear_tokens();
            }
        })?;
        store_tokens(&issued);
        Ok(Refreshed {
            expires_at: crate::clock::rfc3339(issued.access.expires_at * 1000),
        })
    })
    .await
}

/// Ends this browser's session and clears its cookies; safe to repeat.
#[server(endpoint = "logout", prefix = "/api")]
pub async fn logout() -> Result<Done, AppError> {
    use self::ssr::*;
    run(async move {
        let me = authed().ok();
        state()
            .auth
            .logout(refresh_cookie().as_deref(), me.as_ref(), &client())
            .await?;
        Ok(signed_out())
    })
    .await
}

/// Proves a factor again (the password, or a second-factor code) so this
/// session may take sensitive actions for the next few minutes.
#[server(endpoint = "reauthenticate", prefix = "/api")]
pub async fn reauthenticate(
    password: Option<String>,
    code: Option<String>,
) -> Result<Done, AppError> {
    use self::ssr::*;
    run(async move {
        let me = authed()?;
        state()
            .auth
            .reauthenticate(
                &me,
                password.map(passwords::Password::new),
                code.as_deref(),
                device_cookie().as_deref(),
                &client(),
            )
            .await?;
        Ok(Done {})
    })
    .await
}

/// The signed-in person, if any.
#[server(endpoint = "whoami", prefix = "/api")]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    use self::ssr::*;
    run(async move {
        let Ok(authed) = authed() else {
            return Ok(None);
        };
        let Some(user) = state().auth.user(&authed.user_id).await? else {
            return Ok(None);
        };
        Ok(Some(CurrentUser {
            id: user.id.into_string(),
            email: user.email,
            email_verified: user.email_verified_at.is_some(),
            role: user.role,
            access_expires_at: authed.access_expires_at,
        }))
    })
    .await
}
