//! Request middleware: security headers, cross-site request refusal,
//! authentication with silent refresh for page loads, and the adapter that
//! gives server functions the contract's statuses and no-JavaScript form
//! behaviour.

use super::{
    cookies,
    service::ClientInfo,
    tokens::{random_id, AccessError},
};
use crate::{
    error::{AppError, ErrorCode},
    state::AppState,
};
use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt as _;
use std::net::{IpAddr, SocketAddr};

/// Largest request body accepted (the contract: 16 KiB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The CSP nonce of this response, for Leptos' hydration scripts.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// A verified access token.
#[derive(Clone, Debug)]
pub struct AuthedUser {
    pub user_id: String,
    pub session_id: String,
    /// Access-token expiry, unix seconds.
    pub access_expires_at: i64,
}

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
}

/// Security headers on every response (OWASP HTTP Headers Cheat Sheet;
/// CSP per <https://web.dev/articles/strict-csp>: a per-response nonce with
/// 'strict-dynamic', no 'unsafe-inline').
pub async fn security_headers(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = random_id(18);
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    let dev_reload = if state.config.environment == crate::config::Environment::Development {
        " ws://127.0.0.1:3001 ws://localhost:3001"
    } else {
        ""
    };
    let csp = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{dev_reload}; \
         frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).expect("ascii"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Form posts without JavaScript are sent back to the page they came from,
    // which needs the same-origin Referer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if state.config.secure_cookies {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    res
}

/// The origin requests are expected from: `GATEHOUSE_PUBLIC_URL`, else the
/// request's own `Host`.
fn request_host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

fn same_origin(state: &AppState, headers: &HeaderMap, origin: &str) -> bool {
    match &state.config.public_url {
        Some(public) => origin.eq_ignore_ascii_case(public),
        None => {
            let Some(host) = request_host(headers) else {
                return false;
            };
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
        }
    }
}

/// Refuses state-changing requests from other sites (OWASP CSRF Prevention
/// Cheat Sheet: "Fetch Metadata headers" and "Verifying Origin With Standard
/// Headers"). GET and HEAD never change state, so they pass.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    // Every Origin value must match (a request with two is not let through
    // on the first alone).
    let foreign_origin = headers.get_all(header::ORIGIN).iter().any(|o| {
        o.to_str()
            .map_or(true, |o| !same_origin(&state, headers, o))
    });
    let cross = fetch_site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) || foreign_origin;
    if cross {
        tracing::warn!(path = %req.uri().path(), "cross-site request refused");
        return AppError::from(ErrorCode::CrossSite).into_response();
    }
    next.run(req).await
}

/// The client's address: the socket's, or — only when the socket is a
/// trusted proxy — the nearest untrusted address in `X-Forwarded-For`.
fn client_ip(state: &AppState, req: &Request) -> Option<IpAddr> {
    let socket = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    let trusted = &state.config.trusted_proxies;
    if !trusted.contains(&socket) {
        return Some(socket);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .unwrap_or(socket),
    )
}

/// Verifies the presented access token and checks its session against the
/// in-memory revocation set (no database read).
pub fn authenticate_headers(state: &AppState, headers: &HeaderMap) -> Auth {
    let Some(token) = cookies::presented_access(&state.config, headers) else {
        // No access token but a refresh cookie: the access cookie has simply
        // expired, and the client should refresh.
        return match cookies::read(&state.config, headers).1 {
            Some(_) => Auth::Refused(ErrorCode::TokenExpired),
            None => Auth::SignedOut,
        };
    };
    match state.keys.verify_access(&token) {
        Ok(claims) => match state.revocations.revoked(&claims.sid) {
            Some(refusal) => Auth::Refused(refusal),
            None => Auth::SignedIn(AuthedUser {
                user_id: claims.sub,
                session_id: claims.sid,
                access_expires_at: claims.exp,
            }),
        },
        Err(AccessError::Expired) => Auth::Refused(ErrorCode::TokenExpired),
        Err(AccessError::Invalid) => Auth::Refused(ErrorCode::Unauthenticated),
    }
}

fn is_page_request(req: &Request) -> bool {
    let path = req.uri().path();
    req.method() == Method::GET
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/")
        && path != "/healthz"
        && !path.rsplit('/').next().unwrap_or_default().contains('.')
}

