//! One round trip to a provider: the authorization request (code flow with
//! PKCE S256, `state` and `nonce` kept on the server under a random id the
//! browser holds in a cookie) and the callback (the round trip taken once,
//! `state` and RFC 9207's `iss` compared, the code exchanged, the ID token
//! checked). Which account the identity opens is not decided here.
//!
//! Sources: OpenID Connect Core 1.0 §3.1.3.7 (ID token validation),
//! RFC 9700 §2.1 (PKCE and one-time `state`; mix-up defence by `iss`,
//! RFC 9207), RFC 8725 §3.1 (the algorithm from the provider's metadata,
//! never `none`).

use super::registry::{Provider, Registry};
use crate::{
    clock::{now_ms, Millis},
    error::{AppError, ErrorCode},
    ids::SessionId,
    store::{identities::NewFlow, Db},
};
use openidconnect::{
    core::{CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm},
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError,
};
use subtle::ConstantTimeEq as _;

/// The flow cookie's id: 256 random bits, base64url.
const FLOW_ID_BYTES: usize = 32;
const FLOW_ID_CHARS: usize = 43;
/// How far a provider's clock may run ahead of ours for `auth_time`.
const CLOCK_SKEW_MS: Millis = 30_000;

/// Why a person goes to the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Sign in (or sign up) with the provider.
    SignIn,
    /// Link the provider to the signed-in account.
    Link,
    /// Prove a recent sign-in, at a provider already linked.
    Reauth,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "sign_in",
            Purpose::Link => "link",
            Purpose::Reauth => "reauth",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        [Purpose::SignIn, Purpose::Link, Purpose::Reauth]
            .into_iter()
            .find(|p| p.as_str() == stored)
    }
}

/// What the start route answers: where to send the browser, and the id
/// for its cookie.
pub struct Authorization {
    pub url: String,
    pub flow_id: String,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authorization(<redacted>)")
    }
}

/// The query of a redirect back from the provider.
#[derive(Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// A person the provider vouched for, checked.
#[derive(Clone, Debug)]
pub struct ProviderLogin {
    /// The configured provider's name.
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// Only `email_verified: true` counts; absent is unverified.
    pub email_verified: bool,
    /// RFC 8176 values the provider reported.
    pub amr: Vec<String>,
    /// When the person last logged in at the provider (`auth_time`).
    pub auth_time: Option<Millis>,
    pub purpose: Purpose,
    pub next: Option<String>,
    /// The session that started a link or re-authentication.
    pub session_id: Option<SessionId>,
}

/// A round trip refused, with the code the person is sent back with; the
/// reason is for the log only.
#[derive(Debug)]
pub struct FlowError {
    pub code: ErrorCode,
    pub reason: String,
}

fn refused(code: ErrorCode, reason: impl Into<String>) -> FlowError {
    FlowError {
        code,
        reason: reason.into(),
    }
}

impl From<AppError> for FlowError {
    fn from(err: AppError) -> Self {
        refused(err.error, err.message)
    }
}

impl From<crate::store::StoreError> for FlowError {
    fn from(err: crate::store::StoreError) -> Self {
        AppError::from(err).into()
    }
}

/// Starts a round trip: stores `state`, `nonce` and the PKCE verifier under
/// a new id and returns the provider's authorization URL. A re-authentication
/// asks the provider for a fresh login (`prompt=login`, `max_age=0`).
pub async fn begin(
    registry: &Registry,
    db: &Db,
    provider: &Provider,
    purpose: Purpose,
    next: Option<&str>,
    session_id: Option<&SessionId>,
) -> Result<Authorization, FlowError> {
    let discovered = provider
        .discovered()
        .ok_or_else(|| refused(ErrorCode::ProviderUnavailable, "discovery not loaded (yet)"))?;
    let client = client(registry, provider, &discovered.metadata)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in provider.config.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    if purpose == Purpose::Reauth {
        request = request
            .add_prompt(CoreAuthPrompt::Login)
            .set_max_age(std::time::Duration::ZERO);
    }
    let (url, state, nonce) = request.url();
    let flow_id = crate::crypto::random_id(FLOW_ID_BYTES);
    let id_hash =
        crate::crypto::token_hash(&flow_id, FLOW_ID_CHARS).expect("a new id is well formed");
    let now = now_ms();
    db.insert_flow(NewFlow {
        id_hash: &id_hash,
        provider: &provider.config.name,
        purpose: purpose.as_str(),
        state: state.secret(),
        nonce: nonce.secret(),
        pkce_verifier: verifier.secret(),
        next,
        session_id,
        now,
        expires_at: now + crate::auth::cookies::OIDC_FLOW_MAX_AGE_SECS * 1000,
    })
    .await?;
    Ok(Authorization {
        url: url.to_string(),
        flow_id,
    })
}

