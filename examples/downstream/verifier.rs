//! Verifying gatehouse access tokens from its published key set alone: no
//! shared secret, no database, no call to gatehouse per request.
//!
//! The key set is fetched from `/.well-known/jwks.json`, kept for the
//! `max-age` gatehouse sends, and fetched again early when a token names a
//! key id the cached set does not have (gatehouse publishes a key before
//! it signs with it, so that only happens after an emergency revocation);
//! refetches on unknown ids are spaced out, so a flood of made-up ids
//! cannot turn into a flood of requests to gatehouse. Each key is used
//! only with its own algorithm (RFC 8725 §3.1), and `iss`, `aud` and `exp`
//! are checked.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};
use tokio::sync::Mutex;

/// The claims a downstream service reads.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessClaims {
    /// The account id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    pub exp: i64,
    /// How the session signed in (RFC 8176).
    #[serde(default)]
    pub amr: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed, wrongly signed, for someone else, or by an unknown key.
    Invalid,
    Expired,
    /// The key set could not be fetched.
    Unavailable,
}

#[derive(Deserialize)]
struct Jwk {
    kid: String,
    kty: String,
    crv: String,
    alg: String,
    x: String,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

struct Cached {
    keys: HashMap<String, DecodingKey>,
    fresh_until: Instant,
    fetched_at: Option<Instant>,
}

pub struct JwksVerifier {
    jwks_url: String,
    validation: Validation,
    http: reqwest::Client,
    cache: Mutex<Cached>,
    /// The least time between two fetches caused by unknown key ids.
    min_refetch: Duration,
    fetches: std::sync::atomic::AtomicUsize,
}

impl JwksVerifier {
    /// Verifies tokens issued by `issuer` (gatehouse's `GATEHOUSE_PUBLIC_URL`,
    /// or `gatehouse` when that is unset) with the keys at `jwks_url`.
    pub fn new(jwks_url: &str, issuer: &str) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&["gatehouse"]);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            jwks_url: jwks_url.to_owned(),
            validation,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("an HTTP client builds"),
            cache: Mutex::new(Cached {
                keys: HashMap::new(),
                fresh_until: Instant::now(),
                fetched_at: None,
            }),
            min_refetch: Duration::from_secs(1),
            fetches: Default::default(),
        }
    }

    /// Sets the least time between two fetches caused by unknown key ids
    /// (default one second).
    #[allow(dead_code)]
    pub fn with_min_refetch(mut self, interval: Duration) -> Self {
        self.min_refetch = interval;
        self
    }

    /// How many times the key set was fetched (the repository's tests read
    /// it).
    #[allow(dead_code)]
    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn verify(&self, token: &str) -> Result<AccessClaims, Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Invalid)?;
        // Only EdDSA, whatever the token says; `jwk`/`jku` are never read.
        if header.alg != Algorithm::EdDSA {
            return Err(Refusal::Invalid);
        }
        let kid = header.kid.ok_or(Refusal::Invalid)?;
        let key = self.key(&kid).await?.ok_or(Refusal::Invalid)?;
        match jsonwebtoken::decode::<AccessClaims>(token, &key, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                Err(Refusal::Expired)
            }
            Err(_) => Err(Refusal::Invalid),
        }
    }

    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, Refusal> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        let stale = now >= cache.fresh_until;
        let unknown = !cache.keys.contains_key(kid);
        let may_refetch = cache
            .fetched_at
            .is_none_or(|at| now.duration_since(at) >= self.min_refetch);
        if stale || (unknown && may_refetch) {
            match self.fetch().await {
                Ok((keys, max_age)) => {
                    cache.keys = keys;
                    cache.fresh_until = now + max_age;
                    cache.fetched_at = Some(now);
                }
                // Keep verifying with the keys we have while gatehouse is away.
                Err(_) if !cache.keys.is_empty() => {}
                Err(_) => return Err(Refusal::Unavailable),
            }
        }
        Ok(cache.keys.get(kid).cloned())
    }

    async fn fetch(&self) -> Result<(HashMap<String, DecodingKey>, Duration), reqwest::Error> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let res = self
            .http
            .get(&self.jwks_url)
            .send()
            .await?
            .error_for_status()?;
        let max_age = res
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .find_map(|d| d.trim().strip_prefix("max-age="))
                    .and_then(|s| s.parse().ok())
            })
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(300));
        let set: JwkSet = res.json().await?;
        let keys = set
            .keys
            .into_iter()
            .filter(|k| k.kty == "OKP" && k.crv == "Ed25519" && k.alg == "EdDSA")
            .filter_map(|k| Some((k.kid, DecodingKey::from_ed_components(&k.x).ok()?)))
            .collect();
        Ok((keys, max_age))
    }
}

/// The downstream service: `GET /whoami` answers who the Bearer token
/// belongs to.
pub fn router(verifier: std::sync::Arc<JwksVerifier>) -> axum::Router {
    use axum::{
        extract::State,
        http::{header, HeaderMap, StatusCode},
        response::IntoResponse,
        routing::get,
        Json,
    };
    async fn whoami(
        State(verifier): State<std::sync::Arc<JwksVerifier>>,
        headers: HeaderMap,
    ) -> axum::response::Response {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        match verifier.verify(token).await {
            Ok(claims) => Json(serde_json::json!({
                "user_id": claims.sub,
                "session_id": claims.sid,
                "amr": claims.amr,
                "expires_at": claims.exp,
            }))
            .into_response(),
            Err(Refusal::Unavailable) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            Err(_) => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
            )
                .into_response(),
        }
    }
    axum::Router::new()
        .route("/whoami", get(whoami))
        .with_state(verifier)
}
