//! The Bearer token API for non-browser clients (`/api/v1/*`) and `/healthz`.
//! Token responses follow RFC 6749 §5.1 (`Cache-Control: no-store`);
//! revocation follows RFC 7009 §2.2 (unknown tokens answer success too).

use crate::{
    auth::{
        middleware::{collect_limited, Auth},
        passwords::Password,
        service::{ClientInfo, IssuedTokens, SessionKind},
    },
    db::now_ms,
    error::{AppError, ErrorCode},
    state::AppState,
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Extension, Json, Router,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/token", post(issue_token))
        .route("/api/v1/token/refresh", post(refresh_token))
        .route("/api/v1/token/revoke", post(revoke_token))
        .route("/api/v1/me", get(me))
        .route("/healthz", get(healthz))
}

#[derive(Deserialize)]
struct PasswordGrant {
    email: String,
    password: String,
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
}

#[derive(Serialize)]
struct Me {
    id: String,
    email: String,
    session_id: String,
}

/// Reads a JSON body: `415` unless it says JSON, `413` over 16 KiB, `400`
/// when it does not parse or lacks a field.
async fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, AppError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(AppError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as application/json.",
        ));
    }
    let bytes = collect_limited(body).await?;
    serde_json::from_slice(&bytes).map_err(|err| {
        AppError::invalid_input(format!(
            "The JSON body is malformed or incomplete ({}).",
            json_problem(&err)
        ))
    })
}

/// Says, without echoing the input, what is wrong with a JSON body.
fn json_problem(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Data => "a field is missing or has the wrong type",
        serde_json::error::Category::Eof => "it ends too early",
        _ => "it is not valid JSON",
    }
}

fn token_response(issued: IssuedTokens) -> Response {
    let body = TokenResponse {
        access_token: issued.access.value,
        refresh_token: issued.refresh.expose().to_owned(),
        token_type: "Bearer",
        expires_in: issued.access.expires_at - now_ms() / 1000,
    };
    no_store((StatusCode::OK, Json(body)).into_response())
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn issue_token(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let result = async {
        let grant: PasswordGrant = json_body(&parts.headers, body).await?;
        let (_, issued) = state
            .login(
                &grant.email,
                Password::new(grant.password),
                SessionKind::Api,
                &client,
            )
            .await?;
        Ok::<_, AppError>(issued)
    }
    .await;
    result.map_or_else(IntoResponse::into_response, token_response)
}

async fn refresh_token(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let result = async {
        let grant: RefreshGrant = json_body(&parts.headers, body).await?;
        state.refresh(&grant.refresh_token, &client).await
    }
    .await;
    result.map_or_else(IntoResponse::into_response, token_response)
}

async fn revoke_token(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let result = async {
        let grant: RefreshGrant = json_body(&parts.headers, body).await?;
        state.revoke_refresh_token(&grant.refresh_token).await
    }
    .await;
    match result {
        Ok(()) => no_store(StatusCode::NO_CONTENT.into_response()),
        Err(err) => err.into_response(),
    }
}

async fn me(State(state): State<AppState>, Extension(auth): Extension<Auth>) -> Response {
    let result = async {
        let authed = auth.require()?;
        let user = state
            .db
            .user_by_id(&authed.user_id)
            .await?
            .ok_or(ErrorCode::Unauthenticated)?;
        Ok::<_, AppError>(Me {
            id: user.id,
            email: user.email,
            session_id: authed.session_id.clone(),
        })
    }
    .await;
    match result {
        Ok(me) => no_store(Json(me).into_response()),
        Err(err) => err.into_response(),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    if state.db.ping().await {
        no_store(Json(serde_json::json!({"status": "ok"})).into_response())
    } else {
        AppError::from(ErrorCode::Unavailable).into_response()
    }
}