/// Finishes a round trip at `name`'s callback. The stored round trip is
/// taken first, whatever follows: a replayed or foreign callback finds
/// nothing, and a failed one cannot be tried again.
pub async fn finish(
    registry: &Registry,
    db: &Db,
    name: &str,
    flow_id: Option<&str>,
    callback: &Callback,
) -> Result<ProviderLogin, FlowError> {
    let no_flow = || refused(ErrorCode::OidcState, "no round trip in progress here");
    let id_hash = flow_id
        .and_then(|id| crate::crypto::token_hash(id, FLOW_ID_CHARS))
        .ok_or_else(no_flow)?;
    let now = now_ms();
    let flow = db.take_flow(&id_hash, now).await?.ok_or_else(no_flow)?;
    // A round trip started for another provider (a mix-up attempt, or two
    // tabs): its state belongs to that provider's callback.
    if flow.provider != name {
        return Err(refused(
            ErrorCode::OidcState,
            format!("round trip was for `{}`", flow.provider),
        ));
    }
    let state_matches = callback
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(flow.state.as_bytes())));
    if !state_matches {
        return Err(refused(ErrorCode::OidcState, "state does not match"));
    }
    let provider = registry
        .get(name)
        .ok_or_else(|| refused(ErrorCode::OidcFailed, "provider not configured"))?;
    let discovered = provider
        .discovered()
        .ok_or_else(|| refused(ErrorCode::ProviderUnavailable, "discovery not loaded"))?;
    // RFC 9207 §2.4: an `iss` that is not this provider's is a response
    // from another one (mix-up); none at all from a provider that promises
    // one is refused too.
    match callback.iss.as_deref() {
        Some(iss) if iss != provider.config.issuer => {
            return Err(refused(
                ErrorCode::OidcFailed,
                "authorization response from another issuer",
            ))
        }
        None if discovered.iss_parameter_supported => {
            return Err(refused(
                ErrorCode::OidcFailed,
                "authorization response without iss",
            ))
        }
        _ => {}
    }
    if let Some(error) = &callback.error {
        // The provider's words are not repeated to the person or logged
        // whole: they are its input, not ours.
        let error: String = error.chars().take(64).collect();
        return Err(refused(
            ErrorCode::OidcFailed,
            format!("provider answered error `{error}`"),
        ));
    }
    let code = callback
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| refused(ErrorCode::OidcFailed, "no code"))?;
    let oidc = client(registry, provider, &discovered.metadata)?;
    let response = oidc
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| refused(ErrorCode::OidcFailed, e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
        .request_async(registry.http())
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => refused(
                ErrorCode::OidcFailed,
                format!("token endpoint refused: {}", r.error()),
            ),
            RequestTokenError::Request(e) => refused(
                ErrorCode::ProviderUnavailable,
                format!("token endpoint: {e}"),
            ),
            other => refused(ErrorCode::OidcFailed, format!("token endpoint: {other}")),
        })?;
    let id_token = openidconnect::TokenResponse::id_token(&response)
        .ok_or_else(|| refused(ErrorCode::OidcFailed, "no ID token"))?
        .clone();
    let nonce = Nonce::new(flow.nonce.clone());
    let verify = |metadata: &openidconnect::core::CoreProviderMetadata| {
        client(registry, provider, metadata).map(|client| {
            id_token
                .clone()
                .into_claims(&verifier(&client, metadata), &nonce)
        })
    };
    let claims = match verify(&discovered.metadata)? {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) if registry.refresh_keys(provider).await => {
            // The provider rotated its keys since they were fetched.
            let fresh = provider
                .discovered()
                .ok_or_else(|| refused(ErrorCode::ProviderUnavailable, "keys gone"))?;
            verify(&fresh.metadata)?
        }
        other => other,
    }
    .map_err(|e| refused(ErrorCode::OidcFailed, format!("ID token refused: {e}")))?;
    let purpose = Purpose::parse(&flow.purpose)
        .ok_or_else(|| refused(ErrorCode::OidcState, "unknown purpose"))?;
    if purpose == Purpose::Reauth {
        // A re-authentication counts only if the person really signed in
        // at the provider just now (OpenID Connect Core 1.0 §3.1.2.1,
        // `max_age`; the provider must then return `auth_time`).
        let fresh = claims
            .auth_time()
            .is_some_and(|t| t.timestamp_millis() + CLOCK_SKEW_MS >= flow.created_at);
        if !fresh {
            return Err(refused(
                ErrorCode::OidcFailed,
                "the provider did not sign the person in again",
            ));
        }
    }
    Ok(ProviderLogin {
        provider: provider.config.name.clone(),
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified() == Some(true),
        amr: claims
            .auth_method_refs()
            .map(|refs| {
                refs.iter()
                    .map(|r| r.as_str())
                    // RFC 8176 values are short tokens; anything else is
                    // not carried into gatehouse's own tokens.
                    .filter(|r| r.len() <= 16 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
                    .take(8)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        auth_time: claims.auth_time().map(|t| t.timestamp_millis()),
        purpose,
        next: flow.next,
        session_id: flow.session_id,
    })
}

type Client = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn client(
    registry: &Registry,
    provider: &Provider,
    metadata: &openidconnect::core::CoreProviderMetadata,
) -> Result<Client, FlowError> {
    let redirect = RedirectUrl::new(registry.redirect_uri(&provider.config.name))
        .map_err(|e| refused(ErrorCode::OidcFailed, format!("redirect URI: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(provider.config.client_id.clone()),
        Some(ClientSecret::new(
            provider.config.client_secret.expose().to_owned(),
        )),
    )
    .set_redirect_uri(redirect))
}

/// The ID token's checks: issuer, audience, `azp`, expiry, nonce, and a
/// signature by one of the algorithms the provider's metadata names, never
/// `none` (RFC 8725 §3.1).
fn verifier<'a>(
    client: &'a Client,
    metadata: &openidconnect::core::CoreProviderMetadata,
) -> openidconnect::core::CoreIdTokenVerifier<'a> {
    let algs: Vec<CoreJwsSigningAlgorithm> = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|alg| **alg != CoreJwsSigningAlgorithm::None)
        .cloned()
        .collect();
    client.id_token_verifier().set_allowed_algs(algs)
}
