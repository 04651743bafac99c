//! Mail through a real SMTP server: Debian's aiosmtpd, started here, storing
//! what it receives in a Maildir that the test reads.
#![cfg(feature = "ssr")]

mod common;

use common::{email, eventually, link_token, TestApp, PASSWORD};
use reqwest::StatusCode;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A running aiosmtpd, stopped on drop.
struct SmtpServer {
    child: Child,
    maildir: PathBuf,
}

impl SmtpServer {
    /// Starts aiosmtpd on `port`, delivering into `<dir>/maildir`.
    async fn start(dir: &Path, port: u16) -> Self {
        let maildir = dir.join("maildir");
        // The system interpreter: a python3 earlier on PATH may not see
        // Debian's python3-aiosmtpd.
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts (scripts/setup installs python3-aiosmtpd)");
        eventually("aiosmtpd listens", Duration::from_secs(20), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        Self { child, maildir }
    }

    /// Every message delivered so far.
    fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|entries| {
                entries
                    .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn letters_go_out_through_smtp_and_wait_for_a_server_that_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let app = TestApp::spawn_with(&[
        ("GATEHOUSE_SMTP_URL", smtp_url.as_str()),
        (
            "GATEHOUSE_MAIL_FROM",
            "Gatehouse Test <auth@gatehouse.test>",
        ),
    ])
    .await;

    // Nobody listens yet: signing up does not wait for mail, and fails for
    // nobody.
    let ada = email("ada");
    let browser = app.browser();
    let started = std::time::Instant::now();
    let res = browser
        .post_form("/api/register", &[("email", &ada), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(started.elapsed() < Duration::from_secs(2));

    // Once the server is up, the retried letter arrives.
    let server = SmtpServer::start(dir.path(), port).await;
    eventually(
        "the verification letter",
        Duration::from_secs(30),
        || async { !server.messages().is_empty() },
    )
    .await;
    let message = server.messages().remove(0);
    for needle in [
        format!("To: {ada}"),
        "From: \"Gatehouse Test\" <auth@gatehouse.test>".to_owned(),
        "Subject: Confirm your email address".to_owned(),
        "Message-ID: <".to_owned(),
        "@gatehouse.test>".to_owned(),
        "Date: ".to_owned(),
        "multipart/alternative".to_owned(),
        "Content-Type: text/html".to_owned(),
    ] {
        assert!(message.contains(&needle), "{needle} missing in\n{message}");
    }
    let token = link_token(&message, &format!("{}/verify-email", app.base));
    let verified = app
        .browser()
        .post_form("/api/verify_email", &[("token", &token)])
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    // With a mail server there is no outbox.
    assert!(app.outbox().is_empty());
    assert_eq!(
        browser.get("/dev/outbox").await.status,
        StatusCode::NOT_FOUND
    );
}
