//! Linking a new browser into one's account (ADR 0022), over the pairing
//! protocol and its MITM protection.
//!
//! The new device shows the code (it is the inviter: QR/link and PIN); an
//! existing device of the account scans or types it. The pairing hellos,
//! each signed by its device over the pairing transcript, carry a
//! [`LinkProfile`] instead of a display name:
//!
//! 1. the existing device's reply names the account it asks the new device
//!    to join ([`LinkProfile::Offer`]);
//! 2. the new device answers with its consent to that account
//!    ([`LinkProfile::Consent`]), a [`DeviceEntry`] it signed, and pins the
//!    existing device as the one its account key and history will come
//!    from;
//! 3. the existing device checks the consent against the peer the pairing
//!    authenticated, signs and publishes the next device list with it, and
//!    sends the history archive (the backup contents, under a random key)
//!    through the attachment path; the key travels in a ratchet message to
//!    the new device, the relay deletes the object once it is fetched
//!    (`handover`);
//! 4. the new device takes the archive in like a restore: the account key
//!    must be the one pinned in step 2.
//!
//! A contact invite answered with a link profile, or a link code answered
//! as a contact, fails the pairing ([`PairingError::WrongPurpose`]): a
//! mis-scan never makes one's own device a "contact", nor a stranger a
//! device of the account.

pub mod handover;

use serde::{Deserialize, Serialize};

use super::backup::BackupContents;
use super::core::{Effect, Engine, put};
use super::error::EngineError;
use super::model::{RECORD_VERSION, key};
use super::peers::PeerDevice;
use super::restore::RestoreError;
use crate::crypto::account::{AccountError, AccountKeyPair, AccountPublic, DeviceEntry};
use crate::crypto::codec::{self, fixed};
use crate::crypto::keys::IdentityPublic;
use crate::crypto::pairing::{Paired, PairingError};
use crate::protocol::api;
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

/// Marks a pairing profile as a link profile (a contact's profile never
/// starts with it: those are codec-encoded, starting with their version).
const MAGIC: &[u8] = b"parley-link:";
const VERSION_PROFILE: u8 = 1;

/// What the pairing hellos of a device link carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum LinkProfile {
    /// From the existing device: join this account.
    Offer {
        /// The account.
        account: AccountPublic,
    },
    /// From the new device: its signed consent to join it.
    Consent(DeviceEntry),
}

impl LinkProfile {
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(codec::encode(VERSION_PROFILE, self));
        out
    }

    fn from_bytes(b: &[u8]) -> Option<Self> {
        codec::decode(VERSION_PROFILE, b.strip_prefix(MAGIC)?).ok()
    }
}

/// Whether a pairing profile is a device link's (refused where a contact
/// is being added).
pub(crate) fn is_link_profile(b: &[u8]) -> bool {
    b.starts_with(MAGIC)
}

/// Where to fetch the history archive and how to open it (inside a ratchet
/// message from the linking device only).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverOffer {
    /// Relay object id.
    pub object: String,
    /// The archive's STREAM key.
    #[serde(with = "fixed")]
    pub key: [u8; 32],
    /// SHA-256 of the ciphertext.
    #[serde(with = "fixed")]
    pub digest: [u8; 32],
    /// Plaintext size, bytes.
    pub size: u64,
    /// When the relay deletes the object.
    pub expires_at: UnixMs,
}

impl core::fmt::Debug for HandoverOffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HandoverOffer")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Drop for HandoverOffer {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

/// The new device's side of a link, stored in the `linking` record: who
/// links it into which account, and the archive once announced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LinkPin {
    linker: IdentityPublic,
    account: AccountPublic,
    offer: Option<HandoverOffer>,
}

impl LinkPin {
    pub(crate) fn decode(b: &[u8]) -> Result<Option<Self>, EngineError> {
        if b.is_empty() {
            return Ok(None);
        }
        Ok(Some(codec::decode(RECORD_VERSION, b)?))
    }
}

