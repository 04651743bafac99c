//! Accounts read recently, so an authenticated request that shows who is
//! signed in (`/api/v1/me`, `whoami`) costs no database read. Every change
//! to an account row is recorded by a database trigger in the same ordered
//! log as session revocations, so every instance forgets the account at its
//! next revocation sync (at once on PostgreSQL); the instance that made the
//! change forgets it immediately. Decisions that must see the latest row
//! (sign-in, refresh, administration) read the database, never this cache.

use crate::{clock::Millis, ids::UserId, store::User};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

/// Accounts remembered at most (about 6 MB; `tests/bounds.rs` fills it ten
/// times over and measures).
pub const CAPACITY: usize = 16_384;
/// An entry is read again after this long even without a change notice,
/// as a bound on any missed one.
const TTL_MS: Millis = 5 * 60_000;

#[derive(Clone, Debug, Default)]
pub struct UserCache {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Mutex<HashMap<UserId, (Millis, User)>>,
    /// Bumped by every invalidation: a read that raced one is not stored.
    generation: AtomicU64,
}

impl UserCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, (Millis, User)>> {
        self.inner.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached account, if fresh.
    pub fn get(&self, id: &UserId, now: Millis) -> Option<User> {
        self.lock()
            .get(id)
            .filter(|(at, _)| (0..TTL_MS).contains(&(now - at)))
            .map(|(_, user)| user.clone())
    }

    /// A token to pass to [`UserCache::put`] with what is read after it.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    /// Stores an account read from the database, unless an invalidation
    /// happened since `generation` was taken (the read may be older).
    pub fn put(&self, user: User, generation: u64, now: Millis) {
        let mut entries = self.lock();
        if self.generation() != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.retain(|_, (at, _)| now - *at < TTL_MS);
            if entries.len() > CAPACITY / 2 {
                entries.clear();
            }
        }
        entries.insert(user.id.clone(), (now, user));
    }

    /// How many accounts are remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets an account (it changed or is gone).
    pub fn forget(&self, id: &UserId) {
        let mut entries = self.lock();
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        entries.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Role;

    fn user(id: &str, email: &str) -> User {
        User {
            id: UserId::new(id.to_owned()),
            email: email.into(),
            password_hash: String::new(),
            role: Role::User,
            disabled: false,
            created_at: 0,
            email_verified_at: None,
        }
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let cache = UserCache::default();
        let ada = UserId::new("ada".to_owned());
        let before = cache.generation();
        // The account changes while its old row is being read.
        cache.forget(&ada);
        cache.put(user("ada", "old@example.com"), before, 0);
        assert!(cache.get(&ada, 0).is_none());
        let now = cache.generation();
        cache.put(user("ada", "new@example.com"), now, 0);
        assert_eq!(cache.get(&ada, 1).unwrap().email, "new@example.com");
        assert!(cache.get(&ada, TTL_MS).is_none(), "entries age out");
        cache.forget(&ada);
        assert!(cache.get(&ada, 1).is_none());
    }
}
