//! Passkeys through the real server, answered by a small software
//! authenticator written here (P-256, "none" attestation, as a platform
//! authenticator answers): registration, sign-in, and the answers an
//! attacker would try instead.
#![cfg(feature = "ssr")]

mod common;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use common::{email, Browser, TestApp, FIREFOX};
use p256::ecdsa::{signature::Signer, Signature, SigningKey};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// CBOR (RFC 8949) for the few shapes WebAuthn needs.
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
fn cbor_text(s: &str, out: &mut Vec<u8>) {
    cbor_head(3, s.len(), out);
    out.extend(s.as_bytes());
}
fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    cbor_head(2, b.len(), out);
    out.extend(b);
}

/// One passkey on a software authenticator.
struct Authenticator {
    key: SigningKey,
    credential_id: Vec<u8>,
    user_handle: Option<String>,
    counter: u32,
    origin: String,
    rp_id: String,
}

impl Authenticator {
    fn new(app: &TestApp) -> Self {
        let port = app.base.rsplit(':').next().unwrap();
        Self {
            key: SigningKey::random(&mut rand::rngs::OsRng),
            credential_id: rand::random::<[u8; 16]>().to_vec(),
            user_handle: None,
            counter: 0,
            origin: format!("http://localhost:{port}"),
            rp_id: "localhost".into(),
        }
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": options["publicKey"]["challenge"],
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn auth_data(&self, flags: u8, attested: Option<Vec<u8>>) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend(self.counter.to_be_bytes());
        if let Some(attested) = attested {
            data.extend(attested);
        }
        data
    }

    /// `navigator.credentials.create`, answered.
    fn create(&mut self, options: &Value) -> String {
        let user_id = options["publicKey"]["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.user_handle = Some(user_id);
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut cose = Vec::new();
        cbor_head(5, 5, &mut cose);
        cose.extend([0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]);
        cbor_bytes(point.x().unwrap(), &mut cose);
        cose.push(0x22);
        cbor_bytes(point.y().unwrap(), &mut cose);
        let mut attested = vec![0u8; 16];
        attested.extend((self.credential_id.len() as u16).to_be_bytes());
        attested.extend(&self.credential_id);
        attested.extend(cose);
        // User present, user verified, attested credential data.
        let auth_data = self.auth_data(0x45, Some(attested));
        let mut object = Vec::new();
        cbor_head(5, 3, &mut object);
        cbor_text("fmt", &mut object);
        cbor_text("none", &mut object);
        cbor_text("attStmt", &mut object);
        cbor_head(5, 0, &mut object);
        cbor_text("authData", &mut object);
        cbor_bytes(&auth_data, &mut object);
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(self.client_data("webauthn.create", options)),
                "attestationObject": B64.encode(object),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// `navigator.credentials.get`, answered with `flags` (0x05: user
    /// present and verified).
    fn get_with(&mut self, options: &Value, flags: u8) -> String {
        self.counter += 1;
        let auth_data = self.auth_data(flags, None);
        let client_data = self.client_data("webauthn.get", options);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(auth_data),
                "clientDataJSON": B64.encode(client_data),
                "signature": B64.encode(signature.to_der().as_bytes()),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    fn get(&mut self, options: &Value) -> String {
        self.get_with(options, 0x05)
    }
}

/// Makes a forged or altered answer to a sign-in challenge.
type Forge = Box<dyn Fn(&mut Authenticator, &Value) -> String>;

/// Adds a passkey named `name` from `browser`; the answer.
async fn add_passkey(
    browser: &Browser,
    authenticator: &mut Authenticator,
    name: &str,
) -> common::Answer {
    let start = browser.post_form("/api/passkey/register_start", &[]).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    let options = start.json();
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    let credential = authenticator.create(&options);
    browser
        .post_form(
            "/api/passkey/register_finish",
            &[("name", name), ("credential", &credential)],
        )
        .await
}

/// A passkey sign-in from a new browser; the browser and the answer.
async fn sign_in(app: &TestApp, authenticator: &mut Authenticator) -> (Browser, common::Answer) {
    let browser = app.browser_with_agent(FIREFOX);
    let start = browser.post_form("/api/passkey/login_start", &[]).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    let credential = authenticator.get(&start.json());
    let done = browser
        .post_form("/api/passkey/login_finish", &[("credential", &credential)])
        .await;
    (browser, done)
}

#[tokio::test]
async fn a_passkey_is_added_then_signs_in_alone() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let owner = app.verified_up(&ada).await;
    let mut authenticator = Authenticator::new(&app);
    let added = add_passkey(&owner, &mut authenticator, "  Laptop ").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.json()["name"], "Laptop");
    let list = owner.post_form("/api/passkey/list", &[]).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["last_used_at"], Value::Null);
    assert!(list[0]["created_at"].as_str().unwrap().ends_with('Z'));
    let id = list[0]["id"].as_str().unwrap().to_owned();

