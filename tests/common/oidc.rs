//! A real OpenID provider for the tests: `oidc-provider` (npm, OpenID
//! Certified) run by `end2end/oidc/provider.mjs` on a loopback port, with
//! a scripted login form; and a browser that walks the round trip between
//! gatehouse and the provider, redirect by redirect.

use super::{Answer, Browser, TestApp};
use reqwest::{header, redirect, StatusCode};
use std::process::Stdio;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub const CLIENT_SECRET: &str = "test-client-secret-0123456789abcdef";

/// One provider process. Killed when dropped.
pub struct TestProvider {
    pub issuer: String,
    child: Child,
}

impl TestProvider {
    /// Starts a provider on a free port.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Starts a provider on `port` (0: any free one).
    pub async fn start_on(port: u16) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/end2end/oidc/provider.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg("--port")
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the test provider (npm ci in end2end/)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .expect("the provider says where it listens");
        let started: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("issuer line, got {line:?}"));
        Self {
            issuer: started["issuer"].as_str().expect("issuer").to_owned(),
            child,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.issuer.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Registers (or replaces) a client whose redirect URI is gatehouse's
    /// callback for provider `name` at `base`.
    pub async fn register(&self, client_id: &str, base: &str, name: &str) {
        let res = reqwest::Client::new()
            .post(format!("{}/__test/clients", self.issuer))
            .json(&serde_json::json!({
                "client_id": client_id,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [format!("{base}/auth/oidc/{name}/callback")],
            }))
            .send()
            .await
            .expect("control endpoint answers");
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    /// Signs with a new key from now on, and publishes only that one.
    pub async fn rotate_keys(&self) {
        let res = reqwest::Client::new()
            .post(format!("{}/__test/rotate-keys", self.issuer))
            .send()
            .await
            .expect("control endpoint answers");
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    /// Stops it (a provider that goes down).
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }

    /// The variables that configure it in gatehouse as `NAME`.
    pub fn vars(&self, upper: &str, client_id: &str) -> Vec<(String, String)> {
        provider_vars(upper, &self.issuer, client_id)
    }
}

pub fn provider_vars(upper: &str, issuer: &str, client_id: &str) -> Vec<(String, String)> {
    vec![
        (format!("GATEHOUSE_OIDC_{upper}_ISSUER"), issuer.to_owned()),
        (
            format!("GATEHOUSE_OIDC_{upper}_CLIENT_ID"),
            client_id.to_owned(),
        ),
        (
            format!("GATEHOUSE_OIDC_{upper}_CLIENT_SECRET"),
            CLIENT_SECRET.to_owned(),
        ),
        (
            format!("GATEHOUSE_OIDC_{upper}_LABEL"),
            format!("{upper} ID"),
        ),
    ]
}

/// Starts gatehouse with `vars` (the providers' among them) and waits until
/// every provider named in `ready` is loaded.
pub async fn spawn_app(vars: &[(String, String)], ready: &[&str]) -> TestApp {
    let borrowed: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = TestApp::spawn_with(&borrowed).await;
    for name in ready {
        wait_available(&app, name, true).await;
    }
    app
}

/// Waits until the provider's button says it is (or is not) available.
pub async fn wait_available(app: &TestApp, name: &str, available: bool) {
    let browser = app.browser();
    super::eventually(
        "the provider's availability",
        std::time::Duration::from_secs(30),
        || async {
            let list = browser.post_form("/api/oidc/providers", &[]).await.json();
            list.as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == name && p["available"] == available)
        },
    )
    .await;
}

/// Who signs in at the provider's scripted form.
#[derive(Clone, Debug)]
pub struct Person {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub amr: &'static str,
}

impl Person {
    pub fn verified(sub: &str, email: &str) -> Self {
        Self {
            sub: sub.to_owned(),
            email: Some(email.to_owned()),
            email_verified: true,
            amr: "pwd",
        }
    }

    pub fn unverified(sub: &str, email: &str) -> Self {
        Self {
            email_verified: false,
            ..Self::verified(sub, email)
        }
    }
}

/// The person's browser at the provider: its own cookies (the provider's
/// session), redirects walked by hand.
pub struct ProviderSide {
    client: reqwest::Client,
}

impl Default for ProviderSide {
    fn default() -> Self {
        Self::new()
    }
}

impl ProviderSide {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    /// Follows the provider's redirects from `url` (the authorization
    /// request) until it sends the browser back to gatehouse, filling the
    /// login form as `person` (or pressing Cancel for `None`) if it is
    /// shown. The path and query of the callback.
    pub async fn authorize(&self, url: &str, gatehouse: &str, person: Option<&Person>) -> String {
        let mut url = url.to_owned();
        for _ in 0..12 {
            if let Some(back) = url.strip_prefix(gatehouse) {
                return back.to_owned();
            }
            let res = self
                .client
                .get(&url)
                .send()
                .await
                .expect("provider answers");
            if res.status().is_redirection() {
                url = absolute(&url, res.headers()[header::LOCATION].to_str().unwrap());
                continue;
            }
            assert_eq!(res.status(), StatusCode::OK, "at {url}");
            // The interaction page: `/interaction/<uid>`.
            let form = url.split('?').next().unwrap().to_owned();
            let res = match person {
                Some(p) => {
                    let mut fields = vec![("sub", p.sub.clone()), ("amr", p.amr.to_owned())];
                    if let Some(email) = &p.email {
                        fields.push(("email", email.clone()));
                    }
                    if p.email_verified {
                        fields.push(("email_verified", "true".into()));
                    }
                    self.client
                        .post(format!("{form}/login"))
                        .form(&fields)
                        .send()
                        .await
                }
                None => self.client.post(format!("{form}/abort")).send().await,
            }
            .expect("provider answers the form");
            assert!(
                res.status().is_redirection(),
                "form answered {}",
                res.status()
            );
            url = absolute(&url, res.headers()[header::LOCATION].to_str().unwrap());
        }
        panic!("the provider never sent the browser back");
    }
}

fn absolute(base: &str, location: &str) -> String {
    reqwest::Url::parse(base)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

/// Starts a round trip at gatehouse (`start`: the start route's path and
/// query); the provider's authorization URL.
pub async fn start(browser: &Browser, start: &str) -> String {
    let res = browser.get(start).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.header("location").unwrap()
}

/// The whole round trip: start, the provider, and the callback's answer.
pub async fn round_trip(
    browser: &Browser,
    provider: &ProviderSide,
    name: &str,
    person: Option<&Person>,
) -> Answer {
    let authorize = start(browser, &format!("/auth/oidc/{name}/start")).await;
    let back = provider.authorize(&authorize, &browser.base, person).await;
    browser.get(&back).await
}
