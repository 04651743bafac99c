//! Sending mail without making anybody wait for it. Letters go into a small
//! queue; a worker delivers each through SMTP (lettre, rustls) or, in
//! development without `GATEHOUSE_SMTP_URL`, writes it as an `.eml` file to
//! the outbox. A failed delivery is retried and logged (never with the
//! message's links) and never shown to whoever triggered it.

use crate::{
    config::{Config, SmtpUrl},
    telemetry::{self, MailEvent},
};
use lettre::{
    message::{
        header::{ContentTransferEncoding, ContentType},
        Body, Mailbox, MultiPart, SinglePart,
    },
    Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, Semaphore};

/// One message to send. Bodies must be ASCII (see [`ascii`]), so they
/// travel as 7-bit text and links stay readable in the raw message.
#[derive(Clone)]
pub struct Letter {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// What the letter is for, for logs (never its content).
    pub kind: &'static str,
}

impl std::fmt::Debug for Letter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Letter({})", self.kind)
    }
}

/// How many letters may wait; beyond it new ones are dropped (and logged)
/// rather than let a flood of requests hold memory.
const QUEUE: usize = 1024;
/// Deliveries in flight at once.
const CONCURRENT: usize = 4;
/// Waits before each retry of a failed delivery.
const RETRIES: [Duration; 3] = [
    Duration::from_secs(2),
    Duration::from_secs(15),
    Duration::from_secs(60),
];

/// Where letters go.
#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

/// A handle to the mail queue.
#[derive(Clone)]
pub struct Mailer {
    queue: mpsc::Sender<(Letter, Waiting)>,
    backlog: Backlog,
}

/// When each letter not yet delivered (queued, being sent, or waiting to be
/// retried) was queued, by a number that grows with time.
#[derive(Clone, Default)]
struct Backlog(Arc<Mutex<(u64, BTreeMap<u64, Instant>)>>);

impl Backlog {
    fn enter(&self) -> Waiting {
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        inner.0 += 1;
        let number = inner.0;
        inner.1.insert(number, Instant::now());
        Waiting {
            backlog: self.clone(),
            number,
        }
    }
}

/// A letter's place in the backlog, given up when it is dropped: delivered,
/// refused, given up on, or never queued.
struct Waiting {
    backlog: Backlog,
    number: u64,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut inner = self.backlog.0.lock().unwrap_or_else(|e| e.into_inner());
        inner.1.remove(&self.number);
    }
}

impl Mailer {
    /// Starts the delivery worker.
    pub fn start(config: &Config) -> Self {
        let transport = match &config.mail.smtp_url {
            Some(SmtpUrl(url)) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .expect("GATEHOUSE_SMTP_URL was checked when the configuration was read")
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => Transport::Outbox(outbox_dir(config)),
        };
        let from: Mailbox = config
            .mail
            .from
            .parse()
            .expect("GATEHOUSE_MAIL_FROM was checked when the configuration was read");
        let (queue, letters) = mpsc::channel(QUEUE);
        tokio::spawn(deliver_all(letters, Arc::new(transport), from));
        Self {
            queue,
            backlog: Backlog::default(),
        }
    }

    /// Queues a letter; returns at once.
    pub fn send(&self, letter: Letter) {
        let kind = letter.kind;
        if self.queue.try_send((letter, self.backlog.enter())).is_err() {
            telemetry::mail(MailEvent::Dropped);
            tracing::error!(kind, "mail queue full; letter dropped");
        } else {
            telemetry::mail(MailEvent::Queued);
        }
    }

    /// How many letters are not yet delivered, and how long the oldest of
    /// them has waited.
    pub fn backlog(&self) -> (usize, Option<Duration>) {
        let inner = self.backlog.0.lock().unwrap_or_else(|e| e.into_inner());
        let oldest = inner.1.values().next().map(Instant::elapsed);
        (inner.1.len(), oldest)
    }
}

/// The development outbox folder.
pub fn outbox_dir(config: &Config) -> PathBuf {
    config.data_dir.join("outbox")
}

async fn deliver_all(
    mut letters: mpsc::Receiver<(Letter, Waiting)>,
    transport: Arc<Transport>,
    from: Mailbox,
) {
    let slots = Arc::new(Semaphore::new(CONCURRENT));
    while let Some((letter, waiting)) = letters.recv().await {
        let (transport, from, slots) = (transport.clone(), from.clone(), slots.clone());
        tokio::spawn(async move {
            let sent = deliver(&transport, &from, letter, &slots).await;
            telemetry::mail(if sent {
                MailEvent::Sent
            } else {
                MailEvent::Failed
            });
            drop(waiting);
        });
    }
}

