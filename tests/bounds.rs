//! Every structure an instance keeps in memory has a bound, and filling it
//! far past that bound leaves the memory it holds flat. Memory is counted
//! by this test binary's own allocator (bytes allocated and not yet freed),
//! so each figure is the structure's real heap, not an estimate.
//!
//! - the cache of verified access tokens: `keys::cache::DEFAULT_CAPACITY`
//!   entries;
//! - the cache of accounts: `sessions::user_cache::CAPACITY` entries;
//! - the revocation set: the sessions ended within the longest life of an
//!   access token (entries leave once no token naming them verifies).
//!
//! Throttle counters live in the database, not in memory; the hourly purge
//! bounds them (`tests/purge.rs`).

use gatehouse::{
    ids::{SessionId, UserId},
    keys::{
        cache::{Verified, VerifiedTokens, DEFAULT_CAPACITY},
        claims::Claims,
    },
    sessions::{
        revocations::{Revocations, TokenLifetimes},
        user_cache::{UserCache, CAPACITY},
    },
    store::User,
    vocab::{RevokeReason, Role},
};
use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::{
        atomic::{AtomicIsize, Ordering},
        Arc, Mutex,
    },
};

/// The system allocator, counting the bytes it has handed out and not yet
/// taken back.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the count is for the whole process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

/// Asserts that `after` (bytes held once filled far past the bound) is no
/// more than `at_bound` (held when first full) plus a tenth.
fn assert_flat(what: &str, at_bound: isize, after: isize) {
    eprintln!("{what}: {at_bound} bytes at its bound, {after} bytes after filling far past it");
    assert!(at_bound > 0, "{what}: the fill held memory");
    assert!(
        after <= at_bound + at_bound / 10,
        "{what} grew past its bound: {at_bound} bytes when full, {after} after"
    );
}

fn verified(i: usize, exp: i64) -> Verified {
    Verified {
        kid: Arc::from("k"),
        claims: Arc::new(Claims {
            sub: format!("user-{i}"),
            sid: format!("session-{i}"),
            iat: 0,
            exp,
            jti: format!("jti-{i}"),
            iss: "https://gatehouse.example".into(),
            aud: "gatehouse".into(),
            amr: vec!["pwd".into()],
        }),
    }
}

#[test]
fn the_verified_token_cache_stays_flat_past_its_bound() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let start = live();
    let cache = VerifiedTokens::new(DEFAULT_CAPACITY);
    // Tokens that all stay valid: the worst case, nothing expires to make
    // room.
    for i in 0..DEFAULT_CAPACITY {
        cache.insert(
            VerifiedTokens::digest(&format!("token-{i}")),
            verified(i, i64::MAX / 2),
            100,
            5,
        );
    }
    let at_bound = live() - start;
    for i in DEFAULT_CAPACITY..DEFAULT_CAPACITY * 10 {
        cache.insert(
            VerifiedTokens::digest(&format!("token-{i}")),
            verified(i, i64::MAX / 2),
            100,
            5,
        );
        assert!(cache.len() <= DEFAULT_CAPACITY);
    }
    assert_flat("verified-token cache", at_bound, live() - start);
    drop(cache);
}

fn user(i: usize) -> User {
    User {
        id: UserId::new(format!("user-id-{i:08}")),
        email: format!("person-{i}@example.com"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        role: Role::User,
        disabled: false,
        created_at: 0,
        email_verified_at: Some(0),
    }
}

#[test]
fn the_account_cache_stays_flat_past_its_bound() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let start = live();
    let cache = UserCache::default();
    let now = 1_000_000;
    // All read within the last minute: none is stale enough to drop.
    for i in 0..CAPACITY {
        cache.put(user(i), cache.generation(), now);
    }
    let at_bound = live() - start;
    for i in CAPACITY..CAPACITY * 10 {
        cache.put(user(i), cache.generation(), now);
        assert!(cache.len() <= CAPACITY);
    }
    assert_flat("account cache", at_bound, live() - start);
    drop(cache);
}

#[test]
fn the_revocation_set_stays_flat_as_revocations_age_out() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let lifetimes = TokenLifetimes {
        access: 15 * 60_000,
        refresh_grace: 30_000,
    };
    // A burst far above any real rate: 100,000 sessions ended in each
    // access-token lifetime, for ten lifetimes in a row.
    let burst = 100_000;
    let ids = |round: usize| -> Vec<SessionId> {
        (0..burst)
            .map(|i| SessionId::new(format!("s{round:02}-{i:07}-padding-to-22")))
            .collect()
    };
    let start = live();
    let set = Revocations::default();
    let mut now = 1_700_000_000_000;
    let first = ids(0);
    set.insert_all(&first, now, RevokeReason::SignedOut, lifetimes);
    drop(first);
    let at_bound = live() - start;
    for round in 1..10 {
        // Past the longest life of any token naming the last round's
        // sessions: a load prunes them.
        now += lifetimes.longest_life() + 1;
        set.merge(Vec::new(), now, lifetimes);
        let next = ids(round);
        set.insert_all(&next, now, RevokeReason::SignedOut, lifetimes);
        drop(next);
        assert_eq!(
            set.len(),
            burst,
            "only the last lifetime's revocations are kept"
        );
    }
    assert_flat("revocation set", at_bound, live() - start);
    now += lifetimes.longest_life() + 1;
    set.merge(Vec::new(), now, lifetimes);
    assert!(set.is_empty(), "every entry leaves once its tokens expire");
}
