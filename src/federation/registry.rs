//! The configured providers, each with its discovery document and signing
//! keys. Both are fetched at start-up and kept as long as the provider's
//! `Cache-Control` allows, and the keys again when an ID token names a key
//! they lack (a rotation), at most once a minute. A provider that cannot be
//! reached is reported and retried in the background; it never stops the
//! server, and its button says it is unavailable meanwhile.

use super::ProviderButton;
use crate::config::{Config, OidcProviderConfig};
use openidconnect::{
    core::{CoreJsonWebKeySet, CoreProviderMetadata},
    reqwest,
};
use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

/// How long a discovery document or key set is kept when the provider
/// does not say, and the bounds on what it says.
const DEFAULT_FRESH: Duration = Duration::from_secs(3600);
const MIN_FRESH: Duration = Duration::from_secs(60);
const MAX_FRESH: Duration = Duration::from_secs(24 * 3600);
/// Keys are fetched again for an unknown `kid` at most this often, so a
/// stream of forged tokens cannot make gatehouse hammer the provider (the
/// first such fetch after a load is never held back: a rotation right
/// after start-up must not refuse sign-ins for a minute).
const KEY_REFRESH_EVERY: Duration = Duration::from_secs(60);
/// Retries of an unreachable provider: from a second, doubling, to a minute.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// The largest discovery document or key set read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// A provider's discovery document, with its keys.
pub struct Discovered {
    pub metadata: CoreProviderMetadata,
    /// RFC 9207 §3: the provider says it sends `iss` with every
    /// authorization response, so a response without it is refused.
    pub iss_parameter_supported: bool,
    /// When this document should be fetched again.
    pub fresh_until: Instant,
    /// When an unknown `kid` last made gatehouse fetch the keys again.
    keys_forced_at: Option<Instant>,
}

/// One configured provider.
pub struct Provider {
    pub config: OidcProviderConfig,
    discovered: RwLock<Option<Arc<Discovered>>>,
    /// One key refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
}

impl Provider {
    /// The discovery document and keys, if they have been loaded.
    pub fn discovered(&self) -> Option<Arc<Discovered>> {
        self.discovered
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set(&self, discovered: Discovered) {
        *self.discovered.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(discovered));
    }
}

/// Every configured provider, and the HTTP client that talks to them.
pub struct Registry {
    providers: Vec<Arc<Provider>>,
    http: reqwest::Client,
    /// `<public origin>/auth/oidc/`: a provider's redirect URI is this,
    /// its name and `/callback`.
    callback_base: String,
}