    let (browser, done) = sign_in(&app, &mut authenticator).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["email"], ada.as_str());
    assert!(
        browser.cookie("__Host-gh_webauthn").is_none(),
        "the ceremony cookie is cleared"
    );
    let me = browser.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    let sessions = browser.post_form("/api/list_sessions", &[]).await.json();
    assert_eq!(sessions[0]["method"], "passkey");
    let list = owner.post_form("/api/passkey/list", &[]).await.json();
    assert!(list[0]["last_used_at"].is_string());
    let events = owner.post_form("/api/security_events", &[]).await.json();
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "passkey_added"));
    let mail = app
        .wait_for_mail(&ada, "A passkey was added to your account", 1)
        .await;
    assert!(mail.contains("\"Laptop\""), "{mail}");

    let renamed = owner
        .post_form(
            "/api/passkey/rename",
            &[("id", &id), ("name", "Work laptop")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let blank = owner
        .post_form("/api/passkey/rename", &[("id", &id), ("name", "  ")])
        .await;
    assert_eq!(blank.code(), "invalid_input");
    let list = owner.post_form("/api/passkey/list", &[]).await.json();
    assert_eq!(list[0]["name"], "Work laptop");
    // Another account cannot rename or remove it.
    let mallory = app.verified_up(&email("mallory")).await;
    for path in ["/api/passkey/rename", "/api/passkey/remove"] {
        let res = mallory
            .post_form(path, &[("id", &id), ("name", "mine")])
            .await;
        assert_eq!(res.code(), "not_found", "{path}");
    }
    let removed = owner.post_form("/api/passkey/remove", &[("id", &id)]).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    let (_, refused) = sign_in(&app, &mut authenticator).await;
    assert_eq!(
        refused.code(),
        "invalid_credentials",
        "a removed passkey signs nobody in"
    );
}

#[tokio::test]
async fn answers_are_used_once_and_must_match_their_challenge() {
    let app = TestApp::spawn().await;
    let owner = app.verified_up(&email("ada")).await;
    let mut authenticator = Authenticator::new(&app);
    assert_eq!(
        add_passkey(&owner, &mut authenticator, "Key").await.status,
        StatusCode::OK
    );

    let browser = app.browser();
    let options = browser
        .post_form("/api/passkey/login_start", &[])
        .await
        .json();
    let ceremony = browser
        .cookie("__Host-gh_webauthn")
        .expect("ceremony cookie");
    let answer = authenticator.get(&options);
    let first = browser
        .post_form("/api/passkey/login_finish", &[("credential", &answer)])
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    // The same answer again, with the same ceremony: it was used.
    let replay = app.browser();
    replay.set_cookie("__Host-gh_webauthn", &ceremony);
    let again = replay
        .post_form("/api/passkey/login_finish", &[("credential", &answer)])
        .await;
    assert_eq!(again.code(), "invalid_token");
    // The old answer to a new challenge.
    let fresh = app.browser();
    fresh.post_form("/api/passkey/login_start", &[]).await;
    let stale = fresh
        .post_form("/api/passkey/login_finish", &[("credential", &answer)])
        .await;
    assert_eq!(stale.code(), "invalid_credentials");

    // Without user verification; from another origin; with a counter that
    // went back; naming another account; garbage.
    let mut tries: Vec<(&str, Forge)> = vec![
        ("no user verification", Box::new(|a, o| a.get_with(o, 0x01))),
        (
            "another origin",
            Box::new(|a, o| {
                let real = std::mem::replace(&mut a.origin, "http://localhost.evil.example".into());
                let answer = a.get(o);
                a.origin = real;
                answer
            }),
        ),
        (
            "a counter that went back",
            Box::new(|a, o| {
                a.counter = 0;
                a.get_with(o, 0x05)
            }),
        ),
        (
            "another account's handle",
            Box::new(|a, o| {
                let real = a.user_handle.replace(B64.encode([7u8; 16]));
                let answer = a.get(o);
                a.user_handle = real;
                answer
            }),
        ),
        ("garbage", Box::new(|_, _| "{\"id\": 1}".to_owned())),
    ];
    for (what, make) in tries.iter_mut() {
        let browser = app.browser();
        let options = browser
            .post_form("/api/passkey/login_start", &[])
            .await
            .json();
        let answer = make(&mut authenticator, &options);
        let res = browser
            .post_form("/api/passkey/login_finish", &[("credential", &answer)])
            .await;
        assert!(
            res.code() == "invalid_credentials" || res.code() == "invalid_input",
            "{what}: {} {}",
            res.status,
            res.body
        );
        assert!(browser.cookie("__Host-gh_access").is_none(), "{what}");
    }
    // A registration ceremony does not finish a sign-in.
    owner.post_form("/api/passkey/register_start", &[]).await;
    let browser = app.browser();
    browser.set_cookie(
        "__Host-gh_webauthn",
        &owner.cookie("__Host-gh_webauthn").unwrap(),
    );
    let crossed = browser
        .post_form("/api/passkey/login_finish", &[("credential", &answer)])
        .await;
    assert_eq!(crossed.code(), "invalid_token");
}

#[tokio::test]
async fn adding_and_removing_need_a_recent_sign_in_and_a_credential_has_one_owner() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let owner = app.verified_up(&ada).await;
    let mut authenticator = Authenticator::new(&app);
    let start = owner.post_form("/api/passkey/register_start", &[]).await;
    assert_eq!(start.status, StatusCode::OK);
    let credential = authenticator.create(&start.json());
    app.an_hour_later().await;
    let late = owner
        .post_form(
            "/api/passkey/register_finish",
            &[("name", "Key"), ("credential", &credential)],
        )
        .await;
    assert_eq!(late.code(), "reauth_required");
    let refused = owner.post_form("/api/passkey/register_start", &[]).await;
    assert_eq!(refused.code(), "reauth_required");
    let proved = owner
        .post_form("/api/reauthenticate", &[("password", common::PASSWORD)])
        .await;
    assert_eq!(proved.status, StatusCode::OK);
    let added = add_passkey(&owner, &mut authenticator, "Key").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let id = added.json()["id"].as_str().unwrap().to_owned();
    let nameless = add_passkey(&owner, &mut Authenticator::new(&app), "").await;
    assert_eq!(nameless.code(), "invalid_input");

    // The same credential offered by another account is refused.
    let mallory = app.verified_up(&email("mallory")).await;
    let handle = authenticator.user_handle.clone();
    let copy = add_passkey(&mallory, &mut authenticator, "Stolen").await;
    assert_eq!(copy.code(), "invalid_input", "{}", copy.body);
    authenticator.user_handle = handle;

    app.an_hour_later().await;
    let remove = owner.post_form("/api/passkey/remove", &[("id", &id)]).await;
    assert_eq!(remove.code(), "reauth_required");
    let list = owner.post_form("/api/passkey/list", &[]).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing was removed");

    // A disabled account's passkey signs nobody in.
    let user = app.state.admin.user_by_email(&ada).await.unwrap();
    app.state
        .account
        .set_disabled(
            gatehouse::admin::service::Actor::Cli,
            None,
            &user.id,
            true,
            &gatehouse::request::ClientInfo::default(),
        )
        .await
        .unwrap();
    let (_, refused) = sign_in(&app, &mut authenticator).await;
    assert_eq!(refused.code(), "account_disabled");
}

#[tokio::test]
async fn adding_a_passkey_that_fails_at_its_last_write_adds_nothing() {
    let app = TestApp::spawn().await;
    let ada = email("ada");
    let owner = app.verified_up(&ada).await;
    let mut authenticator = Authenticator::new(&app);
    common::break_writes(&app, "security_events", "INSERT").await;
    let failed = add_passkey(&owner, &mut authenticator, "Laptop").await;
    assert!(failed.status.is_server_error(), "{}", failed.body);
    common::heal(&app, "security_events").await;
    let list = owner.post_form("/api/passkey/list", &[]).await.json();
    assert_eq!(list, serde_json::json!([]), "no passkey was kept");
    let (_, refused) = sign_in(&app, &mut authenticator).await;
    assert_ne!(refused.status, StatusCode::OK, "{}", refused.body);
    // The same authenticator can then be added for real.
    let added = add_passkey(&owner, &mut authenticator, "Laptop").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
}
