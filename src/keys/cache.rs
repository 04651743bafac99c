//! Access tokens already verified, so a request whose token was seen before
//! costs a hash and a map lookup instead of an Ed25519 verification. Keyed
//! by SHA-256 of the whole token, so only the very same bytes hit; bounded,
//! and an entry is never used past its token's expiry. The key-state and
//! revocation checks are made by the caller on every hit, outside the cache.

use crate::keys::claims::Claims;
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// The default number of tokens remembered (about 6 MB at most;
/// `tests/bounds.rs` fills it ten times over and measures).
pub const DEFAULT_CAPACITY: usize = 16_384;

/// A verified token: its claims and the key that signed it.
#[derive(Clone, Debug)]
pub struct Verified {
    pub kid: Arc<str>,
    pub claims: Arc<Claims>,
}

#[derive(Debug)]
pub struct VerifiedTokens {
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], Verified>>,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl VerifiedTokens {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cache key of a token.
    pub fn digest(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    pub fn get(&self, digest: &[u8; 32]) -> Option<Verified> {
        self.lock().get(digest).cloned()
    }

    /// Remembers a verified token. When full, entries whose tokens expired
    /// (by `now_secs`, with `leeway`) go first; if that frees less than
    /// half, everything goes. So the cache never grows past its bound, the
    /// sweep runs at most once per `capacity / 2` inserts, and a flood of
    /// fresh tokens costs at most one verification each, as without a cache.
    pub fn insert(&self, digest: [u8; 32], verified: Verified, now_secs: i64, leeway: i64) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.retain(|_, v| v.claims.exp + leeway >= now_secs);
            if entries.len() > self.capacity / 2 {
                entries.clear();
            }
        }
        entries.insert(digest, verified);
    }

    pub fn forget(&self, digest: &[u8; 32]) {
        self.lock().remove(digest);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Verified>> {
        // A panic while holding the lock leaves a consistent map.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(exp: i64) -> Verified {
        Verified {
            kid: "k".into(),
            claims: Arc::new(Claims {
                sub: "u".into(),
                sid: "s".into(),
                iat: 0,
                exp,
                jti: "j".into(),
                iss: "i".into(),
                aud: "a".into(),
                amr: vec![],
            }),
        }
    }

    #[test]
    fn the_cache_stays_within_its_bound_and_drops_expired_tokens_first() {
        let cache = VerifiedTokens::new(3);
        cache.insert(VerifiedTokens::digest("old"), verified(10), 100, 5);
        cache.insert(VerifiedTokens::digest("a"), verified(1000), 100, 5);
        cache.insert(VerifiedTokens::digest("b"), verified(1000), 100, 5);
        cache.insert(VerifiedTokens::digest("c"), verified(1000), 100, 5);
        assert_eq!(cache.len(), 1, "full of mostly live entries: starts over");
        assert!(cache.get(&VerifiedTokens::digest("c")).is_some());
        assert!(cache.get(&VerifiedTokens::digest("a")).is_none());
        let cache = VerifiedTokens::new(4);
        for (i, exp) in [10, 10, 10, 1000].into_iter().enumerate() {
            cache.insert(
                VerifiedTokens::digest(&i.to_string()),
                verified(exp),
                100,
                5,
            );
        }
        cache.insert(VerifiedTokens::digest("new"), verified(1000), 100, 5);
        assert_eq!(cache.len(), 2, "the expired entries made room");
        assert!(cache.get(&VerifiedTokens::digest("3")).is_some());
        assert!(cache.get(&VerifiedTokens::digest("0")).is_none());
    }
}
