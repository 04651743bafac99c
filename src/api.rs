//! The Bearer token API for non-browser clients (`/api/v1/*`), `/healthz` and
//! the signing keys' JWKS document.
//! Token responses follow RFC 6749 §5.1 (`Cache-Control: no-store`);
//! revocation follows RFC 7009 §2.2 (unknown tokens answer success too).
//! Each handler parses its input, makes one service call and shapes the answer.

use crate::{
    auth::{passwords::Password, service::SignIn},
    clock::now_ms,
    error::{AppError, ErrorCode},
    http::body::Json,
    request::{AuthedUser, ClientInfo},
    sessions::tokens::IssuedTokens,
    state::AppState,
    vocab::SessionKind,
};
use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/token", post(issue_token))
        .route("/api/v1/token/mfa", post(second_step))
        .route("/api/v1/token/refresh", post(refresh_token))
        .route("/api/v1/token/revoke", post(revoke_token))
        .route("/api/v1/me", get(me))
        .route("/healthz", get(healthz))
}

#[derive(Deserialize)]
struct PasswordGrant {
    email: String,
    password: String,
    /// The device credential from an earlier sign-in, if the client kept it.
    #[serde(default)]
    device_token: Option<String>,
}

/// The second step of a sign-in (Auth0's `mfa_token` shape).
#[derive(Deserialize)]
struct SecondStepGrant {
    mfa_token: String,
    code: String,
    #[serde(default)]
    device_token: Option<String>,
}

/// `403 mfa_required` with the token that the second step completes.
#[derive(Serialize)]
struct SecondStepRequired {
    error: ErrorCode,
    message: &'static str,
    mfa_token: String,
    methods: Vec<&'static str>,
}

#[derive(Deserialize)]
struct RefreshGrant {
    refresh_token: String,
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
    /// A device credential, at sign-in: send it back with the next sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

#[derive(Serialize)]
struct Me {
    id: String,
    email: String,
    email_verified: bool,
    session_id: String,
}

/// A success that must not be cached (nor so compressed; see
/// `http::headers::compression` on BREACH): it carries tokens or account
/// data.
struct NoStore<T>(T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut res = self.0.into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

type Answer<T> = Result<NoStore<T>, AppError>;

fn token_response(issued: IssuedTokens) -> NoStore<axum::Json<TokenResponse>> {
    NoStore(axum::Json(TokenResponse {
        access_token: issued.access.value,
        refresh_token: issued.refresh.expose().to_owned(),
        token_type: "Bearer",
        expires_in: issued.access.expires_at - now_ms() / 1000,
        device_token: issued.device.map(|d| d.expose().to_owned()),
    }))
}

async fn issue_token(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(grant): Json<PasswordGrant>,
) -> Result<Response, AppError> {
    let answer = state
        .auth
        .login(
            &grant.email,
            Password::new(grant.password),
            SessionKind::Api,
            grant.device_token.as_deref(),
            &client,
        )
        .await?;
    Ok(match answer {
        SignIn::Done(_, issued) => token_response(issued).into_response(),
        SignIn::SecondStep { token, methods } => {
            let code = ErrorCode::MfaRequired;
            let body = SecondStepRequired {
                error: code,
                message: code.default_message(),
                mfa_token: token,
                methods,
            };
            NoStore((StatusCode::FORBIDDEN, axum::Json(body))).into_response()
        }
    })
}

async fn second_step(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(grant): Json<SecondStepGrant>,
) -> Answer<axum::Json<TokenResponse>> {
    let (_, issued) = state
        .auth
        .finish_second_step(
            &grant.mfa_token,
            &grant.code,
            SessionKind::Api,
            grant.device_token.as_deref(),
            &client,
        )
        .await?;
    Ok(token_response(issued))
}

async fn refresh_token(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(grant): Json<RefreshGrant>,
) -> Answer<axum::Json<TokenResponse>> {
    let issued = state.auth.refresh(&grant.refresh_token, &client).await?;
    Ok(token_response(issued))
}

async fn revoke_token(
    State(state): State<AppState>,
    Json(grant): Json<RefreshGrant>,
) -> Answer<StatusCode> {
    state
        .auth
        .revoke_refresh_token(&grant.refresh_token)
        .await?;
    Ok(NoStore(StatusCode::NO_CONTENT))
}

async fn me(State(state): State<AppState>, authed: AuthedUser) -> Answer<axum::Json<Me>> {
    let user = state
        .auth
        .user(&authed.user_id)
        .await?
        .ok_or(ErrorCode::Unauthenticated)?;
    Ok(NoStore(axum::Json(Me {
        id: user.id.into_string(),
        email: user.email,
        email_verified: user.email_verified_at.is_some(),
        session_id: authed.session_id.into_string(),
    })))
}

async fn healthz(State(state): State<AppState>) -> Response {
    if state.sessions.healthy().await {
        NoStore(axum::Json(serde_json::json!({"status": "ok"}))).into_response()
    } else {
        AppError::from(ErrorCode::Unavailable).into_response()
    }
}

/// `GET /.well-known/jwks.json`: the public keys of the standby, current
/// and previous keys, cacheable for exactly as long as a new key is
/// published before it signs.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let max_age = state.config.lifetimes.jwks_max_age.as_secs();
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CACHE_CONTROL, format!("public, max-age={max_age}")),
        ],
        state.keys.ring().jwks().to_string(),
    )
        .into_response()
}
