//! Key reset: replacing this device's identity keys, with the old key
//! vouching for the new one so contacts can follow (after confirming the
//! new safety number).

use rand_core::CryptoRng;

use super::account::{login_body, registration};
use super::content::{Content, Profile};
use super::core::Engine;
use super::effects::{Effect, StoreOp, put};
use super::error::EngineError;
use super::model::{RotationRecord, key};
use super::prekeys::ONE_TIME_BATCH;
use crate::crypto::keys::IdentityKeyPair;
use crate::crypto::session::MemoryPreKeys;
use crate::protocol::auth::{
    CTX_SUCCESSOR, GateProof, LoginRequest, RegisterRequest, encode_b64, successor_statement,
};
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

/// A key reset in progress: the new identity, registered by the adapter
/// (with the current token as proof) before [`Engine::finish_rotation`].
pub(super) struct PendingRotation {
    pub(super) identity: IdentityKeyPair,
    pub(super) record: RotationRecord,
    /// Restored from storage: the page that started it went away before the
    /// relay's answer was recorded.
    pub(super) restored: bool,
}

impl Engine {
    /// Starts replacing this device's identity keys (suspected compromise, or
    /// a fresh start): contacts are told by a message the old key signs, and
    /// see a safety-number change they must acknowledge.
    pub fn begin_rotation<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Result<(), EngineError> {
        if self.rotation.is_some() {
            // Its registration may have reached the relay: never replace it.
            return Err(EngineError::ResetPending);
        }
        if !self.online || !self.outbox.is_empty() {
            return Err(EngineError::NotSettled);
        }
        let identity = IdentityKeyPair::generate(rng);
        let prekeys = MemoryPreKeys::generate(rng, &identity, ONE_TIME_BATCH);
        let signature = self
            .identity
            .sign(CTX_SUCCESSOR, &[&successor_statement(&identity.public())]);
        let record = RotationRecord {
            identity: identity.to_bytes().to_vec(),
            prekeys,
            signature,
        };
        // Stored before the adapter registers the new identity (it waits
        // for this write): the relay erases the old device on registration.
        self.pending.push(put(key::ROTATION.to_owned(), &record));
        self.commit();
        self.rotation = Some(PendingRotation {
            identity,
            record,
            restored: false,
        });
        Ok(())
    }

    /// A key reset that an earlier page load started and did not finish:
    /// the adapter tries [`Engine::rotation_login_request`] (the relay may
    /// have registered the new identity) and then finishes or cancels it.
    pub fn rotation_to_resume(&self) -> bool {
        self.rotation.as_ref().is_some_and(|r| r.restored)
    }

    /// The registration's outcome is unknown (no answer): from now on the
    /// reset is resumed like one restored from storage.
    pub fn rotation_unanswered(&mut self) {
        if let Some(r) = self.rotation.as_mut() {
            r.restored = true;
        }
    }

    /// The login body for the reset's new identity.
    pub fn rotation_login_request(&self, origin: &str, challenge: &str) -> Option<LoginRequest> {
        login_body(&self.rotation.as_ref()?.identity, origin, challenge)
    }

    /// The new identity's registration body (sent with the current token).
    pub fn rotation_registration_request(
        &self,
        origin: &str,
        challenge: &str,
    ) -> Option<RegisterRequest> {
        let r = self.rotation.as_ref()?;
        let gate = GateProof::Successor {
            signature: encode_b64(&r.record.signature),
        };
        registration(&r.identity, &r.record.prekeys, origin, challenge, gate)
    }

    /// The relay registered the new identity (and erased the old device):
    /// switch to it and start new sessions with every contact; the adapter
    /// then reconnects. False when no reset was in progress.
    pub fn finish_rotation(&mut self, token: String, expires_at: UnixMs) -> bool {
        let Some(r) = self.rotation.take() else {
            return false;
        };
        let old = self.device_id();
        self.identity = r.identity;
        self.account.identity = self.identity.to_bytes().to_vec();
        self.account.prekeys = r.record.prekeys.clone();
        self.pending.push(StoreOp::Delete(key::ROTATION.to_owned()));
        self.account.next_one_time_id = ONE_TIME_BATCH + 1;
        // Sessions and starts of the old identity are dead with it.
        self.account_keys.retired.clear();
        self.account_keys.starts.clear();
        self.save_account_keys();
        for (d, _) in std::mem::take(&mut self.archives) {
            self.pending.push(StoreOp::Delete(key::archive(&d)));
        }
        self.account.token = Some(token);
        self.account.token_expires_at = expires_at;
        self.save_account();
        self.replace_own_device(old);
        let name = self.account.name.clone();
        // Every device of every contact gets the successor statement first
        // (a contact's other devices pinned the old identity through its
        // account), and our sessions with them start anew.
        let devices: Vec<DeviceId> = self
            .contacts
            .keys()
            .chain(self.owners.keys())
            .copied()
            .collect();
        for d in &devices {
            if let Some(c) = self.contacts.get_mut(d) {
                c.initiator = true;
            }
            if let Some(c) = self.slot(d) {
                *c.session = None;
                c.waiting
                    .insert(0, Content::Profile(Profile { name: name.clone() }));
                c.waiting.insert(
                    0,
                    Content::Successor {
                        old,
                        signature: r.record.signature,
                    },
                );
            }
            self.save_device(d);
        }
        self.commit();
        self.online = false;
        self.effects.push_back(Effect::Changed);
        true
    }

    /// The user compared the changed safety number: sending is allowed again.
    pub fn acknowledge_identity(&mut self, peer: &DeviceId) -> Result<(), EngineError> {
        let c = self
            .contacts
            .get_mut(peer)
            .ok_or(EngineError::UnknownContact)?;
        c.identity_changed = false;
        self.save_contact(peer);
        self.commit();
        self.effects.push_back(Effect::Changed);
        Ok(())
    }
}
