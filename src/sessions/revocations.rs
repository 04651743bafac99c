//! Session ids revoked recently enough that access tokens naming them may
//! still verify. Checked on every request, so revocation takes effect at
//! once without a database read per request ([RFC 7009 §2.1]: revoking a
//! grant also invalidates its access tokens); other instances' revocations
//! arrive through [`super::service::SessionService::sync_revocations`].
//!
//! # How long an entry is kept, and whose clock says so
//!
//! An access token's `exp` was written by the clock of the instance that
//! issued it, and is checked against this instance's clock with a small
//! leeway ([RFC 7519 §4.1.4](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4)).
//! So an entry may go only once this instance's clock is past the latest
//! `exp`, plus the leeway, that any token naming the session can carry.
//! The database's `revoked_at` is a third clock: comparing it with this
//! one says nothing about when a token expires here (an instance whose
//! clock ran ahead of the database's once forgot entries while tokens it
//! had issued itself still verified).
//!
//! Each entry keeps the latest of three upper bounds on that `exp`:
//!
//! 1. **Learned here, plus the access lifetime**: covers every token issued
//!    before this instance learned of the revocation by a clock not ahead of
//!    this one's (its own tokens above all). Only this instance's clock.
//! 2. **Last issued, plus the refresh grace and the access lifetime**: the
//!    database keeps, with each revocation, when the session was last given
//!    an access token, written by the issuing instance's own clock and never
//!    moved back (`last_issued_at`). That is the latest token's own `exp`
//!    less its lifetime, whatever the clocks; the grace covers a predecessor
//!    refresh token answered without a write shortly after a rotation (by a
//!    clock not ahead of the rotating instance's, or bound 1 or 3 holds it).
//! 3. **The `exp` of a token refused here**: whatever was actually presented
//!    while the entry existed, it keeps refusing until that token expires.
//!
//! Each bound is compared with this instance's clock only, never with
//! another's; an entry goes when this clock is past all three, when no
//! token naming the session verifies here any more.
//!
//! # Bound
//!
//! The set holds only the sessions ended within the longest life of an
//! access token (the access lifetime, the refresh grace and the leeway:
//! about 16 minutes by default); every load drops the rest, and a long log
//! of old revocations is never read (`Db::revocations_after` reads from the
//! same bound). So its size follows the rate at which sessions end, never
//! the size of the log: an entry is about 100 bytes, and even 100,000
//! sessions ended every 16 minutes hold about 10 MB, flat
//! (`tests/bounds.rs`). Sessions are opened only by a sign-in, each a
//! password check, a passkey or a provider's answer, which caps that rate.
//!
//! [RFC 7009 §2.1]: https://www.rfc-editor.org/rfc/rfc7009#section-2.1

use crate::{
    clock::Millis, ids::SessionId, keys::claims::LEEWAY_SECS, store::revocation_log::RevocationRow,
    vocab::RevokeReason,
};
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

#[derive(Clone, Debug, Default)]
pub struct Revocations {
    inner: Arc<RwLock<RevocationSet>>,
}

#[derive(Debug, Default)]
struct RevocationSet {
    revoked: HashMap<SessionId, Entry>,
    /// The highest revocation number seen in the database.
    high_water: i64,
    /// Whether the database's log was loaded at least once.
    loaded: bool,
}

#[derive(Debug)]
struct Entry {
    reason: RevokeReason,
    /// By this instance's clock, when the last token naming the session
    /// that could verify here has expired.
    keep_until: Millis,
}

/// How long tokens live: what bounds how long an entry is needed.
#[derive(Clone, Copy, Debug)]
pub struct TokenLifetimes {
    /// The access-token lifetime (`GATEHOUSE_ACCESS_TTL`).
    pub access: Millis,
    /// How long after a rotation its predecessor is still answered with a
    /// fresh access token (`GATEHOUSE_REFRESH_GRACE`).
    pub refresh_grace: Millis,
}

impl TokenLifetimes {
    /// How long after a session was last given an access token (by its
    /// issuer's clock) one of its tokens may still verify (by this
    /// instance's): a predecessor answered within the grace, the lifetime,
    /// the leeway (bound 2 above).
    pub fn longest_life(self) -> Millis {
        expired_from(self.refresh_grace + self.access)
    }
}

/// The first moment (unix ms, this instance's clock) at which a token whose
/// `exp` is `exp_ms` no longer verifies: past the leeway, plus a second
/// because the check compares whole seconds.
pub fn expired_from(exp_ms: Millis) -> Millis {
    exp_ms.saturating_add((LEEWAY_SECS as Millis + 1) * 1000)
}

/// How far back, besides every newer number, each load re-reads by the
/// database's clock (see `Db::revocations_after`).
pub const OVERLAP_MS: Millis = 30_000;