/// Delivers one letter, retrying transient failures; whether it was
/// delivered. A delivery slot is held only while talking to the server,
/// never while waiting to retry.
async fn deliver(transport: &Transport, from: &Mailbox, letter: Letter, slots: &Semaphore) -> bool {
    let kind = letter.kind;
    let message = match build(from, &letter) {
        Ok(message) => message,
        Err(err) => {
            tracing::error!(kind, error = %err, "could not build a letter");
            return false;
        }
    };
    let mut waits = RETRIES.iter();
    loop {
        let Ok(slot) = slots.acquire().await else {
            return false;
        };
        let result = match transport {
            Transport::Smtp(smtp) => smtp.send(message.clone()).await.map(|_| ()).map_err(|e| {
                // A permanent refusal (5xx: no such mailbox, policy) will
                // not change by asking again.
                let permanent = e.is_permanent();
                (e.to_string(), permanent)
            }),
            Transport::Outbox(dir) => write_outbox(dir, &message)
                .await
                .map_err(|e| (e.to_string(), false)),
        };
        drop(slot);
        match (result, waits.next()) {
            (Ok(()), _) => {
                tracing::info!(kind, "letter sent");
                return true;
            }
            (Err((err, true)), _) => {
                tracing::error!(kind, error = %err, "letter refused by the mail server");
                return false;
            }
            (Err((err, _)), Some(wait)) => {
                telemetry::mail(MailEvent::Retrying);
                tracing::warn!(kind, error = %err, retry_in = wait.as_secs(), "letter not sent; will retry");
                tokio::time::sleep(*wait).await;
            }
            (Err((err, _)), None) => {
                tracing::error!(kind, error = %err, "letter not sent; giving up");
                return false;
            }
        }
    }
}

/// An RFC 5322 message with a plain-text and an HTML part, a `Date` and a
/// `Message-ID` in the sender's domain.
fn build(from: &Mailbox, letter: &Letter) -> Result<Message, String> {
    // A bare address, never a header's worth of text: what is stored is
    // exactly who receives it.
    let to = Mailbox::new(
        None,
        letter
            .to
            .parse::<Address>()
            .map_err(|e| format!("recipient: {e}"))?,
    );
    let id = format!("<{}@{}>", crate::crypto::random_id(18), from.email.domain());
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(letter.subject.clone())
        .date_now()
        .message_id(Some(id))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(seven_bit(&letter.text)),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(seven_bit(&letter.html)),
                ),
        )
        .map_err(|e| e.to_string())
}

/// ASCII text with lines under RFC 5322's 998 characters travels as it is
/// (`7bit`), so a link in the raw message reads exactly as it will be
/// followed; anything else is left to lettre's own choice of encoding.
fn seven_bit(text: &str) -> Body {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    if crlf.is_ascii() && crlf.split("\r\n").all(|line| line.len() < 998) {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text.to_owned())
    }
}

/// Writes the message as `<time>-<random>.eml`, whole or not at all (a
/// reader never sees half a file).
async fn write_outbox(dir: &std::path::Path, message: &Message) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let name = format!(
        "{:016}-{}",
        crate::clock::now_ms(),
        crate::crypto::random_id(6)
    );
    let partial = dir.join(format!(".{name}.part"));
    tokio::fs::write(&partial, message.formatted()).await?;
    tokio::fs::rename(&partial, dir.join(format!("{name}.eml"))).await
}

/// Text from outside (a browser's name, an address) made safe for a
/// letter: printable ASCII only, at most `max` characters.
pub fn ascii(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(max)
        .collect()
}

/// `text` escaped for HTML.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_is_ascii_and_escaped() {
        assert_eq!(ascii("Chrome\u{202E} on\nLinux", 40), "Chrome? on?Linux");
        assert_eq!(ascii("abcdef", 3), "abc");
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn letters_are_seven_bit_multipart_with_id_and_date() {
        let from: Mailbox = "gatehouse <no-reply@example.com>".parse().unwrap();
        let letter = Letter {
            to: "ada@example.com".into(),
            subject: "Reset your password".into(),
            text: "Open http://127.0.0.1:3000/reset-password?token=abc_-123\n".into(),
            html:
                "<p><a href=\"http://127.0.0.1:3000/reset-password?token=abc_-123\">Reset</a></p>"
                    .into(),
            kind: "test",
        };
        let raw = String::from_utf8(build(&from, &letter).unwrap().formatted()).unwrap();
        for needle in [
            "Message-ID: <",
            "@example.com>",
            "Date: ",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "Content-Transfer-Encoding: 7bit",
            "/reset-password?token=abc_-123",
        ] {
            assert!(raw.contains(needle), "{needle} missing in\n{raw}");
        }
    }
}
