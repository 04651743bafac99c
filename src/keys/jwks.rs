//! The published key set (RFC 7517) and key ids (RFC 7638 thumbprints).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One public key as published.
#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

impl Jwk {
    /// The JWK of an Ed25519 public key.
    pub fn ed25519(kid: &str, public_key: &[u8]) -> Self {
        Self {
            kty: "OKP",
            crv: "Ed25519",
            x: URL_SAFE_NO_PAD.encode(public_key),
            kid: kid.to_owned(),
            alg: "EdDSA",
            use_: "sig",
        }
    }
}

#[derive(Debug, Serialize)]
struct KeySetDocument<'a> {
    keys: &'a [Jwk],
}

/// `{"keys": [...]}`.
pub fn document(keys: &[Jwk]) -> String {
    serde_json::to_string(&KeySetDocument { keys }).expect("a key set serializes")
}

/// The RFC 7638 thumbprint of an Ed25519 public key: SHA-256 over the
/// required members in lexicographic order, base64url. Any verifier can
/// recompute it from the published key.
pub fn thumbprint(public_key: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public_key)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_follow_rfc_8037_appendix_a3() {
        // RFC 8037 A.3: the thumbprint of the example Ed25519 key.
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        assert_eq!(thumbprint(&x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }
}
