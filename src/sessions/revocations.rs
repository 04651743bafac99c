//! Session ids revoked recently enough that access tokens naming them may
//! still be unexpired. Checked on every request, so revocation takes effect
//! at once without a database read per request; other instances' revocations
//! arrive through [`super::service::SessionService::sync_revocations`].

use super::events::RevokeReason;
use crate::{clock::Millis, ids::SessionId};
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
    /// The newest `revoked_at` seen in the database.
    high_water: Millis,
}

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

    /// Where the next load from the database starts: the newest revocation
    /// seen, less a little overlap for clock differences between instances;
    /// `floor` on the first load.
    pub fn load_from(&self, floor: Millis) -> Millis {
        let set = self.inner.read().expect("revocation lock");
        if set.high_water == 0 {
            floor
        } else {
            set.high_water - 5_000
        }
    }

    /// Adds revocations loaded from the database, and forgets entries older
    /// than `forget_before`: by then every access token naming them has expired.
    pub fn merge(
        &self,
        rows: Vec<(SessionId, Millis, Option<String>)>,
        forget_before: Millis,
    ) -> usize {
        let mut set = self.inner.write().expect("revocation lock");
        let loaded = rows.len();
        for (id, at, reason) in rows {
            set.high_water = set.high_water.max(at);
            let reason = reason
                .as_deref()
                .and_then(RevokeReason::parse)
                .unwrap_or(RevokeReason::Revoked);
            set.revoked.insert(id, (at, reason));
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
