//! Several instances on one database (one SQLite file here, one PostgreSQL
//! database when `GATEHOUSE_TEST_POSTGRES` is set).
#![cfg(feature = "ssr")]

mod common;

use common::{email, Browser, TestApp, CHROME};
use reqwest::StatusCode;
use std::collections::HashSet;

#[tokio::test]
async fn parallel_refreshes_spread_over_two_instances_get_one_successor() {
    let dir = tempfile::tempdir().unwrap();
    let one = TestApp::spawn_in(dir.path(), &[]).await;
    let two = TestApp::spawn_in(dir.path(), &[]).await;
    let b = one.signed_up(&email("two-instances")).await;
    let original = b.refresh_token();
    let calls = (0..20).map(|i| {
        let base = if i % 2 == 0 { &one.base } else { &two.base };
        let tab = Browser::new(base, CHROME);
        tab.set_cookie("__Host-gh_refresh", &original);
        async move {
            let res = tab.post_form("/api/refresh", &[]).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.body);
            tab.refresh_token()
        }
    });
    let successors: HashSet<String> = futures::future::join_all(calls).await.into_iter().collect();
    assert_eq!(
        successors.len(),
        1,
        "one identical successor across instances"
    );
}

#[tokio::test]
async fn a_deleted_accounts_tokens_are_refused_everywhere_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [("GATEHOUSE_REVOCATION_POLL", "1")];
    let one = TestApp::spawn_in(dir.path(), &vars).await;
    let mut two = TestApp::spawn_in(dir.path(), &vars).await;
    let address = email("deleted");
    let laptop = one.signed_up(&address).await;
    let phone = one.signed_in(&address, common::FIREFOX).await;
    let phone_access = phone.access();
    assert_eq!(
        two.browser()
            .get_bearer("/api/v1/me", &phone_access)
            .await
            .status,
        StatusCode::OK
    );
    let res = laptop
        .post_form("/api/delete_account", &[("password", common::PASSWORD)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    common::revoked_within(&two.base, &phone_access, std::time::Duration::from_secs(3)).await;

    // A restarted instance still knows.
    two.stop().await;
    let three = TestApp::spawn_in(dir.path(), &vars).await;
    let res = three
        .browser()
        .get_bearer("/api/v1/me", &phone_access)
        .await;
    assert_eq!(
        (res.status, res.code().as_str()),
        (StatusCode::UNAUTHORIZED, "session_revoked")
    );
}

#[tokio::test]
async fn on_postgresql_a_revocation_is_pushed_to_other_instances_at_once() {
    if !common::on_postgres() {
        return; // SQLite has no push; the poll is tested elsewhere.
    }
    // A poll far too slow to explain the result: only the push can.
    common::revocation_reaches_the_other_instance(
        &[("GATEHOUSE_REVOCATION_POLL", "600")],
        std::time::Duration::from_millis(500),
    )
    .await;
}

/// The server binary running as its own process on `dir`'s database, with
/// its wall clock moved by `skew` (Debian's libfaketime); killed on drop.
struct SkewedInstance {
    child: std::process::Child,
    base: String,
}

impl SkewedInstance {
    async fn start(dir: &std::path::Path, skew: &str, vars: &[(&str, &str)]) -> Option<Self> {
        let lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
        if !std::path::Path::new(lib).exists() {
            eprintln!("libfaketime is not installed (scripts/setup installs it)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .arg("serve")
            .envs(vars.iter().copied())
            .env("GATEHOUSE_SECRET", common::SECRET)
            .env("GATEHOUSE_DATA_DIR", dir)
            .env("DATABASE_URL", common::database_url(dir).await)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .env("FAKETIME", skew)
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env("LD_PRELOAD", lib)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the gatehouse binary starts");
        let base = format!("http://127.0.0.1:{port}");
        let instance = Self { child, base };
        for _ in 0..200 {
            if let Ok(res) = reqwest::get(format!("{}/healthz", instance.base)).await {
                if res.status().is_success() {
                    return Some(instance);
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the skewed instance did not come up");
    }
}

impl Drop for SkewedInstance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn an_instance_with_a_skewed_clock_still_honours_the_grace_window() {
    if !common::on_postgres() {
        return; // SQLite's clock is each process's own; PostgreSQL's is shared.
    }
    let dir = tempfile::tempdir().unwrap();
    let one = TestApp::spawn_in(dir.path(), &[]).await;
    // 15 s ahead: past the 10 s grace window if it judged by its own clock.
    let Some(two) = SkewedInstance::start(dir.path(), "+15s", &[]).await else {
        return;
    };
    let b = one.signed_up(&email("skew")).await;
    let first = b.refresh_token();
    assert_eq!(
        b.post_form("/api/refresh", &[]).await.status,
        StatusCode::OK
    );
    let successor = b.refresh_token();

    // A second tab still holding the first token reaches the skewed instance.
    let tab = Browser::new(&two.base, CHROME);
    tab.set_cookie("__Host-gh_refresh", &first);
    let res = tab.post_form("/api/refresh", &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(tab.refresh_token(), successor, "the same successor");
    // And the skewed instance sees revocations made by the other one.
    let me = b.get("/api/v1/me").await.json();
    let session_id = me["session_id"].as_str().unwrap().to_owned();
    let other = one.signed_in(me["email"].as_str().unwrap(), CHROME).await;
    other
        .post_form("/api/revoke_session", &[("session_id", &session_id)])
        .await;
    let access = tab.access();
    common::revoked_within(&two.base, &access, std::time::Duration::from_secs(3)).await;
}

#[tokio::test]
async fn a_revoked_session_stays_refused_until_its_token_expires_whatever_the_clocks() {
    if !common::on_postgres() {
        eprintln!("skipped: runs against PostgreSQL (scripts/test sets GATEHOUSE_TEST_POSTGRES)");
        return;
    }
    // Short tokens keep the test short; the skew is less than their
    // lifetime, so tokens from either instance verify on the other.
    let vars = [
        ("GATEHOUSE_ACCESS_TTL", "12"),
        ("GATEHOUSE_REVOCATION_POLL", "1"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let one = TestApp::spawn_in(dir.path(), &vars).await;
    let Some(two) = SkewedInstance::start(dir.path(), "+10s", &vars).await else {
        return;
    };
    let address = email("skew-revoked");
    let owner = one.signed_up(&address).await;
    // A device signed in on the instance whose clock runs ahead: its access
    // tokens' `exp` is 10 s later than the database's clock would make it.
    let device = Browser::new(&two.base, common::FIREFOX);
    let res = device
        .post_form(
            "/api/login",
            &[("email", &address), ("password", common::PASSWORD)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let first = device.access();
    // A later token of the same session, with a later `exp`: it is shown to
    // no instance after the revocation until the first has expired there,
    // so only what each instance knew of the session keeps refusing it.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let res = device.post_form("/api/refresh", &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let later = device.access();
    assert_ne!(first, later);
    for base in [&one.base, &two.base] {
        for access in [&first, &later] {
            let me = Browser::new(base, CHROME)
                .get_bearer("/api/v1/me", access)
                .await;
            assert_eq!(me.status, StatusCode::OK, "{base}: {}", me.body);
        }
    }
    let session_id = device.get("/api/v1/me").await.json()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let res = owner
        .post_form("/api/revoke_session", &[("session_id", &session_id)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let revoked = std::time::Instant::now();
    let limit = std::time::Duration::from_secs(3);
    common::revoked_within(&one.base, &first, limit).await;
    common::revoked_within(&two.base, &first, limit).await;
    // The revocation keeps when the session was last given a token, by the
    // clock that gave it.
    let last_issued = one
        .count(
            "SELECT last_issued_at FROM revocations WHERE session_id = $1",
            &session_id,
        )
        .await;
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        last_issued > real_now + 5_000,
        "the skewed instance's clock: {last_issued} vs {real_now}"
    );

    // Each instance refuses each token as revoked until it has expired by
    // its own `exp` on that instance's clock: 12 s plus the leeway on the
    // skewed one, 10 s more on the other.
    let life = std::time::Duration::from_secs(3 + 12 + 10 + 5 + 5);
    let tokens = [first, later];
    tokio::join!(
        refused_until_each_expires("the instance on time", &one.base, &tokens, life),
        refused_until_each_expires("the instance 10 s ahead", &two.base, &tokens, life),
        async {
            // An instance started once the revocation is older, by the
            // database's clock, than a token issued by the database's clock
            // could live (12 s, the leeway and a margin): the later token,
            // issued 10 s ahead, still verifies on its clock.
            let started_at = revoked + std::time::Duration::from_secs(23);
            tokio::time::sleep_until(started_at.into()).await;
            let three = TestApp::spawn_in(dir.path(), &vars).await;
            let res = three.browser().get_bearer("/api/v1/me", &tokens[1]).await;
            assert_eq!(
                (res.status, res.code().as_str()),
                (StatusCode::UNAUTHORIZED, "session_revoked"),
                "an instance started {:?} after the revocation: {}",
                revoked.elapsed(),
                res.body
            );
        },
    );
}

/// Presents each token in turn to the instance at `base` until it answers
/// `token_expired` (failing after `limit` in all); every answer before
/// that must be `session_revoked`.
async fn refused_until_each_expires(
    instance: &str,
    base: &str,
    tokens: &[String],
    limit: std::time::Duration,
) {
    let started = std::time::Instant::now();
    for (n, access) in tokens.iter().enumerate() {
        refused_until_expired(
            &format!("{instance} (token {n})"),
            base,
            access,
            started,
            limit,
        )
        .await;
    }
}

/// Presents `access` to the instance at `base` until it answers
/// `token_expired` (failing `limit` after `started`); every answer before
/// that must be `session_revoked`.
async fn refused_until_expired(
    instance: &str,
    base: &str,
    access: &str,
    started: std::time::Instant,
    limit: std::time::Duration,
) {
    loop {
        let res = Browser::new(base, CHROME)
            .get_bearer("/api/v1/me", access)
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{instance} accepted a revoked session's token again after {:?}: {}",
            started.elapsed(),
            res.body
        );
        match res.code().as_str() {
            "token_expired" => return,
            "session_revoked" => {}
            other => panic!("{instance}: unexpected refusal {other}"),
        }
        assert!(
            started.elapsed() < limit,
            "{instance}: the token never expired within {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_account_change_made_on_one_instance_is_seen_by_the_others_cache() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [("GATEHOUSE_REVOCATION_POLL", "1")];
    let one = TestApp::spawn_in(dir.path(), &vars).await;
    let two = TestApp::spawn_in(dir.path(), &vars).await;
    let address = email("cached");
    one.signed_up(&address).await;
    let on_two = two.signed_in(&address, CHROME).await;
    // Read (and so cached) on the second instance.
    assert_eq!(role(&on_two).await, "user");
    assert_eq!(role(&on_two).await, "user");

    let user = one.state.admin.user_by_email(&address).await.unwrap();
    one.state.admin.grant_admin(&user).await.unwrap();
    common::eventually(
        "the other instance shows the changed account",
        std::time::Duration::from_secs(5),
        || async { role(&on_two).await == "admin" },
    )
    .await;
}

async fn role(b: &Browser) -> serde_json::Value {
    b.post_form("/api/whoami", &[]).await.json()["role"].clone()
}

#[tokio::test]
async fn a_password_changed_on_one_instance_is_the_one_checked_on_the_other_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // A poll far longer than the test: nothing here may depend on it.
    let vars = [("GATEHOUSE_REVOCATION_POLL", "3600")];
    let one = TestApp::spawn_in(dir.path(), &vars).await;
    let two = TestApp::spawn_in(dir.path(), &vars).await;
    let address = email("changed");
    let owner = one.signed_up(&address).await;
    // An intruder who knows the old password holds a session on the other
    // instance, whose account row is cached there.
    let intruder = two.signed_in(&address, CHROME).await;
    assert_eq!(role(&intruder).await, "user");

    let new_password = "a completely different passphrase here";
    let changed = owner
        .post_form(
            "/api/change_password",
            &[
                ("current_password", common::PASSWORD),
                ("new_password", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    // Before the other instance hears of the change, the old password
    // proves nothing there: the account is not deleted.
    let attempt = intruder
        .post_form("/api/delete_account", &[("password", common::PASSWORD)])
        .await;
    assert_ne!(attempt.status, StatusCode::OK, "{}", attempt.body);
    let again = one
        .browser()
        .post_form(
            "/api/login",
            &[("email", &address), ("password", new_password)],
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "the account and its new password stand"
    );
    // And the new password is the current one at once, here too.
    let next = owner
        .post_form(
            "/api/change_password",
            &[
                ("current_password", new_password),
                ("new_password", "yet another long passphrase"),
            ],
        )
        .await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
}