/// Pages only a signed-in person may see.
fn is_protected_page(path: &str) -> bool {
    ["/sessions", "/security", "/admin"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// A same-origin path to go to after signing in; anything else is dropped
/// (OWASP Unvalidated Redirects and Forwards Cheat Sheet).
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 512
        && !next.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(next)
}

fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")),
    );
    res
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Authenticates every request; page loads whose access token is missing or
/// expired are silently refreshed here, before rendering starts, because
/// headers (and so cookies) leave with the first streamed chunk.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = ClientInfo {
        ip: client_ip(&state, &req).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    };
    let mut auth = authenticate_headers(&state, req.headers());
    let mut set_cookies = None;

    if is_page_request(&req) && !matches!(auth, Auth::SignedIn(_)) {
        if let Some(refresh_token) = cookies::read(&state.config, req.headers()).1 {
            match state.refresh(&refresh_token, &client).await {
                Ok(issued) => {
                    tracing::debug!(session_id = %issued.session_id, "silent refresh on page load");
                    auth = Auth::SignedIn(AuthedUser {
                        user_id: issued.user_id.clone(),
                        session_id: issued.session_id.clone(),
                        access_expires_at: issued.access.expires_at,
                    });
                    set_cookies = Some(cookies::set_tokens(&state.config, &issued));
                }
                Err(err) if err.error == ErrorCode::Unavailable => {
                    // Nothing is cleared while the database is away.
                    return err.into_response();
                }
                Err(err) => {
                    auth = Auth::Refused(err.error);
                    set_cookies = Some(cookies::clear_tokens(&state.config));
                }
            }
        }
    }

    let path = req.uri().path().to_owned();
    // A device whose sign-in was just ended elsewhere (revoked, replayed,
    // disabled, expired) is told so on any page, not only protected ones.
    let ended_here = set_cookies.is_some()
        && matches!(&auth, Auth::Refused(code) if code.ends_sign_in() && *code != ErrorCode::Unauthenticated);
    let auth_page = path == "/login" || path == "/register";
    let mut res = if is_page_request(&req)
        && !auth_page
        && (ended_here || (is_protected_page(&path) && !matches!(auth, Auth::SignedIn(_))))
    {
        let target = req
            .uri()
            .path_and_query()
            .map_or(path.clone(), |pq| pq.as_str().to_owned());
        let mut location = format!("/login?next={}", encode(&target));
        if let Auth::Refused(code) = &auth {
            if code.ends_sign_in() && *code != ErrorCode::Unauthenticated {
                location.push_str(&format!("&error={code}"));
            }
        }
        see_other(&location)
    } else if is_page_request(&req) && auth_page && matches!(auth, Auth::SignedIn(_)) {
        let next = req
            .uri()
            .query()
            .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "next"))
            .map(|(_, v)| v.into_owned());
        see_other(next.as_deref().and_then(safe_next).unwrap_or("/"))
    } else {
        req.extensions_mut().insert(client);
        req.extensions_mut().insert(auth);
        next.run(req).await
    };
    if let Some(values) = set_cookies {
        cookies::apply(res.headers_mut(), values);
    }
    res
}

/// Where a successful no-JavaScript form post lands when it names no `next`.
fn success_destination(path: &str) -> &'static str {
    match path {
        "/api/logout" | "/api/delete_account" => "/login",
        "/api/revoke_session" | "/api/revoke_other_sessions" => "/sessions",
        "/api/change_password" => "/security",
        p if p.starts_with("/api/admin/") => "/admin",
        _ => "/",
    }
}

/// The form a failed no-JavaScript post goes back to when there is no usable Referer.
fn form_page(path: &str) -> &'static str {
    match path {
        "/api/login" => "/login",
        "/api/register" => "/register",
        "/api/change_password" | "/api/delete_account" => "/security",
        p if p.starts_with("/api/admin/") => "/admin",
        _ => "/sessions",
    }
}

/// The same-origin path and query of the Referer, if there is one.
fn referer_path(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let url = url::Url::parse(referer).ok()?;
    if !same_origin(state, headers, &url.origin().ascii_serialization()) {
        return None;
    }
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    Some(path)
}

/// `path` with the query parameters `remove` dropped and `add` appended.
fn rewrite_query(path: &str, remove: &[&str], add: Option<(&str, &str)>) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !remove.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Some((k, v)) = add {
        pairs.push((k.to_owned(), v.to_owned()));
    }
    if pairs.is_empty() {
        return base.to_owned();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}?{query}")
}

