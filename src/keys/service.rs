//! Moving signing keys through their states, shared by every instance:
//! the first key at start-up, publication before use, promotion, the
//! overlap during which a former key still verifies, retirement, and the
//! emergency revocation. Times are the database's clock, so instances
//! agree on when a standby key may start signing.
//!
//! Rotation with overlap follows the key-rollover practice of RFC 7517 §5
//! and OpenID Connect Core §10.1.1: a new key is published at least one
//! JWKS cache lifetime before it signs, so no verifier meets an unknown kid.

use super::{
    ring::{self, Keyring, EDDSA, HS256},
    KeyError, KeyState,
};
use crate::{
    clock::{millis, Millis},
    config::Config,
    keys::claims::LEEWAY_SECS,
    store::{keys::KeyRow, Db},
};
use std::sync::Arc;

/// What `rotate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// This standby key signs from now on.
    Promoted { kid: String },
    /// This standby key is published and starts signing at `at`.
    Pending { kid: String, at: Millis },
}

#[derive(Clone, Debug)]
pub struct KeyService {
    db: Db,
    config: Arc<Config>,
    ring: Arc<Keyring>,
}

fn oldest(rows: &[KeyRow], state: KeyState) -> Option<&KeyRow> {
    rows.iter()
        .filter(|r| r.state == state)
        .min_by_key(|r| (r.created_at, r.kid.clone()))
}

impl KeyService {
    pub fn new(db: Db, config: Arc<Config>, ring: Arc<Keyring>) -> Self {
        Self { db, config, ring }
    }

    /// How long a key that stops signing keeps verifying: the longest-lived
    /// token it may have signed (including by an instance that has not yet
    /// seen the change), plus the clock leeway.
    fn overlap_ms(&self) -> Millis {
        let l = &self.config.lifetimes;
        millis(l.access) + millis(l.revocation_poll) + LEEWAY_SECS as Millis * 1000
    }

    fn publication_ms(&self) -> Millis {
        millis(self.config.lifetimes.jwks_max_age)
    }

    fn new_key(&self, state: KeyState, now: Millis, activate_at: Option<Millis>) -> KeyRow {
        let (kid, public_key, sealed) = ring::generate(self.ring.sealer());
        KeyRow {
            kid,
            alg: EDDSA.to_owned(),
            state,
            public_key,
            private_key: Some(sealed),
            created_at: now,
            activate_at,
            activated_at: (state == KeyState::Current).then_some(now),
            verify_until: None,
        }
    }

    /// At a server's start: makes sure a key signs, then loads the set. The first
    /// start of a deployment that signed with HS256 keeps accepting those
    /// tokens until they have all expired, so the upgrade signs nobody out.
    pub async fn start(&self) -> Result<(), KeyError> {
        let now = self.db.now().await?;
        if !self.db.any_signing_key().await? && self.db.any_open_session().await? {
            let legacy = KeyRow {
                kid: ring::legacy_kid(&self.config.secret),
                alg: HS256.to_owned(),
                state: KeyState::Previous,
                public_key: Vec::new(),
                private_key: None,
                created_at: now,
                activate_at: None,
                activated_at: None,
                verify_until: Some(now + self.overlap_ms()),
            };
            self.db.insert_signing_key(&legacy).await?;
        }
        let rows = self.db.signing_keys().await?;
        if oldest(&rows, KeyState::Current).is_none() {
            // Nobody can have cached a set without a signing key, so the
            // first key signs at once. Racing instances make one.
            if self
                .db
                .insert_signing_key(&self.new_key(KeyState::Current, now, None))
                .await?
            {
                tracing::info!("created the first signing key");
            }
        }
        self.sync().await?;
        Ok(())
    }

    /// Loads the stored set into the ring; whether it changed.
    pub async fn sync(&self) -> Result<bool, KeyError> {
        let rows = self.db.signing_keys().await?;
        self.ring.install(&rows)
    }

    /// The periodic work of every instance: promotes a standby key whose
    /// time has come, retires previous keys whose tokens have expired,
    /// publishes the next key ahead of an automatic rotation, then loads
    /// the set.
    pub async fn tick(&self) -> Result<bool, KeyError> {
        match self.move_keys().await {
            Ok(rows) => self.ring.install(&rows),
            // The set is loaded even when a move failed: a revocation made
            // elsewhere must never wait on this instance's own chores.
            Err(err) => {
                let _ = self.sync().await;
                Err(err)
            }
        }
    }

