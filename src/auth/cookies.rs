//! The auth cookies (access, refresh, device credential and the second step
//! of a sign-in), read once per request and written here.
//!
//! Both are `HttpOnly` (no script can read them, OWASP Session Management
//! Cheat Sheet "HttpOnly Attribute"), `Secure` with the `__Host-` prefix
//! unless turned off for plain-http development (RFC 6265bis §4.1.3.2), and
//! `Path=/`.
//!
//! `SameSite=Lax`: the cookies ride along on top-level GET navigations, so a
//! person following a link to gatehouse from mail or another site arrives
//! signed in, while cross-site subrequests and POSTs carry none. Strict would
//! break that first navigation and add no protection here: GET never changes
//! state, and every state-changing request is also Origin-checked.

use crate::{clock::now_ms, config::Config, sessions::tokens::IssuedTokens};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum_extra::extract::cookie::{Cookie, SameSite};
use std::sync::{Arc, Mutex};

struct CookieNames {
    access: &'static str,
    refresh: &'static str,
    device: &'static str,
    second_step: &'static str,
    ceremony: &'static str,
    oidc: &'static str,
}

fn names(config: &Config) -> CookieNames {
    if config.secure_cookies {
        CookieNames {
            access: "__Host-gh_access",
            refresh: "__Host-gh_refresh",
            device: "__Host-gh_device",
            second_step: "__Host-gh_mfa",
            ceremony: "__Host-gh_webauthn",
            oidc: "__Host-gh_oidc",
        }
    } else {
        CookieNames {
            access: "gh_access",
            refresh: "gh_refresh",
            device: "gh_device",
            second_step: "gh_mfa",
            ceremony: "gh_webauthn",
            oidc: "gh_oidc",
        }
    }
}

/// How long a device credential lasts: a year.
const DEVICE_MAX_AGE_SECS: i64 = 365 * 24 * 3600;
/// How long the second step of a sign-in waits for its code.
pub const SECOND_STEP_MAX_AGE_SECS: i64 = 300;
/// How long a passkey ceremony waits for the browser's answer.
pub const CEREMONY_MAX_AGE_SECS: i64 = 300;
/// How long a round trip to an OpenID Connect provider may take.
pub const OIDC_FLOW_MAX_AGE_SECS: i64 = 600;

/// The auth cookies a request carries (empty values count as absent). Its
/// `Debug` says which are present, never their values.
#[derive(Clone, Default)]
pub struct AuthCookies {
    pub access: Option<String>,
    pub refresh: Option<String>,
    /// The device credential earned at an earlier sign-in.
    pub device: Option<String>,
    /// The second step of a sign-in waiting for its code.
    pub second_step: Option<String>,
    /// A passkey ceremony (registration or sign-in) in progress.
    pub ceremony: Option<String>,
    /// A round trip to an OpenID Connect provider in progress.
    pub oidc: Option<String>,
}

impl std::fmt::Debug for AuthCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |value: &Option<String>| value.as_ref().map(|_| "[redacted]");
        f.debug_struct("AuthCookies")
            .field("access", &redacted(&self.access))
            .field("refresh", &redacted(&self.refresh))
            .field("device", &redacted(&self.device))
            .field("second_step", &redacted(&self.second_step))
            .field("ceremony", &redacted(&self.ceremony))
            .field("oidc", &redacted(&self.oidc))
            .finish()
    }
}

impl AuthCookies {
    /// Reads the cookies by their literal names. Names are never
    /// percent-decoded: browsers enforce the `__Host-` rules on the name as
    /// sent, so `%5F%5FHost-gh_refresh`, which anyone on a sibling domain
    /// or plain http can plant, must not count as `__Host-gh_refresh`
    /// (RFC 6265bis §4.1.3; the class of PHP's CVE-2022-31629). Of two
    /// cookies with one name, the first (the most specific) wins.
    pub fn read(config: &Config, headers: &HeaderMap) -> Self {
        let n = names(config);
        let mut found = Self::default();
        let pairs = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='));
        for (name, value) in pairs {
            let value = value.trim().trim_matches('"');
            if value.is_empty() {
                continue;
            }
            let slot = match name.trim() {
                name if name == n.access => &mut found.access,
                name if name == n.refresh => &mut found.refresh,
                name if name == n.device => &mut found.device,
                name if name == n.second_step => &mut found.second_step,
                name if name == n.ceremony => &mut found.ceremony,
                name if name == n.oidc => &mut found.oidc,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.to_owned());
        }
        found
    }
}

/// The access token a request presents: a Bearer header wins over the cookie
/// (the contract), then the cookie.
pub fn presented_access(headers: &HeaderMap, cookies: &AuthCookies) -> Option<String> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = auth.split_once(' ').unwrap_or((auth, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(token.trim().to_owned());
        }
    }
    cookies.access.clone()
}

/// Headers that store or clear the auth cookies. Every such response is
/// `Cache-Control: no-store`, so no cache keeps a token (RFC 6749 §5.1).
#[derive(Clone, Debug)]
pub struct CookieUpdate(Vec<HeaderValue>);

