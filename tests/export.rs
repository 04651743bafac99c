//! "Download my data" (`/api/export_data`, the security page's control and
//! `gatehouse export-user`) through the real server and binary, on SQLite
//! and PostgreSQL: what the document holds, that it holds no stored
//! secret, and that it takes a recent sign-in.
#![cfg(feature = "ssr")]

mod common;

use base64::{
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD},
    Engine as _,
};
use common::{email, Browser, TestApp, FIREFOX, PASSWORD, SECRET};
use p256::ecdsa::SigningKey;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::{collections::BTreeSet, path::Path, process::Output};

/// Runs the gatehouse binary with `args` against the database `url`.
async fn gatehouse(url: &str, data_dir: &Path, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .args(args)
        .env("DATABASE_URL", url)
        .env("GATEHOUSE_SECRET", SECRET)
        .env("GATEHOUSE_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn");
    tokio::task::spawn_blocking(move || command.output().expect("the gatehouse binary runs"))
        .await
        .unwrap()
}

/// CBOR (RFC 8949) heads for the few shapes a registration needs.
fn cbor_head(major: u8, n: usize, out: &mut Vec<u8>) {
    match n {
        0..=23 => out.push(major << 5 | n as u8),
        24..=255 => out.extend([major << 5 | 24, n as u8]),
        _ => {
            out.push(major << 5 | 25);
            out.extend((n as u16).to_be_bytes());
        }
    }
}

fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    cbor_head(2, b.len(), out);
    out.extend(b);
}

fn cbor_text(s: &str, out: &mut Vec<u8>) {
    cbor_head(3, s.len(), out);
    out.extend(s.as_bytes());
}

