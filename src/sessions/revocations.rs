//! Session ids revoked recently enough that access tokens naming them may
//! still be unexpired. Checked on every request, so revocation takes effect
//! at once without a database read per request; other instances' revocations
//! arrive through [`super::service::SessionService::sync_revocations`].

use crate::{clock::Millis, ids::SessionId, store::sessions::RevocationRow, vocab::RevokeReason};
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
    revoked: HashMap<SessionId, (Millis, RevokeReason)>,
    /// The highest revocation number seen in the database.
    high_water: i64,
}

/// How far back, besides every newer number, each load re-reads by the
/// database's clock (see `Db::revocations_after`).
pub const OVERLAP_MS: Millis = 30_000;

impl Revocations {
    /// Why the session was revoked, if it was.
    pub fn revoked(&self, session_id: &SessionId) -> Option<RevokeReason> {
        let set = self.inner.read().expect("revocation lock");
        set.revoked.get(session_id).map(|(_, reason)| *reason)
    }

    pub fn insert_all<'a>(
        &self,
        session_ids: impl IntoIterator<Item = &'a SessionId>,
        at: Millis,
        reason: RevokeReason,
    ) {
        let mut set = self.inner.write().expect("revocation lock");
        for id in session_ids {
            set.revoked.insert(id.clone(), (at, reason));
        }
    }

    /// Records that every row up to `seq` was read (account-change rows of
    /// the same log are handled elsewhere but are read all the same).
    pub fn advance(&self, seq: i64) {
        let mut set = self.inner.write().expect("revocation lock");
        set.high_water = set.high_water.max(seq);
    }

    /// The highest revocation number loaded so far.
    pub fn high_water(&self) -> i64 {
        self.inner.read().expect("revocation lock").high_water
    }

    /// Adds revocations loaded from the database, and forgets entries older
    /// than `forget_before`: by then every access token naming them has expired.
    pub fn merge(&self, rows: Vec<RevocationRow>, forget_before: Millis) -> usize {
        let mut set = self.inner.write().expect("revocation lock");
        let loaded = rows.len();
        for row in rows {
            set.high_water = set.high_water.max(row.seq);
            let reason = RevokeReason::parse(&row.reason).unwrap_or(RevokeReason::Revoked);
            set.revoked.insert(row.session_id, (row.revoked_at, reason));
        }
        set.revoked.retain(|_, (at, _)| *at > forget_before);
        loaded
    }

    pub fn len(&self) -> usize {
        self.inner.read().expect("revocation lock").revoked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
