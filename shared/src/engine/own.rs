//! This person's account (ADR 0016, ADR 0017): the account key, the device
//! list it signs, and publishing that list to the relay.
//!
//! Every device of an account holds the account key (linking hands it over;
//! a backup carries it), so any of them can change the list. A profile made
//! before accounts existed gets an account with itself as the only device
//! on its first connection ("upgrade in place"); its contacts learn the
//! account from the relay's `Stale` answer, bound to the device they pinned
//! at pairing by that device's own consent signature.

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::core::{Engine, StoreOp, put};
use super::error::EngineError;
use super::http::Purpose;
use super::model::ListProblem;
use super::model::{RECORD_VERSION, key};
use super::own_changes::OwnChange;
use crate::crypto::account::{
    AccountKeyPair, AccountPublic, DeviceEntry, DeviceList, SignedDeviceList, accept_newer,
};
use crate::crypto::codec::{self, bytes};
use crate::protocol::api::{Bytes, Endpoint as _, PutDeviceList};
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

/// The stored form: the account key, the list as signed, whether the relay
/// has it.
#[derive(Serialize, Deserialize)]
pub(crate) struct OwnAccountRecord {
    #[serde(with = "bytes")]
    key: Vec<u8>,
    list: SignedDeviceList,
    published: bool,
}

impl Drop for OwnAccountRecord {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

/// The account as the engine uses it.
pub(crate) struct OwnAccount {
    pub(crate) key: AccountKeyPair,
    pub(crate) list: DeviceList,
    pub(crate) signed: SignedDeviceList,
    /// The relay holds `signed` (else it is published on the next `Ready`).
    pub(crate) published: bool,
}

impl OwnAccount {
    pub(crate) fn decode(b: &[u8]) -> Result<Self, EngineError> {
        let r: OwnAccountRecord = codec::decode(RECORD_VERSION, b)?;
        let key =
            AccountKeyPair::from_bytes(&r.key).map_err(|e| EngineError::Corrupt(e.to_string()))?;
        let list = r
            .list
            .verify(&key.public())
            .map_err(|e| EngineError::Corrupt(e.to_string()))?;
        Ok(Self {
            key,
            list,
            signed: r.list.clone(),
            published: r.published,
        })
    }

    fn record(&self) -> OwnAccountRecord {
        OwnAccountRecord {
            key: self.key.to_bytes().to_vec(),
            list: self.signed.clone(),
            published: self.published,
        }
    }
}

impl Engine {
    /// This person's account key, once there is one.
    pub fn account_public(&self) -> Option<AccountPublic> {
        self.own.as_ref().map(|o| o.key.public())
    }

    /// This account's devices, as last signed (this device first if alone).
    pub fn own_devices(&self) -> Vec<DeviceId> {
        self.own.as_ref().map_or_else(Vec::new, |o| {
            o.list
                .devices()
                .iter()
                .map(DeviceEntry::device_id)
                .collect()
        })
    }

    /// This account's devices with the time each joined, as last signed.
    pub fn own_device_entries(&self) -> Vec<(DeviceId, UnixMs)> {
        self.own.as_ref().map_or_else(Vec::new, |o| {
            o.list
                .devices()
                .iter()
                .map(|d| (d.device_id(), d.created_at()))
                .collect()
        })
    }

    /// This account's current signed device list.
    pub fn own_signed_list(&self) -> Option<&SignedDeviceList> {
        self.own.as_ref().map(|o| &o.signed)
    }

    /// Whether the relay holds this account's current list.
    pub fn own_list_published(&self) -> bool {
        self.own.as_ref().is_some_and(|o| o.published)
    }

    /// On every `Ready`: a registered profile without an account gets one
    /// (itself its only device), unless it waits to be linked into an
    /// existing account; an unpublished list is published.
    pub(super) fn ensure_account<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, now: UnixMs) {
        if self.own.is_none() && !self.linking && self.account.registered && self.rotation.is_none()
        {
            let key = AccountKeyPair::generate(rng);
            let entry = DeviceEntry::link(&self.identity, &key.public(), now);
            let made = DeviceList::new(key.public(), 1, vec![entry])
                .and_then(|list| Ok((key.sign(&list)?, list)));
            if let Ok((signed, list)) = made {
                self.own = Some(OwnAccount {
                    key,
                    list,
                    signed,
                    published: false,
                });
                self.save_own();
            }
        }
        self.publish_own();
    }

    /// After a key reset: the new identity replaces `old` in the list (the
    /// relay erased `old` with the reset), under the next counter. It is
    /// the same browser, so it keeps the time it joined.
    pub(super) fn replace_own_device(&mut self, old: DeviceId) {
        let Some(own) = self.own.as_mut() else {
            return;
        };
        let Some(joined) = own.list.device(old).map(DeviceEntry::created_at) else {
            return;
        };
        let mut devices: Vec<DeviceEntry> = own
            .list
            .devices()
            .iter()
            .filter(|d| d.device_id() != old)
            .cloned()
            .collect();
        let entry = DeviceEntry::link(&self.identity, &own.key.public(), joined);
        devices.insert(0, entry.clone());
        let made = DeviceList::new(own.key.public(), own.list.counter() + 1, devices)
            .and_then(|list| Ok((own.key.sign(&list)?, list)));
        if let Ok((signed, list)) = made {
            own.list = list.clone();
            own.signed = signed;
            own.published = false;
            self.save_own();
            self.follow_own_list(&list);
            self.intend(OwnChange::Remove(old));
            self.intend(OwnChange::Add(entry));
        }
    }

