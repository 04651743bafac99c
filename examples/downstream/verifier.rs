//! Verifying gatehouse access tokens from its published key set alone: no
//! shared secret, no database, no call to gatehouse per request.
//!
//! The key set is fetched from `/.well-known/jwks.json`, kept for the
//! `max-age` gatehouse sends (less any `Age`, capped at a day), and fetched
//! again early when a token names a key id the cached set does not have
//! (gatehouse publishes a key before it signs with it, so that only happens
//! after an emergency revocation). Fetches are single-flight and spaced
//! out, also after a failure, so neither a flood of made-up ids nor an
//! unreachable gatehouse turns into a flood of requests; verification never
//! waits on a fetch another request started. A set that could not be
//! renewed is trusted for at most `STALE_LIMIT` past its `max-age`. Each
//! key is used only with its own algorithm (RFC 8725 §3.1), and `iss`,
//! `aud` and `exp` are checked.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::sync::RwLock;
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};
use tokio::sync::Mutex;

/// How long past its `max-age` a key set that could not be renewed is
/// still trusted.
const STALE_LIMIT: Duration = Duration::from_secs(600);
/// The longest a fetched set is kept, whatever its `max-age` says.
const MAX_AGE_CAP: Duration = Duration::from_secs(86_400);

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

#[derive(Clone)]
struct Cached {
    keys: HashMap<String, DecodingKey>,
    /// Until when the set is fresh (`None`: never fetched).
    fresh_until: Option<Instant>,
    /// The last fetch attempt, successful or not.
    tried_at: Option<Instant>,
}

pub struct JwksVerifier {
    jwks_url: String,
    validation: Validation,
    http: reqwest::Client,
    cache: RwLock<Cached>,
    /// Held by the one request that fetches.
    fetching: Mutex<()>,
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
            cache: RwLock::new(Cached {
                keys: HashMap::new(),
                fresh_until: None,
                tried_at: None,
            }),
            fetching: Mutex::new(()),
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

    fn snapshot(&self) -> Cached {
        self.cache.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the set should be fetched now for `kid`.
    fn wants_fetch(&self, cache: &Cached, kid: &str, now: Instant) -> bool {
        let stale = cache.fresh_until.is_none_or(|t| now >= t);
        let unknown = !cache.keys.contains_key(kid);
        let may_try = cache
            .tried_at
            .is_none_or(|at| now.duration_since(at) >= self.min_refetch);
        (stale || unknown) && may_try
    }

    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, Refusal> {
        let now = Instant::now();
        if self.wants_fetch(&self.snapshot(), kid, now) {
            // Single flight: one request fetches, the others use what is
            // there — unless nothing is.
            let guard = match self.fetching.try_lock() {
                Ok(guard) => Some(guard),
                Err(_) if self.snapshot().fresh_until.is_none() => Some(self.fetching.lock().await),
                Err(_) => None,
            };
            if let Some(_guard) = guard {
                if self.wants_fetch(&self.snapshot(), kid, Instant::now()) {
                    let fetched = self.fetch().await;
                    let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
                    let at = Instant::now();
                    cache.tried_at = Some(at);
                    if let Ok((keys, max_age)) = fetched {
                        cache.keys = keys;
                        cache.fresh_until = Some(at + max_age);
                    }
                }
            }
        }
        let cache = self.snapshot();
        match cache.fresh_until {
            None => Err(Refusal::Unavailable),
            // Gatehouse has been unreachable for too long: a key revoked
            // meanwhile must not verify forever.
            Some(t) if Instant::now() > t + STALE_LIMIT => Err(Refusal::Unavailable),
            Some(_) => Ok(cache.keys.get(kid).cloned()),
        }
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
        let header = |name| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let max_age = header(reqwest::header::CACHE_CONTROL)
            .and_then(|v| {
                v.split(',')
                    .find_map(|d| d.trim().strip_prefix("max-age=")?.parse::<u64>().ok())
            })
            .unwrap_or(300);
        let age = header(reqwest::header::AGE)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let max_age = Duration::from_secs(max_age.saturating_sub(age)).min(MAX_AGE_CAP);
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
