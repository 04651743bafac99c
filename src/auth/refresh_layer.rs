//! The authentication layer: reads the auth cookies once, verifies the access
//! token, and — for page loads whose access token is missing or expired —
//! refreshes silently before rendering starts, because headers (and so
//! cookies) leave with the first streamed chunk. Pages that need a signed-in
//! person (as the app's routes declare) send others to the sign-in page.

use super::{
    cookies::{self, AuthCookies},
    extract::{self, Auth},
};
use crate::{
    http::forms::{self, see_other},
    redirect::{login_url, safe_next},
    request::{AuthedUser, ClientInfo},
    state::AppState,
};
use axum::{
    extract::{Request, State},
    http::{header, request::Parts, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// A page load: a GET that is not an API call, an asset or the health check.
fn is_page_request(parts: &Parts) -> bool {
    let path = parts.uri.path();
    parts.method == Method::GET
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/")
        && path != "/healthz"
        && !path.rsplit('/').next().unwrap_or_default().contains('.')
}

/// A form a browser posts to a server function without JavaScript
/// (`Accept: text/html`; the hydrated client asks for JSON). Like a page load
/// it carries nothing but cookies, so an access token that expired while the
/// page was open is renewed the same way instead of refusing the form (not
/// for the refresh and sign-out endpoints, which take the refresh cookie
/// itself). Cross-site posts never get here
/// (`http::cross_site`), and SameSite keeps the cookies off them anyway.
fn is_plain_form_post(parts: &Parts) -> bool {
    let path = parts.uri.path();
    forms::is_server_fn_call(&parts.method, path)
        && forms::wants_html(&parts.headers)
        && path != "/api/refresh"
        && path != "/api/logout"
}

/// Whether a response is a page or JSON (what can carry account data), not
/// a static asset.
fn is_page_or_data(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html") || ct.starts_with("application/json"))
}

pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let client = ClientInfo::from_parts(&state.config, &parts);
    let presented = AuthCookies::read(&state.config, &parts.headers);
    let mut auth = extract::authenticate(&state, &parts.headers, &presented);
    let page = is_page_request(&parts);
    let mut update = None;
    let decided = cookies::SessionCookies::default();

    let form_post = is_plain_form_post(&parts);
    if (page || form_post) && !auth.is_signed_in() {
        if let Some(refresh_token) = &presented.refresh {
            match state.auth.refresh(refresh_token, &client).await {
                Ok(issued) => {
                    tracing::debug!(session_id = %issued.session_id, "silent refresh on page load");
                    auth = Auth::SignedIn(AuthedUser {
                        user_id: issued.user_id.clone(),
                        session_id: issued.session_id.clone(),
                        access_expires_at: issued.access.expires_at,
                    });
                    update = Some(cookies::store(&state.config, &issued));
                }
                Err(err) if err.error.ends_renewal() => {
                    auth = Auth::Refused(err.error);
                    update = Some(cookies::clear(&state.config));
                }
                // The database is away or failed: the sign-in may well be
                // alive, so nothing is cleared. A form goes on unrenewed,
                // so that the form adapter sends the person back to it.
                Err(err) if !form_post => return err.into_response(),
                Err(_) => {}
            }
        }
    }

    let path = parts.uri.path();
    let auth_page = path == "/login" || path == "/register";
    // A device whose sign-in was just ended elsewhere (revoked, replayed,
    // disabled, expired) is told so on any page, not only protected ones.
    let ended_here =
        update.is_some() && matches!(&auth, Auth::Refused(code) if code.explains_sign_out());
    let mut res = if page
        && !auth_page
        && (ended_here || (crate::app::requires_sign_in(path) && !auth.is_signed_in()))
    {
        let here = parts.uri.path_and_query().map_or(path, |pq| pq.as_str());
        let reason = match &auth {
            Auth::Refused(code) => Some(*code),
            _ => None,
        };
        see_other(&login_url(Some(here), reason))
    } else if page && auth_page && auth.is_signed_in() {
        let next = parts
            .uri
            .query()
            .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "next"))
            .map(|(_, v)| v.into_owned());
        see_other(next.as_deref().and_then(safe_next).unwrap_or("/"))
    } else {
        // Anything answered to a signed-in request may show account data
        // (a 404 page shows who is signed in, too).
        let signed_in = auth.is_signed_in() || presented.refresh.is_some();
        parts.extensions.insert(client);
        parts.extensions.insert(presented);
        parts.extensions.insert(auth);
        parts.extensions.insert(decided.clone());
        let mut res = next.run(Request::from_parts(parts, body)).await;
        if signed_in && is_page_or_data(&res) {
            // No cache may keep account data (OWASP Session Management
            // Cheat Sheet, "Web Content Caching").
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        res
    };
    // A handler that decided the session cookies itself (signed in,
    // rotated the session again, ended it) decided after this renewal: its
    // cookies are the ones the browser must keep, and only they are sent
    // (with both, the later would win, and a later refresh could present a
    // token already replaced).
    if let Some(update) = decided.take().or(update) {
        update.write_to(res.headers_mut());
    }
    res
}