/// Why a link did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Linking another device needs this device's account.
    #[error("this device has no account yet; wait until it is connected, then try again")]
    NoAccount,
    /// Only a new device, registered and not yet in an account, is linked.
    #[error("only a new device can be linked into an account")]
    NotNew,
    /// The other side's answer is not a device link's.
    #[error(transparent)]
    Pairing(#[from] PairingError),
    /// The new device's consent does not check.
    #[error("the new device's consent does not check: {0}")]
    Consent(AccountError),
    /// The device is not (or no longer) in this account.
    #[error("that device is not in this account")]
    NotListed,
    /// The archive is for another account than the one linked into.
    #[error("the history archive is for another account")]
    WrongAccount,
    /// The archive does not decrypt or decode.
    #[error("the history archive is damaged: {0}")]
    Damaged(String),
    /// The archive is gone (deleted or expired): link again.
    #[error("the history archive is no longer on the relay; link this device again")]
    Gone,
    /// Storage failed.
    #[error(transparent)]
    Blob(#[from] super::flow::BlobError),
    /// The relay refused or could not be reached.
    #[error(transparent)]
    Relay(#[from] api::Failure),
    /// Taking the archive in failed.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// The engine refused.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Engine {
    /// The existing device's pairing profile: the account to join.
    pub(crate) fn link_offer(&self) -> Result<Vec<u8>, LinkError> {
        let account = self.account_public().ok_or(LinkError::NoAccount)?;
        Ok(LinkProfile::Offer { account }.to_bytes())
    }

    /// Whether this device can be linked (new, registered, no account).
    pub fn can_be_linked(&self) -> bool {
        self.linking && self.own.is_none() && self.contacts.is_empty()
    }

    /// The new device's answer to an existing device's offer: its consent.
    pub(crate) fn link_consent(&self, peer: &Paired, now: UnixMs) -> Result<Vec<u8>, PairingError> {
        if !self.can_be_linked() {
            return Err(PairingError::WrongPurpose);
        }
        match LinkProfile::from_bytes(&peer.profile) {
            Some(LinkProfile::Offer { account }) => {
                Ok(LinkProfile::Consent(self.consent(&account, now)).to_bytes())
            }
            _ => Err(PairingError::WrongPurpose),
        }
    }

    /// The new device, paired: pins the linking device and the account; a
    /// session slot for the linking device takes its messages.
    pub(crate) fn pin_linker(&mut self, peer: &Paired) -> Result<(), LinkError> {
        let Some(LinkProfile::Offer { account }) = LinkProfile::from_bytes(&peer.profile) else {
            return Err(PairingError::WrongPurpose.into());
        };
        // A second link replaces an unfinished first one.
        self.own_devices.clear();
        let pin = LinkPin {
            linker: peer.peer.clone(),
            account,
            offer: None,
        };
        self.own_devices.insert(
            peer.peer.device_id(),
            PeerDevice {
                identity: peer.peer.clone(),
                session: None,
                waiting: Vec::new(),
                seen: Default::default(),
            },
        );
        self.save_own_devices();
        self.link_pin = Some(pin);
        self.save_link_pin();
        self.commit();
        self.effects.push_back(Effect::Changed);
        Ok(())
    }

    /// The existing device, paired: the new device's consent goes into the
    /// next list (signed and published now).
    pub(crate) fn accept_consent(&mut self, peer: &Paired) -> Result<DeviceId, LinkError> {
        let account = self.account_public().ok_or(LinkError::NoAccount)?;
        let Some(LinkProfile::Consent(entry)) = LinkProfile::from_bytes(&peer.profile) else {
            return Err(PairingError::WrongPurpose.into());
        };
        if entry.identity() != &peer.peer {
            return Err(LinkError::Consent(AccountError::DeviceNotLinked(
                entry.device_id(),
            )));
        }
        entry.check_link(&account).map_err(LinkError::Consent)?;
        let device = entry.device_id();
        self.add_device(entry)?;
        Ok(device)
    }

    /// The linked device's archive, once the linking device announced it.
    pub fn handover_offer(&self) -> Option<HandoverOffer> {
        self.link_pin.as_ref().and_then(|p| p.offer.clone())
    }

    /// Whether this new device was paired with a linking device and waits
    /// for its archive.
    pub fn link_pinned(&self) -> bool {
        self.link_pin.is_some() && self.own.is_none()
    }

    /// The linking device announced the archive (only it may).
    pub(super) fn handover_arrived(&mut self, from: &DeviceId, offer: HandoverOffer) {
        let Some(pin) = self.link_pin.as_mut() else {
            return;
        };
        if pin.linker.device_id() != *from || self.own.is_some() {
            return;
        }
        pin.offer = Some(offer);
        self.save_link_pin();
        self.commit();
        self.effects.push_back(Effect::Changed);
    }

    /// The existing device: tells the new one where the archive is.
    pub(crate) fn send_handover<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        device: &DeviceId,
        offer: HandoverOffer,
    ) -> Result<(), LinkError> {
        if !self.own_devices.contains_key(device) {
            return Err(LinkError::NotListed);
        }
        self.encrypt_for(rng, device, super::content::Content::Handover(offer), None)?;
        self.flush_outbox();
        Ok(())
    }

    /// The new device: the archive, decrypted, is taken in like a restore
    /// once its account key is the pinned one.
    pub(crate) fn take_handover(&mut self, contents: BackupContents) -> Result<(), LinkError> {
        let pin = self.link_pin.as_ref().ok_or(LinkError::NotNew)?;
        let key = AccountKeyPair::from_bytes(&contents.account_key)
            .map_err(|e| LinkError::Damaged(e.to_string()))?;
        if key.public() != pin.account {
            return Err(LinkError::WrongAccount);
        }
        self.restore(contents)?;
        Ok(())
    }

    pub(super) fn save_link_pin(&mut self) {
        if let Some(pin) = &self.link_pin {
            self.pending.push(put(key::LINKING.to_owned(), pin));
        }
    }
}

#[cfg(test)]
mod tests;
