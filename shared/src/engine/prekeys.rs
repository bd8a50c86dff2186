//! The life of this device's prekeys: one-time prekeys refilled from the
//! relay's count (a stranger fetching bundles drains the relay's copy, not
//! ours), and the signed and ML-KEM "last resort" prekeys rotated on a
//! schedule, with each retired secret deleted after a grace period so a
//! stolen device cannot decrypt old session starts (Signal's PQXDH §4.2
//! recommends periodic replacement and deletion of signed prekeys).

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::core::{Engine, put};
use super::model::key;
use crate::crypto::keys::OneTimePreKey;
use crate::crypto::session::{MemoryPreKeys, Start};
use crate::protocol::auth::{
    KeyUpload, LOW_PREKEY_THRESHOLD, MAX_ONE_TIME_PREKEYS_PER_DEVICE, PreKeyStatus,
};
use crate::time::{Millis, UnixMs};

/// One-time prekeys generated per batch.
pub const ONE_TIME_BATCH: u32 = 100;
/// Unused one-time prekeys kept at most: beyond it the oldest go (the relay
/// handed them to someone who never used them).
pub const MAX_LOCAL_ONE_TIME: usize = MAX_ONE_TIME_PREKEYS_PER_DEVICE as usize;
/// A new signed and ML-KEM prekey this often, ms.
pub const ROTATE_MS: Millis = Millis::from_secs(7 * 86_400);
/// A retired signed or ML-KEM prekey's secret is kept this long, ms, so a
/// session start sent just before the rotation and queued by the relay
/// (envelopes live 30 days by default) still decrypts.
pub const RETIRED_KEEP_MS: Millis = Millis::from_secs(30 * 86_400);
/// The adapter asks the relay for the prekey status this often, ms (and on
/// every connection): the bound on how long a drained relay stays empty.
pub const CHECK_MS: Millis = Millis::from_secs(10 * 60);

/// A signed/ML-KEM prekey pair replaced by a newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Retired {
    pub signed_prekey_id: u32,
    pub pq_prekey_id: u32,
    /// Unix ms of the rotation that replaced it.
    pub at: UnixMs,
}

/// Prekey schedule and accepted session starts (record `keys`). Kept apart
/// from the account record so profiles from before it load unchanged.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct KeysRecord {
    /// When the current signed prekey was made (the epoch: unknown, i.e. a
    /// profile from before rotation existed: it rotates at the first check).
    pub rotated_at: UnixMs,
    pub retired: Vec<Retired>,
    pub starts: Vec<Start>,
}

impl Engine {
    /// The adapter should ask the relay for [`PreKeyStatus`] (on `Ready`
    /// and every [`CHECK_MS`]) and pass it to [`Engine::prekey_status`].
    pub(super) fn check_prekeys(&mut self, now: UnixMs) {
        self.next_prekey_check = now.saturating_add(CHECK_MS);
        self.request_prekey_status();
    }

