//! Access tokens (JWT, signed and verified by the shared key ring in
//! `crate::keys`) and refresh tokens (opaque, server-tracked).
//!
//! Refresh tokens follow RFC 9700 §4.14.2 (refresh token rotation with reuse
//! detection). The database keeps no token: a token is
//! `base64url(session id ‖ generation ‖ HMAC-SHA256(key, session id ‖ generation ‖ session secret))`
//! under a key derived from the master secret, so the current token (and
//! its predecessor) can be re-derived but never read from storage.

use crate::{
    clock::Millis,
    config::MasterSecret,
    crypto::{derive_key, hex, random_id},
    ids::{SessionId, UserId},
    keys::{
        claims::{AccessError, Claims, AUDIENCE},
        KeyError, Keyring,
    },
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;
use std::{fmt, sync::Arc, time::Duration};
use zeroize::Zeroizing;

const SESSION_ID_BYTES: usize = 16;
const MAC_BYTES: usize = 32;
const TOKEN_BYTES: usize = SESSION_ID_BYTES + 8 + MAC_BYTES;

/// A signed access token. Its `Debug` never shows it.
#[derive(Clone)]
pub struct AccessToken {
    pub value: String,
    pub expires_at: i64,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken(<redacted>, expires_at={})", self.expires_at)
    }
}

/// A refresh token as handed to a client. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// A fresh pair of tokens for one session.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub access: AccessToken,
    pub refresh: RefreshToken,
    /// When the refresh token stops working if unused (unix ms).
    pub refresh_expires_at: Millis,
    /// A device credential, issued at sign-in (not at refresh).
    pub device: Option<super::device_credential::DeviceToken>,
}

/// A refresh token taken apart, its MAC not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRefreshToken {
    pub session_id: SessionId,
    pub generation: i64,
    mac: [u8; MAC_BYTES],
}

/// The keys tokens are made and checked with: the shared signing-key ring
/// for access tokens, and keys derived once at start-up for the rest.
#[derive(Clone)]
pub struct TokenKeys {
    ring: Arc<Keyring>,
    refresh_key: Zeroizing<[u8; 32]>,
    log_key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenKeys({:?})", self.ring)
    }
}

impl TokenKeys {
    pub fn new(secret: &MasterSecret, ring: Arc<Keyring>) -> Self {
        Self {
            ring,
            refresh_key: derive_key(secret.bytes(), "gatehouse refresh token v1"),
            log_key: derive_key(secret.bytes(), "gatehouse log reference v1"),
        }
    }

    pub fn ring(&self) -> &Arc<Keyring> {
        &self.ring
    }

    /// Signs an access token for `user_id` in session `session_id`.
    pub fn issue_access(
        &self,
        user_id: &UserId,
        session_id: &SessionId,
        now_secs: i64,
        ttl: Duration,
        amr: Vec<String>,
    ) -> Result<AccessToken, KeyError> {
        let exp = now_secs + ttl.as_secs() as i64;
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            iat: now_secs,
            exp,
            jti: random_id(16),
            iss: self.ring.issuer().to_owned(),
            aud: AUDIENCE.to_owned(),
            amr,
        };
        Ok(AccessToken {
            value: self.ring.sign(&claims)?,
            expires_at: exp,
        })
    }

    /// Verifies an access token's signature and claims.
    pub fn verify_access(&self, token: &str) -> Result<Arc<Claims>, AccessError> {
        self.ring.verify(token)
    }

    /// A stable, non-reversible reference to an account name for the server
    /// log: who is being guessed at can be followed without the log holding
    /// the address (OWASP Logging Cheat Sheet, "Data to exclude").
    pub fn log_ref(&self, name: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.log_key.as_ref()).expect("any key length works");
        mac.update(name.as_bytes());
        hex(&mac.finalize().into_bytes()[..8])
    }

    fn refresh_mac(&self, session_id: &[u8], generation: i64, secret: &[u8]) -> [u8; MAC_BYTES] {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.refresh_key.as_ref())
            .expect("any key length works");
        mac.update(session_id);
        mac.update(&generation.to_be_bytes());
        mac.update(secret);
        mac.finalize().into_bytes().into()
    }

    /// The refresh token of `session_id` at `generation`.
    pub fn refresh_token(
        &self,
        session_id: &SessionId,
        generation: i64,
        secret: &[u8],
    ) -> RefreshToken {
        let id = URL_SAFE_NO_PAD
            .decode(session_id.as_str())
            .unwrap_or_default();
        let mut bytes = Vec::with_capacity(TOKEN_BYTES);
        bytes.extend_from_slice(&id);
        bytes.extend_from_slice(&generation.to_be_bytes());
        bytes.extend_from_slice(&self.refresh_mac(&id, generation, secret));
        RefreshToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Whether `token` is the authentic token of its session at its generation
    /// (constant-time comparison).
    pub fn refresh_token_is_authentic(&self, token: &ParsedRefreshToken, secret: &[u8]) -> bool {
        use subtle::ConstantTimeEq as _;
        let id = URL_SAFE_NO_PAD
            .decode(token.session_id.as_str())
            .unwrap_or_default();
        let expected = self.refresh_mac(&id, token.generation, secret);
        expected.ct_eq(&token.mac).into()
    }
}