    /// A new device's agreement to join `account` (the linking device puts
    /// it in the list it signs).
    pub fn consent(&self, account: &AccountPublic, now: UnixMs) -> DeviceEntry {
        DeviceEntry::link(&self.identity, account, now)
    }

    /// Adds a device that consented to this account: signs and publishes
    /// the next list.
    pub fn add_device(&mut self, entry: DeviceEntry) -> Result<SignedDeviceList, EngineError> {
        let own = self.own.as_ref().ok_or(EngineError::NoAccount)?;
        let mut devices = own.list.devices().to_vec();
        if devices.iter().any(|d| d.device_id() == entry.device_id()) {
            return Ok(own.signed.clone());
        }
        devices.push(entry.clone());
        self.intend(OwnChange::Add(entry));
        self.sign_own(devices)
    }

    /// Removes one of this account's other devices: the relay erases it
    /// when the new list is published, and contacts stop encrypting to it
    /// at their next send.
    pub fn remove_device(&mut self, device: DeviceId) -> Result<SignedDeviceList, EngineError> {
        if device == self.device_id() {
            return Err(EngineError::NoAccount);
        }
        let own = self.own.as_ref().ok_or(EngineError::NoAccount)?;
        let devices: Vec<DeviceEntry> = own
            .list
            .devices()
            .iter()
            .filter(|d| d.device_id() != device)
            .cloned()
            .collect();
        self.intend(OwnChange::Remove(device));
        self.sign_own(devices)
    }

    /// Before this device is deleted: the next list names the account's
    /// other devices only, and the relay erases this device when it stores
    /// that list (so contacts stop encrypting to it, and the others can
    /// still change the list). `Ok(false)`: this is the account's only
    /// device, there is nothing to publish (erasing it forgets the list).
    pub fn leave_account(&mut self) -> Result<bool, EngineError> {
        let me = self.device_id();
        let own = self.own.as_ref().ok_or(EngineError::NoAccount)?;
        let others: Vec<DeviceEntry> = own
            .list
            .devices()
            .iter()
            .filter(|d| d.device_id() != me)
            .cloned()
            .collect();
        if others.is_empty() {
            return Ok(false);
        }
        self.leaving = true;
        self.intend(OwnChange::Remove(me));
        self.sign_own(others)?;
        Ok(true)
    }

    /// Whether this device is leaving its account ([`Self::leave_account`]):
    /// the relay closing its connection as removed is then expected.
    pub fn is_leaving(&self) -> bool {
        self.leaving
    }

    /// Signs `devices` as the next list, stores it and publishes it.
    fn sign_own(&mut self, devices: Vec<DeviceEntry>) -> Result<SignedDeviceList, EngineError> {
        let own = self.own.as_mut().ok_or(EngineError::NoAccount)?;
        let list = DeviceList::new(own.key.public(), own.list.counter() + 1, devices)?;
        let signed = own.key.sign(&list)?;
        own.list = list.clone();
        own.signed = signed.clone();
        own.published = false;
        self.save_own();
        self.follow_own_list(&list);
        self.commit();
        self.publish_own();
        Ok(signed)
    }

    /// A new device takes the account it was linked into: the account key
    /// (from the linking device) and the list that names it.
    pub fn join_account(&mut self, key: &[u8], list: SignedDeviceList) -> Result<(), EngineError> {
        let key = AccountKeyPair::from_bytes(key)?;
        let checked = list.verify(&key.public())?;
        if checked.device(self.device_id()).is_none() {
            return Err(EngineError::NotListed);
        }
        self.follow_own_list(&checked);
        self.own = Some(OwnAccount {
            key,
            list: checked,
            signed: list,
            published: false,
        });
        self.linking = false;
        self.link_pin = None;
        self.pending.push(StoreOp::Delete(key::LINKING.to_owned()));
        self.save_own();
        self.commit();
        self.publish_own();
        Ok(())
    }

    /// A newer list of our own account, from the relay (another of our
    /// devices changed it): adopted if the account key signed it and it is
    /// newer than ours.
    pub(super) fn adopt_own_list(&mut self, signed: SignedDeviceList) -> Result<(), ListProblem> {
        let own = self.own.as_mut().ok_or(ListProblem::Forged)?;
        let list = signed.verify(&own.key.public())?;
        accept_newer(Some(&own.list), &list)?;
        own.list = list.clone();
        own.signed = signed;
        own.published = true;
        self.save_own();
        self.follow_own_list(&list);
        Ok(())
    }

    /// The account key's storage form, for a device being linked (it never
    /// goes anywhere else but into an encrypted backup).
    pub fn account_key_bytes(&self) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        self.own.as_ref().map(|o| o.key.to_bytes())
    }

    pub(super) fn publish_own(&mut self) {
        let Some(own) = self.own.as_ref().filter(|o| !o.published) else {
            return;
        };
        if !self.online {
            return;
        }
        let req = PutDeviceList {
            account: own.key.public().id(),
        }
        .request(&Bytes(own.signed.to_bytes()));
        self.http(Purpose::PublishList, req);
    }

    pub(super) fn save_own(&mut self) {
        if let Some(own) = &self.own {
            self.pending
                .push(put(key::OWN_ACCOUNT.to_owned(), &own.record()));
        }
    }
}