    /// The relay's view of our prekeys (from `GET /prekeys/status` or the
    /// answer to an upload): rotates what is due, deletes retired secrets
    /// past their grace, and uploads whatever the relay lacks.
    pub fn prekey_status<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        status: &PreKeyStatus,
        now: UnixMs,
    ) {
        let rotated = self.rotate_if_due(rng, now);
        self.delete_retired(now);
        let p = &self.account.prekeys;
        let stale = p.signed.last().map(|k| k.id) != Some(status.signed_prekey_id)
            || p.pq.last().map(|k| k.id) != Some(status.pq_prekey_id);
        let batch = if status.refill || status.one_time_prekeys < LOW_PREKEY_THRESHOLD {
            self.new_one_time_batch(rng)
        } else {
            Vec::new()
        };
        self.save_account();
        self.commit();
        if (rotated || stale || !batch.is_empty())
            && let Some(upload) = key_upload(&self.account.prekeys, batch.iter())
        {
            self.upload_prekeys(upload);
        }
    }

    /// Makes a new signed and ML-KEM prekey when the current ones are older
    /// than [`ROTATE_MS`]; the old ones are retired, not yet deleted.
    fn rotate_if_due<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, now: UnixMs) -> bool {
        let since = self.account_keys.rotated_at;
        if since != UnixMs::EPOCH && now.since(since) < ROTATE_MS {
            return false;
        }
        let p = &mut self.account.prekeys;
        let (Some(spk), Some(pq)) = (p.signed.last(), p.pq.last()) else {
            return false;
        };
        let retired = Retired {
            signed_prekey_id: spk.id,
            pq_prekey_id: pq.id,
            at: now,
        };
        let next_spk = p
            .signed
            .iter()
            .map(|k| k.id)
            .max()
            .unwrap_or(0)
            .wrapping_add(1);
        let next_pq = p.pq.iter().map(|k| k.id).max().unwrap_or(0).wrapping_add(1);
        p.signed.push(self.identity.signed_prekey(rng, next_spk));
        p.pq.push(self.identity.pq_prekey(rng, next_pq));
        self.account_keys.retired.push(retired);
        self.account_keys.rotated_at = now;
        self.save_account_keys();
        true
    }

    /// Deletes retired prekey secrets older than [`RETIRED_KEEP_MS`], and
    /// the remembered starts that used them (they can no longer be accepted).
    fn delete_retired(&mut self, now: UnixMs) {
        let (gone, kept): (Vec<Retired>, Vec<Retired>) = self
            .account_keys
            .retired
            .iter()
            .partition(|r| now.since(r.at) >= RETIRED_KEEP_MS);
        if gone.is_empty() {
            return;
        }
        let p = &mut self.account.prekeys;
        for r in &gone {
            p.signed.retain(|k| k.id != r.signed_prekey_id);
            p.pq.retain(|k| k.id != r.pq_prekey_id);
        }
        let live: Vec<u32> = p.signed.iter().map(|k| k.id).collect();
        self.account_keys
            .starts
            .retain(|s| live.contains(&s.signed_prekey_id));
        self.account_keys.retired = kept;
        self.save_account_keys();
    }

    /// A batch of new one-time prekeys, added to the local set (which keeps
    /// at most [`MAX_LOCAL_ONE_TIME`], dropping the oldest).
    fn new_one_time_batch<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) -> Vec<OneTimePreKey> {
        let first = self.account.next_one_time_id;
        let batch = OneTimePreKey::batch(rng, first, ONE_TIME_BATCH);
        self.account.next_one_time_id = first.wrapping_add(ONE_TIME_BATCH);
        let local = &mut self.account.prekeys.one_time;
        local.extend(batch.iter().cloned());
        if local.len() > MAX_LOCAL_ONE_TIME {
            let extra = local.len() - MAX_LOCAL_ONE_TIME;
            local.drain(..extra);
        }
        batch
    }

    /// Replaces used one-time prekeys when few are left locally (sessions
    /// consumed them); the relay's count is checked by `prekey_status`.
    pub(super) fn maybe_refill<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) {
        if self.account.prekeys.one_time.len() >= LOW_PREKEY_THRESHOLD as usize {
            return;
        }
        let batch = self.new_one_time_batch(rng);
        let upload = key_upload(&self.account.prekeys, batch.iter());
        self.save_account();
        self.commit();
        if let Some(upload) = upload {
            self.upload_prekeys(upload);
        }
    }

    pub(super) fn save_account_keys(&mut self) {
        self.pending
            .push(put(key::KEYS.to_owned(), &self.account_keys));
    }
}

/// What `PUT /prekeys` carries: the current signed and ML-KEM prekeys plus
/// `one_time`. `None` only for a record without prekeys, which is never made.
pub(super) fn key_upload<'a>(
    p: &MemoryPreKeys,
    one_time: impl Iterator<Item = &'a OneTimePreKey>,
) -> Option<KeyUpload> {
    Some(KeyUpload {
        signed_prekey: p.signed.last()?.public(),
        pq_prekey: p.pq.last()?.public(),
        one_time_prekeys: one_time.map(OneTimePreKey::public).collect(),
    })
}
