//! What every server function reaches the request and response through:
//! the state, the caller, its cookies, and the answer's headers.

pub use crate::auth::{passwords, service};
pub use crate::request::AuthedUser;
use crate::{
    auth::{cookies, extract, Done, LoginAnswer, UserInfo},
    error::AppError,
    request::ClientInfo,
    sessions::tokens::IssuedTokens,
    state::AppState,
};
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
pub fn answer_sign_in(answer: service::SignIn, next: Option<&str>) -> LoginAnswer {
    match answer {
        service::SignIn::Done(user, issued) => LoginAnswer::SignedIn(signed_in(user, &issued)),
        service::SignIn::SecondStep { token, methods } => {
            store_second_step(&token, next);
            LoginAnswer::SecondStep {
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

/// Hands the session cookies to the authentication layer, which writes
/// them (or, outside it, writes them here).
fn decide_session(update: cookies::CookieUpdate) {
    match parts().extensions.get::<cookies::SessionCookies>() {
        Some(decided) => decided.decide(update),
        None => write(update),
    }
}

pub fn store_tokens(issued: &IssuedTokens) {
    decide_session(cookies::store(&state().config, issued));
}

/// Stores a new sign-in's cookies and describes its account.
pub fn signed_in(user: crate::store::User, issued: &IssuedTokens) -> UserInfo {
    store_tokens(issued);
    UserInfo {
        id: user.id.into_string(),
        email: user.email,
    }
}

pub fn clear_tokens() {
    decide_session(cookies::clear(&state().config));
}

/// Clears this browser's cookies after its sign-in ended here.
pub fn signed_out() -> Done {
    clear_tokens();
    Done {}
}

/// Answers as a file for the browser to save under `name`
/// (`Content-Disposition: attachment`, RFC 6266), never cached.
pub fn attachment(name: &str) {
    let res = expect_context::<ResponseOptions>();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.insert_header(header::CONTENT_DISPOSITION, value);
    }
    res.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
