//! The key set in memory: the one key that signs, the keys that verify, and
//! the published JWKS, swapped as a whole when the stored set changes.
//!
//! Verification follows RFC 8725 (JSON Web Token Best Current Practices):
//! the key is chosen by `kid` among the published keys only, and each key
//! is used with its own algorithm and no other (§3.1, §2.1); `none` and any
//! key carried in the token itself (`jwk`, `jku`, `x5u`) are never looked
//! at (§3.10); `iss`, `aud` and `exp` are checked (§3.8, §3.9).

use super::{
    cache::{Verified, VerifiedTokens},
    jwks::{self, Jwk},
    KeyError, KeyState,
};
use crate::{
    clock::{now_ms, secs},
    config::MasterSecret,
    crypto::seal::Sealer,
    keys::claims::{AccessError, Claims, AUDIENCE, LEEWAY_SECS},
    store::keys::KeyRow,
};
use ed25519_dalek::{pkcs8::EncodePrivateKey as _, SigningKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, RwLock},
};
use zeroize::Zeroizing;

/// The label private signing keys are sealed under.
pub const SEAL_LABEL: &str = "gatehouse signing key seal v1";
/// `alg` values as stored.
pub const EDDSA: &str = "EdDSA";
pub const HS256: &str = "HS256";

#[derive(Clone)]
struct Signer {
    kid: String,
    key: EncodingKey,
}

struct Verifier {
    kid: Arc<str>,
    key: DecodingKey,
    validation: Validation,
}

/// One generation of the key set.
#[derive(Default)]
struct KeySet {
    signer: Option<Signer>,
    verifiers: HashMap<String, Verifier>,
    /// Keys that no longer verify (retired, revoked): their tokens are
    /// answered as expired, so clients refresh onto the current key
    /// instead of being signed out.
    ended: HashSet<String>,
    jwks: Arc<str>,
    /// `(kid, state)` of every key, to tell whether a reload changed
    /// anything.
    fingerprint: Vec<(String, KeyState)>,
}

impl KeySet {
    /// How a token naming `kid`, which does not verify, is answered: a key
    /// that was retired or revoked asks the client to refresh (its session
    /// carries on under the current key); anything else is refused.
    fn refusal_for(&self, kid: &str) -> AccessError {
        if self.ended.contains(kid) {
            AccessError::Expired
        } else {
            AccessError::Invalid
        }
    }
}

/// Signs and verifies access tokens with the shared key set.
pub struct Keyring {
    issuer: String,
    sealer: Sealer,
    /// The key id and secret of the HS256 scheme that came before signing
    /// keys; it verifies only while the stored set lists it.
    legacy_kid: String,
    legacy_secret: MasterSecret,
    set: RwLock<Arc<KeySet>>,
    verified: VerifiedTokens,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring(signing={:?})", self.signing_kid())
    }
}

/// The key id the HS256 scheme put in its tokens' headers.
pub fn legacy_kid(secret: &MasterSecret) -> String {
    let id = crate::crypto::derive_key(secret.bytes(), "gatehouse jwt kid v1");
    crate::crypto::hex(&id[..8])
}

/// A new Ed25519 key: its kid, public key and sealed private key.
pub fn generate(sealer: &Sealer) -> (String, Vec<u8>, Vec<u8>) {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let public = key.verifying_key().to_bytes().to_vec();
    let kid = jwks::thumbprint(&public);
    let seed = Zeroizing::new(key.to_bytes());
    let sealed = sealer.seal(seed.as_ref(), kid.as_bytes());
    (kid, public, sealed)
}