    /// Makes the moves that are due; the stored rows afterwards (the ones
    /// just read when nothing moved).
    async fn move_keys(&self) -> Result<Vec<KeyRow>, KeyError> {
        let rows = self.db.signing_keys().await?;
        let now = self.db.now().await?;
        let mut changed = false;
        if let Some(standby) =
            oldest(&rows, KeyState::Standby).filter(|k| k.activate_at.is_some_and(|at| at <= now))
        {
            changed |= self
                .db
                .promote_signing_key(&standby.kid, now, self.overlap_ms(), true)
                .await?;
            if changed {
                tracing::info!(kid = %standby.kid, "signing key promoted");
            }
        }
        if rows
            .iter()
            .any(|r| r.state == KeyState::Previous && r.verify_until.is_some_and(|t| t <= now))
        {
            changed |= self.db.retire_signing_keys(now).await? > 0;
        }
        let rotation = millis(self.config.lifetimes.key_rotation);
        if let (true, Some(current), None) = (
            rotation > 0,
            oldest(&rows, KeyState::Current),
            oldest(&rows, KeyState::Standby),
        ) {
            let due = current.activated_at.unwrap_or(current.created_at) + rotation;
            if due - self.publication_ms() <= now {
                let at = due.max(now + self.publication_ms());
                changed |= self
                    .db
                    .insert_signing_key(&self.new_key(KeyState::Standby, now, Some(at)))
                    .await?;
            }
        }
        if changed {
            self.db.announce_key_change().await?;
            return Ok(self.db.signing_keys().await?);
        }
        Ok(rows)
    }

    /// The current key's age, and the time until it is due to be replaced
    /// (`None` with automatic rotation off), by the database's clock;
    /// `None` without a current key.
    pub async fn schedule(&self) -> Result<Option<(Millis, Option<Millis>)>, KeyError> {
        let rows = self.db.signing_keys().await?;
        let now = self.db.now().await?;
        let Some(current) = oldest(&rows, KeyState::Current) else {
            return Ok(None);
        };
        let since = current.activated_at.unwrap_or(current.created_at);
        let rotation = millis(self.config.lifetimes.key_rotation);
        let due_in = (rotation > 0).then(|| (since + rotation - now).max(0));
        Ok(Some(((now - since).max(0), due_in)))
    }

    /// `gatehouse keys rotate`: the oldest standby key that has been
    /// published for the JWKS cache lifetime signs from now on; otherwise a
    /// standby key is published (unless one already waits) and starts
    /// signing once it has been published that long.
    pub async fn rotate(&self) -> Result<Rotation, KeyError> {
        let rows = self.db.signing_keys().await?;
        let now = self.db.now().await?;
        let published_for = self.publication_ms();
        // At most one standby key exists (`signing_keys_one_standby`).
        let standby = match oldest(&rows, KeyState::Standby) {
            Some(ready) if ready.created_at + published_for <= now => ready.clone(),
            Some(waiting) => {
                return Ok(Rotation::Pending {
                    kid: waiting.kid.clone(),
                    at: waiting
                        .activate_at
                        .unwrap_or(waiting.created_at + published_for),
                })
            }
            None => {
                let key = self.new_key(KeyState::Standby, now, Some(now + published_for));
                if !self.db.insert_signing_key(&key).await? {
                    // Another instance published one meanwhile.
                    return Err(KeyError::Changed(key.kid));
                }
                self.db.announce_key_change().await?;
                if published_for > 0 {
                    self.sync().await?;
                    return Ok(Rotation::Pending {
                        kid: key.kid,
                        at: now + published_for,
                    });
                }
                key
            }
        };
        if !self
            .db
            .promote_signing_key(&standby.kid, now, self.overlap_ms(), false)
            .await?
        {
            return Err(KeyError::Changed(standby.kid));
        }
        self.db.announce_key_change().await?;
        self.sync().await?;
        Ok(Rotation::Promoted { kid: standby.kid })
    }

    /// `gatehouse keys revoke <kid>`: the key's tokens are refused at once
    /// by every instance (at its next poll, or at once on PostgreSQL); if
    /// it was signing, another key takes over first, so signing never
    /// stops. Sessions carry on through a silent refresh.
    pub async fn revoke(&self, kid: &str) -> Result<KeyState, KeyError> {
        let all = self.db.signing_keys().await?;
        let row = all
            .iter()
            .find(|r| r.kid == kid)
            .ok_or_else(|| KeyError::UnknownKey(kid.to_owned()))?;
        let state = row.state;
        if !state.verifies() {
            return Err(KeyError::Ended(kid.to_owned(), state.as_str()));
        }
        let now = self.db.now().await?;
        let mut revoked_state = state;
        if state == KeyState::Current {
            // An emergency: the oldest standby key takes over at once, or a
            // new one; verifiers that have not seen it refetch the set on
            // its unknown kid.
            let successor = match oldest(&all, KeyState::Standby) {
                Some(standby) => standby.kid.clone(),
                None => {
                    let key = self.new_key(KeyState::Standby, now, Some(now));
                    self.db.insert_signing_key(&key).await?;
                    key.kid
                }
            };
            if !self
                .db
                .promote_signing_key(&successor, now, self.overlap_ms(), false)
                .await?
            {
                return Err(KeyError::Changed(kid.to_owned()));
            }
            revoked_state = KeyState::Previous;
        }
        if !self.db.revoke_signing_key(kid, revoked_state, now).await? {
            return Err(KeyError::Changed(kid.to_owned()));
        }
        tracing::warn!(kid, "signing key revoked");
        self.db.announce_key_change().await?;
        self.sync().await?;
        Ok(state)
    }

    /// Every key, oldest first (no private keys).
    pub async fn list(&self) -> Result<Vec<KeyRow>, KeyError> {
        let rows = self.db.signing_keys().await?;
        Ok(rows
            .into_iter()
            .map(|row| KeyRow {
                private_key: None,
                ..row
            })
            .collect())
    }
}
