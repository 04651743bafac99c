//! The OpenID Connect routes: `/auth/oidc/<name>/start`, a plain link (so
//! it works without JavaScript), and `/auth/oidc/<name>/callback`, the
//! redirect URI. Both answer `303`s, like every form; a failed round trip
//! lands on the sign-in page (or the security page, for a signed-in person)
//! with `?error=<code>`, and changes nothing.

use crate::{
    account::ProviderSignIn,
    auth::{
        cookies::{self, AuthCookies, SessionCookies},
        extract::{auth_of, Auth},
        service::SignIn,
    },
    error::{AppError, ErrorCode},
    federation::provider::{Callback, Purpose},
    http::forms::see_other,
    redirect::{encode_component, safe_next, second_step_url},
    request::ClientInfo,
    state::AppState,
};
use axum::{
    extract::{Path, Query, State},
    http::request::Parts,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/oidc/{name}/start", get(start))
        .route("/auth/oidc/{name}/callback", get(callback))
}

#[derive(serde::Deserialize)]
struct StartQuery {
    next: Option<String>,
    /// `reauth`: a signed-in person proving a recent sign-in at a provider
    /// already linked; otherwise a signed-in person links the provider.
    intent: Option<String>,
}

/// Where a refused round trip sends the person: the security page if they
/// are signed in (linking, re-authenticating), else the sign-in page.
fn refused_to(signed_in: bool, code: ErrorCode) -> Response {
    let page = if signed_in { "/security" } else { "/login" };
    see_other(&format!("{page}?error={}", code.as_str()))
}

async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<StartQuery>,
    parts: Parts,
) -> Response {
    if !state.federation.knows(&name) {
        return AppError::from(ErrorCode::NotFound).into_response();
    }
    let next = query.next.as_deref().and_then(safe_next);
    let (purpose, session) = match auth_of(&parts) {
        Auth::SignedIn(me) => {
            let purpose = match query.intent.as_deref() {
                Some("reauth") => Purpose::Reauth,
                _ => Purpose::Link,
            };
            // Linking and re-authenticating change what the signed-in
            // account accepts: another site must not start them (a GET
            // carries Lax cookies). Browsers say where a navigation came
            // from (Fetch Metadata, OWASP CSRF Prevention Cheat Sheet).
            let from_elsewhere = parts
                .headers
                .get("sec-fetch-site")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|site| site != "same-origin" && site != "none");
            if from_elsewhere {
                return refused_to(true, ErrorCode::CrossSite);
            }
            // Linking another way in is a sensitive change (OWASP ASVS 4.0
            // V3.7.1); re-authenticating is how one gets that proof.
            if purpose == Purpose::Link {
                if let Err(err) = state.sessions.require_recent_proof(&me).await {
                    return refused_to(true, err.error);
                }
            }
            (purpose, Some(me.session_id))
        }
        _ => (Purpose::SignIn, None),
    };
    match state
        .federation
        .begin(&name, purpose, next, session.as_ref())
        .await
    {
        Ok(authorization) => {
            let mut res = see_other(&authorization.url);
            cookies::store_oidc_flow(&state.config, &authorization.flow_id)
                .write_to(res.headers_mut());
            res
        }
        Err(err) => {
            tracing::warn!(provider = %name, error = %err.reason, "provider sign-in not started");
            refused_to(session.is_some(), err.code)
        }
    }
}

/// A link or re-authentication's end: `next` (or `done`), or the security
/// page saying why not.
fn signed_in_answer(result: Result<(), AppError>, next: Option<&str>, done: &str) -> Response {
    match result {
        Ok(()) => see_other(next.and_then(safe_next).unwrap_or(done)),
        Err(err) => {
            tracing::info!(error = %err.error, "provider link or confirmation refused");
            refused_to(true, err.error)
        }
    }
}

async fn callback(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(callback): Query<Callback>,
    parts: Parts,
) -> Response {
    if !state.federation.knows(&name) {
        return AppError::from(ErrorCode::NotFound).into_response();
    }
    let presented = parts
        .extensions
        .get::<AuthCookies>()
        .cloned()
        .unwrap_or_default();
    let client = parts
        .extensions
        .get::<ClientInfo>()
        .cloned()
        .unwrap_or_else(|| ClientInfo::from_parts(&state.config, &parts));
    let signed_in = auth_of(&parts).is_signed_in();
    let mut res = match state
        .federation
        .finish(&name, presented.oidc.as_deref(), &callback)
        .await
    {
        Err(err) => {
            tracing::warn!(provider = %name, error = %err.reason, "provider sign-in refused");
            refused_to(signed_in, err.code)
        }
        Ok(login) => match (login.purpose, login.session_id.clone()) {
            (Purpose::SignIn, _) => {
                let next = login.next.as_deref().and_then(safe_next).unwrap_or("/");
                let answer = state
                    .account
                    .provider_sign_in(
                        &login,
                        state.federation.trusts_mfa(&name),
                        presented.device.as_deref(),
                        &client,
                    )
                    .await;
                match answer {
                    Ok(ProviderSignIn::SignedIn(SignIn::Done(_, issued))) => {
                        if let Some(decided) = parts.extensions.get::<SessionCookies>() {
                            decided.decide(cookies::store(&state.config, &issued));
                            see_other(next)
                        } else {
                            let mut res = see_other(next);
                            cookies::store(&state.config, &issued).write_to(res.headers_mut());
                            res
                        }
                    }
                    Ok(ProviderSignIn::SignedIn(SignIn::SecondStep { token, .. })) => {
                        let mut res = see_other(&second_step_url(Some(next).filter(|n| *n != "/")));
                        cookies::store_second_step(&state.config, &token)
                            .write_to(res.headers_mut());
                        res
                    }
                    Ok(ProviderSignIn::LinkFirst) => {
                        let mut to = format!("/login?link={}", encode_component(&name));
                        if next != "/" {
                            to.push_str("&next=");
                            to.push_str(&encode_component(next));
                        }
                        see_other(&to)
                    }
                    Err(err) => {
                        tracing::info!(provider = %name, error = %err.error, "provider sign-in refused by the account rules");
                        refused_to(false, err.error)
                    }
                }
            }
            (Purpose::Link, Some(session_id)) => {
                let linked = state
                    .account
                    .link_provider(&login, &session_id, &client)
                    .await;
                signed_in_answer(linked, login.next.as_deref(), "/security?linked=1")
            }
            (Purpose::Reauth, Some(session_id)) => {
                let proved = state
                    .account
                    .provider_reauthenticated(&login, &session_id)
                    .await;
                signed_in_answer(proved, login.next.as_deref(), "/security")
            }
            (_, None) => refused_to(signed_in, ErrorCode::OidcState),
        },
    };
    // The round trip is over, whatever its end.
    cookies::clear_oidc_flow(&state.config).write_to(res.headers_mut());
    res
}