fn validation(alg: Algorithm, issuer: &str) -> Validation {
    // RFC 8725 §3.1: exactly one algorithm per key.
    let mut v = Validation::new(alg);
    v.leeway = LEEWAY_SECS;
    v.set_audience(&[AUDIENCE]);
    v.set_issuer(&[issuer]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_exp = true;
    v
}

impl Keyring {
    /// An empty ring; it signs nothing until [`Keyring::install`] gives it
    /// the stored set.
    pub fn new(secret: &MasterSecret, issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            sealer: Sealer::new(secret, SEAL_LABEL),
            legacy_kid: legacy_kid(secret),
            legacy_secret: secret.clone(),
            set: RwLock::default(),
            verified: VerifiedTokens::default(),
        }
    }

    /// A ring with one fresh key of its own, kept nowhere (for tools and
    /// tests that need tokens without a database).
    pub fn ephemeral(secret: &MasterSecret, issuer: &str) -> Self {
        let ring = Self::new(secret, issuer);
        let (kid, public_key, sealed) = generate(&ring.sealer);
        let row = KeyRow {
            kid,
            alg: EDDSA.to_owned(),
            state: KeyState::Current,
            public_key,
            private_key: Some(sealed),
            created_at: 0,
            activate_at: None,
            activated_at: Some(0),
            verify_until: None,
        };
        ring.install(&[row]).expect("a fresh key opens");
        ring
    }

    /// The `iss` of the tokens this ring signs and accepts.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    fn current(&self) -> Arc<KeySet> {
        self.set.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The kid new tokens are signed with.
    pub fn signing_kid(&self) -> Option<String> {
        self.current().signer.as_ref().map(|s| s.kid.clone())
    }

    /// The published key set, as JSON.
    pub fn jwks(&self) -> Arc<str> {
        self.current().jwks.clone()
    }

    /// Replaces the set with the stored keys; `Ok(false)` if nothing
    /// changed. A current key whose private key does not open (another
    /// master secret) is an error; the verifying keys are updated all the
    /// same (a revocation must never wait on it), and the ring keeps
    /// signing with its former key while that still verifies.
    pub fn install(&self, rows: &[KeyRow]) -> Result<bool, KeyError> {
        let fingerprint: Vec<(String, KeyState)> =
            rows.iter().map(|r| (r.kid.clone(), r.state)).collect();
        let old = self.current();
        if old.fingerprint == fingerprint && !fingerprint.is_empty() {
            return Ok(false);
        }
        let mut set = KeySet {
            fingerprint,
            ..KeySet::default()
        };
        let mut published = Vec::new();
        let mut unusable = None;
        for row in rows {
            let Some(state) = Some(row.state).filter(|s| s.verifies()) else {
                set.ended.insert(row.kid.clone());
                continue;
            };
            let (alg, key) = match row.alg.as_str() {
                EDDSA => {
                    published.push(Jwk::ed25519(&row.kid, &row.public_key));
                    (Algorithm::EdDSA, DecodingKey::from_ed_der(&row.public_key))
                }
                // Only the scheme this deployment ran before, by its own kid.
                HS256 if row.kid == self.legacy_kid => (
                    Algorithm::HS256,
                    DecodingKey::from_secret(self.legacy_secret.bytes()),
                ),
                _ => continue,
            };
            if state == KeyState::Current && alg == Algorithm::EdDSA {
                match self.open_signer(row) {
                    Ok(signer) => set.signer = Some(signer),
                    Err(err) => unusable = Some(err),
                }
            }
            set.verifiers.insert(
                row.kid.clone(),
                Verifier {
                    kid: row.kid.as_str().into(),
                    key,
                    validation: validation(alg, &self.issuer),
                },
            );
        }
        set.jwks = jwks::document(&published).into();
        if set.signer.is_none() {
            set.signer = old
                .signer
                .as_ref()
                .filter(|s| set.verifiers.contains_key(&s.kid))
                .cloned();
        }
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
        match unusable {
            Some(err) => Err(err),
            None => Ok(true),
        }
    }

    fn open_signer(&self, row: &KeyRow) -> Result<Signer, KeyError> {
        let unusable = || KeyError::Unusable(row.kid.clone());
        let seed = row
            .private_key
            .as_deref()
            .and_then(|sealed| self.sealer.open(sealed, row.kid.as_bytes()))
            .ok_or_else(unusable)?;
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(seed.as_slice().try_into().map_err(|_| unusable())?);
        let key = SigningKey::from_bytes(&seed);
        if key.verifying_key().as_bytes()[..] != row.public_key[..] {
            return Err(unusable());
        }
        let der = key.to_pkcs8_der().map_err(|_| unusable())?;
        Ok(Signer {
            kid: row.kid.clone(),
            key: EncodingKey::from_ed_der(der.as_bytes()),
        })
    }

    /// Signs `claims` with the current key.
    pub fn sign(&self, claims: &Claims) -> Result<String, KeyError> {
        let set = self.current();
        let signer = set.signer.as_ref().ok_or(KeyError::NoSigningKey)?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(signer.kid.clone());
        jsonwebtoken::encode(&header, claims, &signer.key)
            .map_err(|_| KeyError::Unusable(signer.kid.clone()))
    }

    /// Verifies an access token against the published keys. A token seen
    /// before is answered from the cache, but only while its key still
    /// verifies and the token has not expired.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, AccessError> {
        use jsonwebtoken::errors::ErrorKind;
        let set = self.current();
        let now = secs(now_ms());
        let digest = VerifiedTokens::digest(token);
        let cached = self.verified.get(&digest);
        crate::telemetry::token_cache(cached.is_some());
        if let Some(hit) = cached {
            if !set.verifiers.contains_key(&*hit.kid) {
                self.verified.forget(&digest);
                return Err(set.refusal_for(&hit.kid));
            }
            if hit.claims.exp + LEEWAY_SECS as i64 <= now {
                self.verified.forget(&digest);
                return Err(AccessError::Expired);
            }
            return Ok(hit.claims);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AccessError::Invalid)?;
        let kid = header.kid.as_deref().ok_or(AccessError::Invalid)?;
        let verifier = set.verifiers.get(kid).ok_or_else(|| set.refusal_for(kid))?;
        match jsonwebtoken::decode::<Claims>(token, &verifier.key, &verifier.validation) {
            Ok(data) if !data.claims.sub.is_empty() && !data.claims.sid.is_empty() => {
                let claims = Arc::new(data.claims);
                let entry = Verified {
                    kid: verifier.kid.clone(),
                    claims: claims.clone(),
                };
                self.verified.insert(digest, entry, now, LEEWAY_SECS as i64);
                Ok(claims)
            }
            Ok(_) => Err(AccessError::Invalid),
            Err(err) if matches!(err.kind(), ErrorKind::ExpiredSignature) => {
                Err(AccessError::Expired)
            }
            Err(_) => Err(AccessError::Invalid),
        }
    }
}