fn is_form_content_type(headers: &HeaderMap) -> Option<bool> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = ct.split(';').next().unwrap_or_default().trim();
    Some(essence.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// Wraps the server-function routes:
/// - bodies over 16 KiB → `413 too_large`; other than form-encoded → `415`;
/// - a failing server function answers with its error code's status (Leptos
///   answers 500 for every error, including arguments that fail to parse
///   before the function body runs);
/// - a plain form post from a browser without JavaScript (`Accept: text/html`)
///   gets a `303` to its `next` page, or back to its form with `?error=<code>`
///   that the page shows as a readable message.
pub async fn server_fn_adapter(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if req.method() != Method::POST || !path.starts_with("/api/") || path.starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let form_origin = wants_html.then(|| referer_path(&state, req.headers()));

    let (mut parts, body) = req.into_parts();
    let result =
        collect_limited(body)
            .await
            .and_then(|bytes| match is_form_content_type(&parts.headers) {
                Some(false) => Err(AppError::from(ErrorCode::UnsupportedMediaType)),
                None if !bytes.is_empty() => Err(AppError::from(ErrorCode::UnsupportedMediaType)),
                _ => Ok(bytes),
            });
    let (res, next_field) = match result {
        Err(err) => (err.into_response(), None),
        Ok(bytes) => {
            let next_field = url::form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "next")
                .map(|(_, v)| v.into_owned());
            if wants_html {
                // Leptos would redirect on its own with the raw error in the
                // URL; ask it for JSON and do the redirect here instead.
                parts
                    .headers
                    .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
            }
            let res = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            (with_error_status(res).await, next_field)
        }
    };
    match form_origin {
        None => res,
        Some(referer) => form_redirect(&path, res, referer, next_field).await,
    }
}

/// The whole request body, or `413 too_large` past [`MAX_BODY_BYTES`].
pub async fn collect_limited(body: Body) -> Result<Bytes, AppError> {
    http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|_| ErrorCode::TooLarge.into())
}

/// Reads the error code of a failed server function and sets its status.
async fn with_error_status(res: Response) -> Response {
    if !res.headers().contains_key("serverfnerror") {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let error: AppError =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| ErrorCode::Internal.into());
    parts.status =
        StatusCode::from_u16(error.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

async fn form_redirect(
    path: &str,
    res: Response,
    referer: Option<String>,
    next_field: Option<String>,
) -> Response {
    let status = res.status();
    let (parts, body) = res.into_parts();
    let location = if status.is_success() || status.is_redirection() {
        next_field
            .as_deref()
            .and_then(safe_next)
            .map(str::to_owned)
            .unwrap_or_else(|| success_destination(path).to_owned())
    } else {
        let bytes = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let code = serde_json::from_slice::<AppError>(&bytes)
            .map(|e| e.error)
            .unwrap_or(ErrorCode::Internal);
        if code.ends_sign_in() && path != "/api/login" {
            format!("/login?error={code}")
        } else {
            let back = referer.unwrap_or_else(|| form_page(path).to_owned());
            rewrite_query(
                &back,
                &["error", "confirm", "done"],
                Some(("error", code.as_str())),
            )
        }
    };
    let mut redirect = see_other(&location);
    for (name, value) in parts.headers.iter() {
        if name == header::SET_COOKIE
            || name == header::CACHE_CONTROL
            || name == header::RETRY_AFTER
        {
            redirect.headers_mut().append(name, value.clone());
        }
    }
    redirect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_same_origin_path() {
        assert_eq!(safe_next("/sessions?x=1"), Some("/sessions?x=1"));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "sessions",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn query_rewriting_replaces_the_error() {
        assert_eq!(
            rewrite_query(
                "/login?next=%2Fsessions&error=throttled",
                &["error"],
                Some(("error", "invalid_credentials"))
            ),
            "/login?next=%2Fsessions&error=invalid_credentials"
        );
        assert_eq!(
            rewrite_query("/sessions?confirm=abc", &["confirm"], None),
            "/sessions"
        );
    }

    #[test]
    fn protected_pages() {
        assert!(is_protected_page("/sessions"));
        assert!(is_protected_page("/admin/users"));
        assert!(!is_protected_page("/sessionsx"));
        assert!(!is_protected_page("/"));
    }
}
