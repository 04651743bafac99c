//! The published key set (RFC 7517) and key ids (RFC 7638 thumbprints).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One public key as published (an Ed25519 key, RFC 8037 §2).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    /// `OKP`.
    #[schema(example = "OKP")]
    pub kty: &'static str,
    /// `Ed25519`.
    #[schema(example = "Ed25519")]
    pub crv: &'static str,
    /// The public key, base64url.
    pub x: String,
    /// The key id, as in the `kid` header of the tokens it signs (its
    /// RFC 7638 thumbprint).
    pub kid: String,
    /// `EdDSA`.
    #[schema(example = "EdDSA")]
    pub alg: &'static str,
    /// `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
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

/// The published key set (RFC 7517 §5): the standby, current and previous
/// keys.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeySet {
    pub keys: Vec<Jwk>,
}

/// `{"keys": [...]}`.
pub fn document(keys: &[Jwk]) -> String {
    serde_json::to_string(&KeySet {
        keys: keys.to_vec(),
    })
    .expect("a key set serializes")
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
        assert_eq!(
            thumbprint(&x),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