fn cookie(config: &Config, name: &'static str, value: String, max_age_secs: i64) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .http_only(true)
        .secure(config.secure_cookies)
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(max_age_secs.max(0)))
        .build();
    let mut value =
        HeaderValue::from_str(&cookie.to_string()).expect("cookie values are header-safe");
    // Its `Debug` (and so `CookieUpdate`'s) then says `Sensitive`, and
    // HTTP/2's header compression never indexes it (RFC 7541 §7.1.3).
    value.set_sensitive(true);
    value
}

/// Stores a freshly issued pair (and a new device credential at sign-in).
pub fn store(config: &Config, issued: &IssuedTokens) -> CookieUpdate {
    let n = names(config);
    let now_secs = now_ms() / 1000;
    let mut values = vec![
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
    ];
    if let Some(device) = &issued.device {
        values.push(cookie(
            config,
            n.device,
            device.expose().to_owned(),
            DEVICE_MAX_AGE_SECS,
        ));
    }
    CookieUpdate(values)
}

/// Stores the second step of a sign-in (a correct password, a code to
/// come): no session yet, gone after five minutes or at its first use.
pub fn store_second_step(config: &Config, token: &str) -> CookieUpdate {
    let n = names(config);
    CookieUpdate(vec![cookie(
        config,
        n.second_step,
        token.to_owned(),
        SECOND_STEP_MAX_AGE_SECS,
    )])
}

/// Clears the second step of a sign-in.
pub fn clear_second_step(config: &Config) -> CookieUpdate {
    let n = names(config);
    CookieUpdate(vec![cookie(config, n.second_step, String::new(), 0)])
}

/// Stores the id of a passkey ceremony (its state stays on the server)
/// for as long as the browser gives the person to answer.
pub fn store_ceremony(config: &Config, id: &str) -> CookieUpdate {
    let n = names(config);
    CookieUpdate(vec![cookie(
        config,
        n.ceremony,
        id.to_owned(),
        CEREMONY_MAX_AGE_SECS,
    )])
}

pub fn clear_ceremony(config: &Config) -> CookieUpdate {
    let n = names(config);
    CookieUpdate(vec![cookie(config, n.ceremony, String::new(), 0)])
}

/// Stores the id of a round trip to a provider (its state, nonce and PKCE
/// verifier stay on the server). `SameSite=Lax`, so it comes back on the
/// provider's top-level redirect to the callback.
pub fn store_oidc_flow(config: &Config, id: &str) -> CookieUpdate {
    let n = names(config);
    CookieUpdate(vec![cookie(
        config,
        n.oidc,
        id.to_owned(),
        OIDC_FLOW_MAX_AGE_SECS,
    )])
}

pub fn clear_oidc_flow(config: &Config) -> CookieUpdate {
    let n = names(config);
    CookieUpdate(vec![cookie(config, n.oidc, String::new(), 0)])
}

/// Clears the access and refresh cookies, repeating their attributes. The
/// device credential stays: it outlives sign-out, so its owner is never
/// locked out by strangers' guesses.
pub fn clear(config: &Config) -> CookieUpdate {
    let n = names(config);
    CookieUpdate(vec![
        cookie(config, n.access, String::new(), 0),
        cookie(config, n.refresh, String::new(), 0),
    ])
}

/// The session cookies a handler decided on — a sign-in, a rotation, an
/// ending — left for the authentication layer, which writes one answer: the
/// handler's decision if it made one, else its own silent renewal. Neither
/// reads back what the other wrote, and both can never be sent.
#[derive(Clone, Default)]
pub struct SessionCookies(Arc<Mutex<Option<CookieUpdate>>>);

impl SessionCookies {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<CookieUpdate>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The handler's decision; a later one replaces an earlier one.
    pub fn decide(&self, update: CookieUpdate) {
        *self.lock() = Some(update);
    }

    /// What the handler decided, if anything.
    pub fn take(&self) -> Option<CookieUpdate> {
        self.lock().take()
    }
}

impl CookieUpdate {
    /// The headers to add, in order: the `Set-Cookie` values, then `no-store`.
    pub fn headers(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
        self.0
            .iter()
            .map(|v| (header::SET_COOKIE, v.clone()))
            .chain(std::iter::once((
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            )))
    }

    /// Adds the headers to a response.
    pub fn write_to(&self, headers: &mut HeaderMap) {
        for (name, value) in self.headers() {
            if name == header::SET_COOKIE {
                headers.append(name, value);
            } else {
                headers.insert(name, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_cookie_value() {
        let config = Config::from_lookup(|name| {
            (name == "GATEHOUSE_SECRET").then(|| "0123456789abcdef0123456789abcdef".to_owned())
        })
        .expect("a valid configuration");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static(
                "__Host-gh_access=eyJhbGciOiJFZERTQSJ9.access-secret; \
                 __Host-gh_refresh=refresh-secret; __Host-gh_device=device-secret; \
                 __Host-gh_mfa=second-step-secret; __Host-gh_webauthn=ceremony-secret",
            ),
        );
        let cookies = AuthCookies::read(&config, &headers);
        assert_eq!(cookies.refresh.as_deref(), Some("refresh-secret"));
        let shown = format!("{cookies:?} {cookies:#?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("refresh: Some(\"[redacted]\")"), "{shown}");
        let none = format!("{:?}", AuthCookies::default());
        assert!(none.contains("access: None"), "{none}");

        let update = store_second_step(&config, "second-step-secret");
        let shown = format!("{update:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
