//! Security headers on every response (OWASP HTTP Headers Cheat Sheet), and
//! the per-response CSP nonce (<https://web.dev/articles/strict-csp>: a
//! nonce with 'strict-dynamic', no 'unsafe-inline').

use crate::{config::Environment, state::AppState};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
    Router,
};
use tower_http::set_header::SetResponseHeaderLayer;

/// The CSP nonce of this response, for Leptos' hydration scripts.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Adds the headers that are the same on every response.
pub fn static_headers<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    state: &AppState,
) -> Router<S> {
    let router = router
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Form posts without JavaScript are sent back to the page they came
        // from, which needs the same-origin Referer.
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ));
    if state.config.secure_cookies {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ))
    } else {
        router
    }
}

/// Gives the request a fresh nonce and the response a CSP naming it.
pub async fn content_security_policy(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = crate::auth::tokens::random_id(18);
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let dev_reload = match state.config.reload_port {
        Some(port) if state.config.environment == Environment::Development => {
            format!(" ws://127.0.0.1:{port} ws://localhost:{port}")
        }
        _ => String::new(),
    };
    let csp = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{dev_reload}; \
         frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"
    );
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).expect("ascii"),
    );
    res
}