impl Registry {
    pub fn new(config: &Config) -> Self {
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer point
            // gatehouse at any address (openidconnect's own advice, SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .expect("the HTTP client builds");
        Self {
            providers: config
                .oidc
                .iter()
                .map(|p| {
                    Arc::new(Provider {
                        config: p.clone(),
                        discovered: RwLock::new(None),
                        refreshing: tokio::sync::Mutex::new(()),
                    })
                })
                .collect(),
            http,
            callback_base: format!("{}/auth/oidc/", config.link_origin.trim_end_matches('/')),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Provider>> {
        self.providers.iter().find(|p| p.config.name == name)
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// The redirect URI registered at the provider.
    pub fn redirect_uri(&self, name: &str) -> String {
        format!("{}{name}/callback", self.callback_base)
    }

    /// Every provider, for the sign-in page's buttons.
    pub fn buttons(&self) -> Vec<ProviderButton> {
        self.providers
            .iter()
            .map(|p| ProviderButton {
                name: p.config.name.clone(),
                label: p.config.label.clone(),
                available: p.discovered().is_some(),
            })
            .collect()
    }

    /// Loads every provider in the background, and keeps each fresh.
    pub fn start(self: &Arc<Self>) {
        for provider in &self.providers {
            let (registry, provider) = (self.clone(), provider.clone());
            tokio::spawn(async move { registry.keep_fresh(&provider).await });
        }
    }

    async fn keep_fresh(&self, provider: &Provider) {
        let mut retry = RETRY_FIRST;
        loop {
            match discover(&self.http, &provider.config).await {
                Ok(discovered) => {
                    let wait = discovered
                        .fresh_until
                        .saturating_duration_since(Instant::now());
                    if provider.discovered().is_none() {
                        tracing::info!(provider = %provider.config.name, "OpenID provider loaded");
                    }
                    provider.set(discovered);
                    retry = RETRY_FIRST;
                    tokio::time::sleep(wait).await;
                }
                Err(why) => {
                    // A document already loaded stays in use until it can
                    // be replaced.
                    tracing::warn!(provider = %provider.config.name, error = %why, retry_in_secs = retry.as_secs(), "OpenID provider unreachable");
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// Fetches the provider's keys again after an ID token named a key
    /// they lack; `true` if they were fetched (at most once a minute).
    pub async fn refresh_keys(&self, provider: &Provider) -> bool {
        let _one = provider.refreshing.lock().await;
        let Some(current) = provider.discovered() else {
            return false;
        };
        if current
            .keys_forced_at
            .is_some_and(|at| at.elapsed() < KEY_REFRESH_EVERY)
        {
            return false;
        }
        match fetch_keys(&self.http, &current.metadata).await {
            Ok((keys, _)) => {
                tracing::info!(provider = %provider.config.name, "OpenID provider keys fetched again");
                provider.set(Discovered {
                    metadata: current.metadata.clone().set_jwks(keys),
                    iss_parameter_supported: current.iss_parameter_supported,
                    fresh_until: current.fresh_until,
                    keys_forced_at: Some(Instant::now()),
                });
                true
            }
            Err(why) => {
                tracing::warn!(provider = %provider.config.name, error = %why, "could not fetch OpenID provider keys");
                false
            }
        }
    }
}

/// Fetches the discovery document and the keys it points to. The document
/// must name exactly the configured issuer (OpenID Connect Discovery 1.0
/// §4.3), or a provider could speak for another.
async fn discover(
    http: &reqwest::Client,
    config: &OidcProviderConfig,
) -> Result<Discovered, String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        config.issuer.trim_end_matches('/')
    );
    let (body, fresh) = fetch(http, &url).await?;
    let metadata: CoreProviderMetadata =
        serde_json::from_slice(&body).map_err(|e| format!("discovery document: {e}"))?;
    if metadata.issuer().as_str() != config.issuer {
        return Err(format!(
            "the discovery document names issuer `{}`, not the configured `{}`",
            metadata.issuer().as_str(),
            config.issuer
        ));
    }
    let iss_parameter_supported = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("authorization_response_iss_parameter_supported")?
                .as_bool()
        })
        .unwrap_or(false);
    let (keys, keys_fresh) = fetch_keys(http, &metadata).await?;
    Ok(Discovered {
        metadata: metadata.set_jwks(keys),
        iss_parameter_supported,
        fresh_until: Instant::now() + fresh.min(keys_fresh),
        keys_forced_at: None,
    })
}

async fn fetch_keys(
    http: &reqwest::Client,
    metadata: &CoreProviderMetadata,
) -> Result<(CoreJsonWebKeySet, Duration), String> {
    let (body, fresh) = fetch(http, metadata.jwks_uri().as_str()).await?;
    let keys = serde_json::from_slice(&body).map_err(|e| format!("key set: {e}"))?;
    Ok((keys, fresh))
}

/// GETs a JSON document; its body and how long it may be kept.
async fn fetch(http: &reqwest::Client, url: &str) -> Result<(Vec<u8>, Duration), String> {
    let res = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("{url}: answered {}", res.status()));
    }
    let fresh = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .and_then(max_age)
        .unwrap_or(DEFAULT_FRESH)
        .clamp(MIN_FRESH, MAX_FRESH);
    if res.content_length().unwrap_or(0) > MAX_DOCUMENT_BYTES as u64 {
        return Err(format!("{url}: document too large"));
    }
    let body = res.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(format!("{url}: document too large"));
    }
    Ok((body.to_vec(), fresh))
}

/// `max-age` of a `Cache-Control` value (`no-store`/`no-cache` count as 0).
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        lower
            .strip_prefix("max-age=")
            .and_then(|secs| secs.trim_matches('"').parse().ok())
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::max_age;
    use std::time::Duration;

    #[test]
    fn reads_max_age() {
        assert_eq!(
            max_age("public, max-age=3600, must-revalidate"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
    }
}