impl Revocations {
    /// Why the session named by a token expiring at `exp` (unix seconds) was
    /// revoked, if it was. A refused token keeps the entry until it expires
    /// (bound 3 above).
    pub fn revoked(&self, session_id: &SessionId, exp: i64) -> Option<RevokeReason> {
        let until = expired_from(exp.saturating_mul(1000));
        let reason = {
            let set = self.inner.read().expect("revocation lock");
            let entry = set.revoked.get(session_id)?;
            if entry.keep_until >= until {
                return Some(entry.reason);
            }
            entry.reason
        };
        let mut set = self.inner.write().expect("revocation lock");
        // Even if a load pruned it between the two locks, this token still
        // verifies: keep refusing it.
        let entry = set.revoked.entry(session_id.clone()).or_insert(Entry {
            reason,
            keep_until: until,
        });
        entry.keep_until = entry.keep_until.max(until);
        Some(entry.reason)
    }

    /// Records sessions this instance has just ended, at `now` by its own
    /// clock (bound 1 above; the database's record of them arrives with the
    /// next load and may extend it).
    pub fn insert_all<'a>(
        &self,
        session_ids: impl IntoIterator<Item = &'a SessionId>,
        now: Millis,
        reason: RevokeReason,
        lifetimes: TokenLifetimes,
    ) {
        let mut set = self.inner.write().expect("revocation lock");
        for id in session_ids {
            set.learn(id.clone(), reason, now, lifetimes);
        }
    }

    /// Records that every row up to `seq` was read (account-change rows of
    /// the same log are handled elsewhere but are read all the same).
    pub fn advance(&self, seq: i64) {
        let mut set = self.inner.write().expect("revocation lock");
        set.high_water = set.high_water.max(seq);
    }

    /// Whether the database's log was loaded at least once.
    pub fn loaded(&self) -> bool {
        self.inner.read().expect("revocation lock").loaded
    }

    /// Whether the set holds an entry for this session.
    pub fn holds(&self, session_id: &SessionId) -> bool {
        self.inner
            .read()
            .expect("revocation lock")
            .revoked
            .contains_key(session_id)
    }

    /// The highest revocation number loaded so far.
    pub fn high_water(&self) -> i64 {
        self.inner.read().expect("revocation lock").high_water
    }

    /// Adds revocations loaded from the database at `now` (this instance's
    /// clock), and forgets the entries no token can verify against any more.
    /// A row read again after its entry went (the overlap) brings it back
    /// for one more lifetime: longer than needed, never shorter.
    /// Returns how many rows were loaded.
    pub fn merge(&self, rows: Vec<RevocationRow>, now: Millis, lifetimes: TokenLifetimes) -> usize {
        let mut set = self.inner.write().expect("revocation lock");
        let loaded = rows.len();
        set.loaded = true;
        for row in rows {
            set.high_water = set.high_water.max(row.seq);
            let entry = set.learn(row.session_id, row.reason, now, lifetimes);
            if let Some(issued) = row.last_issued_at {
                let until = issued.saturating_add(lifetimes.longest_life());
                entry.keep_until = entry.keep_until.max(until);
            }
        }
        set.revoked.retain(|_, entry| entry.keep_until > now);
        // Removed entries leave tombstones that the table counts as used:
        // give the room back when most of it is empty, or a set that keeps
        // turning over would grow to twice its live size (`tests/bounds.rs`).
        let live = set.revoked.len();
        if set.revoked.capacity() > 4 * live + 1024 {
            set.revoked.shrink_to(2 * live);
        }
        loaded
    }

    pub fn len(&self) -> usize {
        self.inner.read().expect("revocation lock").revoked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RevocationSet {
    /// The entry of a session learned revoked at `now`: a new one is kept
    /// one access lifetime from now (bound 1); an entry already known keeps
    /// its own bounds (a later sighting proves nothing about older tokens).
    fn learn(
        &mut self,
        session_id: SessionId,
        reason: RevokeReason,
        now: Millis,
        lifetimes: TokenLifetimes,
    ) -> &mut Entry {
        let entry = self.revoked.entry(session_id).or_insert(Entry {
            reason,
            keep_until: expired_from(now + lifetimes.access),
        });
        entry.reason = reason;
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This instance's clock in the tests (unix ms).
    const NOW: Millis = 1_800_000_000_000;
    const SECOND: Millis = 1000;
    const LIFETIMES: TokenLifetimes = TokenLifetimes {
        access: 300 * SECOND,
        refresh_grace: 10 * SECOND,
    };

    fn id(name: &str) -> SessionId {
        SessionId::new(name.to_owned())
    }

    fn row(
        seq: i64,
        session_id: &str,
        revoked_at: Millis,
        last_issued_at: Option<Millis>,
    ) -> RevocationRow {
        RevocationRow {
            seq,
            session_id: id(session_id),
            reason: RevokeReason::Revoked,
            revoked_at,
            last_issued_at,
        }
    }

    /// Whether `session_id` is still in the set after a load at `now`,
    /// asked without presenting a token (which could extend it).
    fn kept_at(set: &Revocations, now: Millis, session_id: &str) -> bool {
        set.merge(Vec::new(), now, LIFETIMES);
        set.inner
            .read()
            .unwrap()
            .revoked
            .contains_key(&id(session_id))
    }

    #[test]
    fn an_entry_survives_a_database_clock_far_behind_this_instances() {
        // The database stamped the revocation an hour before this instance's
        // clock says it is now: tokens this instance issued a moment ago
        // still verify here for a whole access-token lifetime.
        let set = Revocations::default();
        set.merge(vec![row(1, "s", NOW - 3_600_000, None)], NOW, LIFETIMES);
        assert_eq!(
            set.revoked(&id("s"), 0),
            Some(RevokeReason::Revoked),
            "forgotten while tokens naming the session still verify here"
        );
        // A token issued here just before: exp = now + 300 s; it verifies
        // until 5 s of leeway (in whole seconds) are past.
        let exp = NOW + LIFETIMES.access;
        assert!(kept_at(&set, exp + 5 * SECOND, "s"));
        assert!(kept_at(&set, exp + 6 * SECOND - 1, "s"));
        assert!(!kept_at(&set, exp + 6 * SECOND, "s"), "then it goes");
    }

    #[test]
    fn an_entry_survives_a_database_clock_far_ahead_of_this_instances() {
        // Revoked "in the future" by the database's clock: nothing about
        // that makes the entry live longer than tokens can, or shorter.
        let set = Revocations::default();
        set.merge(vec![row(1, "s", NOW + 3_600_000, None)], NOW, LIFETIMES);
        assert!(kept_at(&set, NOW + LIFETIMES.access + 5 * SECOND, "s"));
        assert!(!kept_at(&set, NOW + LIFETIMES.access + 6 * SECOND, "s"));
    }

    #[test]
    fn an_entry_is_kept_until_the_sessions_last_token_expires_by_its_issuers_clock() {
        // The session's last token came from an instance whose clock runs a
        // minute ahead of this one: its exp is a minute later here.
        let issued = NOW + 60 * SECOND;
        let set = Revocations::default();
        set.merge(vec![row(1, "s", NOW, Some(issued))], NOW, LIFETIMES);
        let latest_exp = issued + LIFETIMES.refresh_grace + LIFETIMES.access;
        assert!(kept_at(&set, latest_exp + 6 * SECOND - 1, "s"));
        assert!(!kept_at(&set, latest_exp + 6 * SECOND, "s"));
    }

    #[test]
    fn a_later_sighting_never_shortens_an_entry() {
        let set = Revocations::default();
        let issued = NOW + 60 * SECOND;
        set.merge(vec![row(1, "s", NOW, Some(issued))], NOW, LIFETIMES);
        // Re-read later (the overlap window), and ended here too.
        set.merge(vec![row(1, "s", NOW, None)], NOW + 20 * SECOND, LIFETIMES);
        set.insert_all(
            [&id("s")],
            NOW + 25 * SECOND,
            RevokeReason::Revoked,
            LIFETIMES,
        );
        let latest_exp = issued + LIFETIMES.refresh_grace + LIFETIMES.access;
        assert!(kept_at(&set, latest_exp + 6 * SECOND - 1, "s"));
        assert!(!kept_at(&set, latest_exp + 6 * SECOND, "s"));
    }

    #[test]
    fn an_entry_ended_here_is_kept_one_token_lifetime_by_this_clock() {
        let set = Revocations::default();
        set.insert_all([&id("s")], NOW, RevokeReason::SignedOut, LIFETIMES);
        assert_eq!(set.revoked(&id("s"), 0), Some(RevokeReason::SignedOut));
        assert!(kept_at(&set, NOW + LIFETIMES.access + 6 * SECOND - 1, "s"));
        assert!(!kept_at(&set, NOW + LIFETIMES.access + 6 * SECOND, "s"));
    }

    #[test]
    fn a_refused_token_keeps_its_entry_until_it_expires_here() {
        // A token whose exp lies beyond every other bound (its issuer's
        // clock ran far ahead, and the database kept no issue time).
        let set = Revocations::default();
        set.merge(vec![row(1, "s", NOW, None)], NOW, LIFETIMES);
        let exp_secs = (NOW + 3_600_000) / 1000;
        assert_eq!(set.revoked(&id("s"), exp_secs), Some(RevokeReason::Revoked));
        let exp = exp_secs * 1000;
        assert!(kept_at(&set, exp + 6 * SECOND - 1, "s"));
        assert_eq!(set.revoked(&id("s"), exp_secs), Some(RevokeReason::Revoked));
        assert!(!kept_at(&set, exp + 6 * SECOND, "s"));
        assert_eq!(set.revoked(&id("s"), exp_secs), None);
    }

    #[test]
    fn a_session_never_revoked_is_not_refused() {
        let set = Revocations::default();
        set.merge(vec![row(7, "s", NOW, None)], NOW, LIFETIMES);
        assert_eq!(set.revoked(&id("other"), i64::MAX), None);
        assert_eq!(set.high_water(), 7);
        assert_eq!(set.len(), 1);
    }
}