/// Takes a refresh token apart; `None` if it is not shaped like one.
pub fn parse_refresh_token(token: &str) -> Option<ParsedRefreshToken> {
    if token.len() > 128 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if bytes.len() != TOKEN_BYTES {
        return None;
    }
    let (id, rest) = bytes.split_at(SESSION_ID_BYTES);
    let (generation, mac) = rest.split_at(8);
    let generation = i64::from_be_bytes(generation.try_into().ok()?);
    if generation < 0 {
        return None;
    }
    Some(ParsedRefreshToken {
        session_id: SessionId::new(URL_SAFE_NO_PAD.encode(id)),
        generation,
        mac: mac.try_into().ok()?,
    })
}

/// A new session id (128 random bits).
pub fn new_session_id() -> String {
    random_id(SESSION_ID_BYTES)
}

/// A new per-session secret mixed into every refresh token (256 random bits).
pub fn new_session_secret() -> Vec<u8> {
    let mut buf = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_for(issuer: &str) -> TokenKeys {
        let secret = MasterSecret::new("k".repeat(40).into_bytes());
        TokenKeys::new(&secret, Arc::new(Keyring::ephemeral(&secret, issuer)))
    }

    fn keys() -> TokenKeys {
        keys_for("gatehouse")
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    /// A token for user `u` in session `s`, issued `age` seconds ago, valid 60 s.
    fn issued(keys: &TokenKeys, age: i64) -> AccessToken {
        keys.issue_access(
            &"u".into(),
            &"s".into(),
            now() - age,
            Duration::from_secs(60),
            vec!["pwd".into()],
        )
        .unwrap()
    }

    #[test]
    fn access_tokens_round_trip_with_every_claim() {
        let keys = keys();
        let token = issued(&keys, 0);
        let claims = keys.verify_access(&token.value).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("u", "s"));
        assert_eq!(
            (claims.iss.as_str(), claims.aud.as_str()),
            ("gatehouse", AUDIENCE)
        );
        assert_eq!(claims.exp - claims.iat, 60);
        assert_eq!(claims.amr, ["pwd"]);
        let header = jsonwebtoken::decode_header(&token.value).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
        assert_eq!(header.kid, keys.ring().signing_kid());
    }

    #[test]
    fn expired_and_foreign_tokens_are_refused() {
        let keys = keys();
        let old = issued(&keys, 120);
        assert_eq!(
            keys.verify_access(&old.value).unwrap_err(),
            AccessError::Expired
        );
        let foreign = issued(&keys_for("elsewhere"), 0);
        assert_eq!(
            keys.verify_access(&foreign.value).unwrap_err(),
            AccessError::Invalid
        );
        assert_eq!(
            keys.verify_access("not.a.jwt").unwrap_err(),
            AccessError::Invalid
        );
    }

    #[test]
    fn refresh_tokens_are_derived_and_checked() {
        let keys = keys();
        let sid = SessionId::new(new_session_id());
        let secret = new_session_secret();
        let t0 = keys.refresh_token(&sid, 0, &secret);
        let t1 = keys.refresh_token(&sid, 1, &secret);
        assert_ne!(t0, t1);
        assert_eq!(
            t0,
            keys.refresh_token(&sid, 0, &secret),
            "derivation is deterministic"
        );
        let parsed = parse_refresh_token(t1.expose()).unwrap();
        assert_eq!(
            (parsed.session_id.as_str(), parsed.generation),
            (sid.as_str(), 1)
        );
        assert!(keys.refresh_token_is_authentic(&parsed, &secret));
        assert!(!keys.refresh_token_is_authentic(&parsed, &new_session_secret()));
        // A forged generation fails the MAC.
        let mut forged = parsed.clone();
        forged.generation = 2;
        assert!(!keys.refresh_token_is_authentic(&forged, &secret));
        assert!(parse_refresh_token("short").is_none());
        assert_eq!(format!("{t0:?}"), "RefreshToken(<redacted>)");
    }
}
