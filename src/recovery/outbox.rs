//! Reading the development outbox back: the `.eml` files [`super::mail`]
//! wrote, newest first, with their plain-text part and its links.

use super::OutboxMessage;
use std::path::Path;

/// At most this many messages are listed.
const LISTED: usize = 50;

/// The newest messages in `dir` (none if it does not exist yet).
pub async fn read(dir: &Path) -> std::io::Result<Vec<OutboxMessage>> {
    let mut names = Vec::new();
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".eml") {
            names.push(stem.to_owned());
        }
    }
    // Names start with the zero-padded time they were written.
    names.sort_unstable_by(|a, b| b.cmp(a));
    let mut messages = Vec::new();
    for stem in names.into_iter().take(LISTED) {
        let raw = tokio::fs::read(dir.join(format!("{stem}.eml"))).await?;
        messages.push(parse(stem, &String::from_utf8_lossy(&raw)));
    }
    Ok(messages)
}

/// The headers of one part (or the message), unfolded, and its body.
fn split(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

fn parse(id: String, raw: &str) -> OutboxMessage {
    let (headers, body) = split(raw);
    let text = plain_part(&headers, body).unwrap_or_else(|| body.to_owned());
    let text = text.replace("\r\n", "\n").trim().to_owned();
    OutboxMessage {
        id,
        to: header(&headers, "to").to_owned(),
        subject: header(&headers, "subject").to_owned(),
        date: header(&headers, "date").to_owned(),
        links: links_in(&text),
        text,
    }
}

/// The plain-text part of a multipart message.
fn plain_part(headers: &[(String, String)], body: &str) -> Option<String> {
    let content_type = header(headers, "content-type");
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    body.split(delimiter.as_str())
        .map(split)
        .find(|(h, _)| header(h, "content-type").starts_with("text/plain"))
        .map(|(_, b)| b.to_owned())
}

/// Every http(s) address in `text`.
fn links_in(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_multipart_message() {
        let raw = "To: ada@example.com\r\nSubject: Reset your\r\n password\r\nDate: Thu, 26 Nov 2026 01:00:00 +0000\r\n\
            Content-Type: multipart/alternative;\r\n boundary=\"XyZ\"\r\n\r\n\
            --XyZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
            Open http://127.0.0.1:3000/reset-password?token=abc to reset.\r\n\
            --XyZ\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n--XyZ--\r\n";
        let m = parse("1".into(), raw);
        assert_eq!(m.to, "ada@example.com");
        assert_eq!(m.subject, "Reset your password");
        assert_eq!(
            m.text,
            "Open http://127.0.0.1:3000/reset-password?token=abc to reset."
        );
        assert_eq!(m.links, ["http://127.0.0.1:3000/reset-password?token=abc"]);
    }
}
