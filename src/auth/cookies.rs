//! The two auth cookies. Both are `HttpOnly` (no script can read them, OWASP
//! Session Management Cheat Sheet "HttpOnly Attribute"), `Secure` with the
//! `__Host-` prefix unless turned off for plain-http development
//! (RFC 6265bis §4.1.3.2), and `Path=/`.
//!
//! `SameSite=Lax`: the cookies ride along on top-level GET navigations, so a
//! person following a link to gatehouse from mail or another site arrives
//! signed in, while cross-site subrequests and POSTs carry none. Strict would
//! break that first navigation and add no protection here: GET never changes
//! state, and every state-changing request is also Origin-checked.

use super::service::IssuedTokens;
use crate::{config::Config, db::now_ms};
use axum::http::{header, HeaderMap, HeaderValue};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

pub struct CookieNames {
    pub access: &'static str,
    pub refresh: &'static str,
}

pub fn names(config: &Config) -> CookieNames {
    if config.secure_cookies {
        CookieNames {
            access: "__Host-gh_access",
            refresh: "__Host-gh_refresh",
        }
    } else {
        CookieNames {
            access: "gh_access",
            refresh: "gh_refresh",
        }
    }
}

fn cookie(config: &Config, name: &'static str, value: String, max_age_secs: i64) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .http_only(true)
        .secure(config.secure_cookies)
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(max_age_secs.max(0)))
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie values are header-safe")
}

/// `Set-Cookie` values that store a freshly issued pair.
pub fn set_tokens(config: &Config, issued: &IssuedTokens) -> [HeaderValue; 2] {
    let n = names(config);
    let now_secs = now_ms() / 1000;
    [
        cookie(
            config,
            n.access,
            issued.access.value.clone(),
            issued.access.expires_at - now_secs,
        ),
        cookie(
            config,
            n.refresh,
            issued.refresh.expose().to_owned(),
            issued.refresh_expires_at / 1000 - now_secs,
        ),
    ]
}

/// `Set-Cookie` values that clear both cookies, repeating their attributes.
pub fn clear_tokens(config: &Config) -> [HeaderValue; 2] {
    let n = names(config);
    [
        cookie(config, n.access, String::new(), 0),
        cookie(config, n.refresh, String::new(), 0),
    ]
}

/// Adds `Set-Cookie` values and `Cache-Control: no-store` to `headers`.
pub fn apply(headers: &mut HeaderMap, cookies: [HeaderValue; 2]) {
    for value in cookies {
        headers.append(header::SET_COOKIE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The access and refresh cookie values a request carries.
pub fn read(config: &Config, headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let jar = CookieJar::from_headers(headers);
    let n = names(config);
    let get = |name: &str| {
        jar.get(name)
            .map(|c| c.value().to_owned())
            .filter(|v| !v.is_empty())
    };
    (get(n.access), get(n.refresh))
}

/// The access token a request presents: a Bearer header wins over the cookie
/// (the contract), then the cookie.
pub fn presented_access(config: &Config, headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = auth.split_once(' ').unwrap_or((auth, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(token.trim().to_owned());
        }
    }
    read(config, headers).0
}