/// Adds a passkey named `name` from `browser`, as a software authenticator
/// (P-256, "none" attestation) answers `navigator.credentials.create`
/// (tests/passkeys.rs has the whole authenticator).
async fn add_passkey(app: &TestApp, browser: &Browser, name: &str) {
    let start = browser.post_form("/api/passkey/register_start", &[]).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    let options = start.json();
    let port = app.base.rsplit(':').next().unwrap();
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let credential_id = rand::random::<[u8; 16]>().to_vec();
    let point = key.verifying_key().to_encoded_point(false);
    let mut cose = Vec::new();
    cbor_head(5, 5, &mut cose);
    cose.extend([0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]);
    cbor_bytes(point.x().unwrap(), &mut cose);
    cose.push(0x22);
    cbor_bytes(point.y().unwrap(), &mut cose);
    let mut auth_data = Sha256::digest(b"localhost").to_vec();
    auth_data.push(0x45);
    auth_data.extend(0u32.to_be_bytes());
    auth_data.extend([0u8; 16]);
    auth_data.extend((credential_id.len() as u16).to_be_bytes());
    auth_data.extend(&credential_id);
    auth_data.extend(cose);
    let mut object = Vec::new();
    cbor_head(5, 3, &mut object);
    cbor_text("fmt", &mut object);
    cbor_text("none", &mut object);
    cbor_text("attStmt", &mut object);
    cbor_head(5, 0, &mut object);
    cbor_text("authData", &mut object);
    cbor_bytes(&auth_data, &mut object);
    let client_data = json!({
        "type": "webauthn.create",
        "challenge": options["publicKey"]["challenge"],
        "origin": format!("http://localhost:{port}"),
        "crossOrigin": false,
    })
    .to_string();
    let id = URL_SAFE_NO_PAD.encode(&credential_id);
    let credential = json!({
        "id": id, "rawId": id, "type": "public-key",
        "response": {
            "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
            "attestationObject": URL_SAFE_NO_PAD.encode(object),
            "transports": ["internal"],
        },
        "clientExtensionResults": {},
    })
    .to_string();
    let done = browser
        .post_form(
            "/api/passkey/register_finish",
            &[("name", name), ("credential", &credential)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
}

/// Turns an authenticator app on; its secret (base32) and recovery codes.
async fn turn_on_totp(browser: &Browser) -> (String, Vec<String>) {
    let enrolled = browser.post_form("/api/totp/enroll", &[]).await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    let secret = enrolled.json()["secret"].as_str().unwrap().to_owned();
    let bytes = totp_rs::Secret::try_from_base32(&secret)
        .unwrap()
        .as_bytes()
        .to_vec();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = gatehouse::mfa::totp::code_at(&bytes, now);
    let confirmed = browser
        .post_form("/api/totp/confirm", &[("code", &code)])
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes = confirmed.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

/// Every text and blob value stored in a row that belongs to the account
/// (`users.id` or a `user_id` column), as `(table.column, bytes)`; found by
/// reading the schema, so a column added later is looked at too.
async fn stored_values(app: &TestApp, user_id: &str) -> Vec<(String, Vec<u8>)> {
    let url = common::database_url(&app.data_dir).await;
    let mut values = Vec::new();
    if common::on_postgres() {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let columns: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text, data_type::text \
             FROM information_schema.columns WHERE table_schema = 'public'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        for (table, column, kind) in &columns {
            let Some(owner) = owner_column(table, columns.iter().map(|(t, c, _)| (t, c))) else {
                continue;
            };
            let cast = match kind.as_str() {
                "bytea" => column.clone(),
                "text" | "character varying" => format!("convert_to({column}, 'UTF8')"),
                _ => continue,
            };
            let rows: Vec<(Option<Vec<u8>>,)> = sqlx::query_as(&format!(
                "SELECT {cast} FROM {table} WHERE {owner}::text = $1"
            ))
            .bind(user_id)
            .fetch_all(&pool)
            .await
            .unwrap();
            values.extend(
                rows.into_iter()
                    .filter_map(|(v,)| v)
                    .map(|v| (format!("{table}.{column}"), v)),
            );
        }
    } else {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let columns: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT m.name, p.name, upper(p.type) FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        for (table, column, kind) in &columns {
            let Some(owner) = owner_column(table, columns.iter().map(|(t, c, _)| (t, c))) else {
                continue;
            };
            if kind != "TEXT" && kind != "BLOB" {
                continue;
            }
            let rows: Vec<(Option<Vec<u8>>,)> = sqlx::query_as(&format!(
                "SELECT CAST({column} AS BLOB) FROM {table} WHERE {owner} = $1"
            ))
            .bind(user_id)
            .fetch_all(&pool)
            .await
            .unwrap();
            values.extend(
                rows.into_iter()
                    .filter_map(|(v,)| v)
                    .map(|v| (format!("{table}.{column}"), v)),
            );
        }
    }
    values
}

/// The column that says which account a row of `table` belongs to.
fn owner_column<'a>(
    table: &str,
    mut columns: impl Iterator<Item = (&'a String, &'a String)>,
) -> Option<&'static str> {
    if table == "users" {
        return Some("id");
    }
    columns
        .any(|(t, c)| t == table && c == "user_id")
        .then_some("user_id")
}

/// Columns the document may show: what the person can already see about
/// their account. Every other text or blob column counts as secret.
const SHOWN: &[&str] = &[
    "users.id",
    "users.email",
    "users.role",
    "sessions.id",
    "sessions.user_id",
    "sessions.kind",
    "sessions.user_agent",
    "sessions.ip",
    "sessions.revoked_reason",
    "sessions.method",
    "security_events.user_id",
    "security_events.kind",
    "security_events.device",
    "security_events.ip",
    "security_events.detail",
    "passkeys.id",
    "passkeys.user_id",
    "passkeys.name",
    "passkeys.added_by_session",
    "totp_factors.user_id",
    "totp_factors.added_by_session",
    "recovery_codes.user_id",
    "link_tokens.purpose",
    "link_tokens.user_id",
    "link_tokens.email",
    "link_tokens.session_id",
    "mfa_challenges.user_id",
    "mfa_challenges.kind",
    "webauthn_ceremonies.kind",
    "webauthn_ceremonies.user_id",
];

/// The ways a stored value could be written into a JSON document.
fn renderings(value: &[u8]) -> Vec<String> {
    let mut out = vec![
        value.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        value.iter().map(|b| format!("{b:02X}")).collect::<String>(),
        STANDARD.encode(value),
        STANDARD_NO_PAD.encode(value),
        URL_SAFE.encode(value),
        URL_SAFE_NO_PAD.encode(value),
        serde_json::to_string(value)
            .unwrap()
            .trim_matches(['[', ']'])
            .to_owned(),
    ];
    if let Ok(text) = std::str::from_utf8(value) {
        out.push(text.to_owned());
        // A stored JSON value (a passkey's credential): each of its strings.
        if let Ok(parsed) = serde_json::from_str::<Value>(text) {
            let mut stack = vec![parsed];
            while let Some(v) = stack.pop() {
                match v {
                    Value::String(s) if s.len() >= 12 => out.push(s),
                    Value::Array(items) => stack.extend(items),
                    Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
                    _ => {}
                }
            }
        }
    }
    out.retain(|r| r.len() >= 8);
    out
}

#[tokio::test]
async fn the_export_holds_the_account_and_no_stored_secret() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let here = app.verified_up(&ada).await;
    let user_id = here.get("/api/v1/me").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A second device, signed out again.
    let other = app.signed_in(&ada, FIREFOX).await;
    other.post_form("/api/logout", &[]).await;
    add_passkey(&app, &here, "Laptop").await;
    let (totp_secret, codes) = turn_on_totp(&here).await;
    // A second step waiting for its code, and a reset link in the mail.
    let waiting = app.browser_with_agent(FIREFOX);
    let step = waiting
        .post_form("/api/login", &[("email", &ada), ("password", PASSWORD)])
        .await;
    assert_eq!(step.json()["mfa_required"], true, "{}", step.body);
    let asked = app
        .browser()
        .post_form("/api/request_password_reset", &[("email", &ada)])
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    app.wait_for_mail(&ada, "Reset your password", 1).await;

    let res = here.post_form("/api/export_data", &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        res.header("content-disposition").as_deref(),
        Some("attachment; filename=\"gatehouse-data.json\"")
    );
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    let doc = res.json();
    let export = res.body.clone();

    // What it holds.
    assert_eq!(doc["format"], "gatehouse-data-export/1");
    assert_eq!(doc["account"]["id"], user_id.as_str());
    assert_eq!(doc["account"]["email"], ada.as_str());
    assert_eq!(doc["account"]["email_verified"], true);
    assert_eq!(doc["account"]["role"], "user");
    assert_eq!(doc["account"]["disabled"], false);
    let sessions = doc["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let ended: Vec<_> = sessions
        .iter()
        .filter(|s| s["ended_at"].is_string())
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["end_reason"], "signed_out");
    assert!(ended[0]["device"].as_str().unwrap().contains("Firefox"));
    for session in sessions {
        let keys: BTreeSet<_> = session.as_object().unwrap().keys().cloned().collect();
        assert!(
            !keys.contains("secret") && !keys.contains("generation"),
            "{keys:?}"
        );
    }
    let kinds: BTreeSet<_> = doc["security_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "registered",
        "email_verified",
        "passkey_added",
        "totp_enabled",
    ] {
        assert!(kinds.contains(kind), "{kind} in {kinds:?}");
    }
    let factors = doc["factors"].as_array().unwrap();
    assert_eq!(factors.len(), 2, "{factors:?}");
    assert_eq!(factors[0]["kind"], "totp");
    assert!(factors[0]["confirmed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(factors[1]["kind"], "recovery_codes");
    assert_eq!(
        (factors[1]["total"].clone(), factors[1]["unused"].clone()),
        (json!(10), json!(10))
    );
    let passkeys = doc["passkeys"].as_array().unwrap();
    assert_eq!(passkeys.len(), 1);
    assert_eq!(passkeys[0]["name"], "Laptop");
    let keys: BTreeSet<_> = passkeys[0].as_object().unwrap().keys().cloned().collect();
    let expected = ["created_at", "id", "last_used_at", "name"].map(String::from);
    assert_eq!(keys, BTreeSet::from(expected));
    assert_eq!(doc["linked_providers"], json!([]));

    // What it must not hold: no stored secret or hash, in any encoding.
    let mut looked_at = BTreeSet::new();
    for (column, value) in stored_values(&app, &user_id).await {
        if SHOWN.contains(&column.as_str()) {
            continue;
        }
        for rendering in renderings(&value) {
            assert!(
                !export.contains(&rendering),
                "{column} appears in the export: {rendering}"
            );
        }
        looked_at.insert(column);
    }
    for secret in [
        "users.password_hash",
        "sessions.secret",
        "totp_factors.secret_sealed",
        "recovery_codes.code_hash",
        "link_tokens.token_hash",
        "mfa_challenges.token_hash",
        "passkeys.credential_id",
        "passkeys.credential",
        "webauthn_ceremonies.state",
    ] {
        assert!(
            looked_at.contains(secret),
            "{secret} was not looked at: {looked_at:?}"
        );
    }
    // Nor what was only ever shown once or kept by the browser.
    let mut shown_once = vec![totp_secret];
    shown_once.extend(codes);
    for cookie in ["__Host-gh_access", "__Host-gh_refresh", "__Host-gh_device"] {
        shown_once.push(here.cookie(cookie).expect(cookie));
    }
    for secret in shown_once {
        assert!(!export.contains(&secret), "{secret} appears in the export");
    }
}

#[tokio::test]
async fn the_export_takes_a_recent_sign_in_with_or_without_javascript() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let browser = app.signed_up(&ada).await;
    let page = browser.get("/security").await;
    assert!(
        page.body.contains("action=\"/api/export_data\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("Download my data"));

    app.an_hour_later().await;
    let refused = browser.post_form("/api/export_data", &[]).await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (StatusCode::UNAUTHORIZED, "reauth_required")
    );
    assert!(refused.header("content-disposition").is_none());

    // Without JavaScript: back to the page, which asks who it is.
    let back = browser
        .post_html_form("/api/export_data", &[], "/security")
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(
        back.header("location").as_deref(),
        Some("/security?error=reauth_required")
    );
    let page = browser.get("/security?error=reauth_required").await;
    assert!(
        page.body.contains("id=\"reauth_password_export\""),
        "{}",
        page.body
    );

    let proved = browser
        .post_form("/api/reauthenticate", &[("password", PASSWORD)])
        .await;
    assert_eq!(proved.status, StatusCode::OK, "{}", proved.body);
    // The same form post now answers the file itself, not a redirect.
    let file = browser
        .post_html_form("/api/export_data", &[], "/security")
        .await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.body);
    assert_eq!(
        file.header("content-disposition").as_deref(),
        Some("attachment; filename=\"gatehouse-data.json\"")
    );
    assert_eq!(file.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(file.json()["account"]["email"], ada.as_str());

    // Signed out, there is nothing to export.
    let stranger = app.browser();
    let res = stranger.post_form("/api/export_data", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_administrator_exports_an_account_from_the_command_line() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let browser = app.signed_up(&ada).await;
    let url = common::database_url(&app.data_dir).await;
    let out = gatehouse(&url, &app.data_dir, &["export-user", &ada.to_uppercase()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut printed: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let mut answered = browser.post_form("/api/export_data", &[]).await.json();
    // The same document the person downloads (bar the moment it was made).
    printed["exported_at"] = Value::Null;
    answered["exported_at"] = Value::Null;
    assert_eq!(printed, answered);

    let out = gatehouse(&url, &app.data_dir, &["export-user", "nobody@example.com"]).await;
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("no account with email nobody@example.com"),
        "{said}"
    );
    assert!(out.stdout.is_empty());
}
