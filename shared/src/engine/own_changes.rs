//! Changes to our own device list that the relay has not taken yet, kept
//! as intents (add this device, remove that one) so that a change made on a
//! device whose list is out of date is not lost: when the relay refuses the
//! list because another of our devices published a newer one (409), the
//! engine fetches that list, checks it under the account key, applies the
//! intents on top and publishes the result under the next counter.

use serde::{Deserialize, Serialize};

use super::core::{Engine, StoreOp, put};
use super::http::{Purpose, Reply};
use super::model::{RECORD_VERSION, key};
use crate::crypto::account::{DeviceEntry, DeviceList, SignedDeviceList};
use crate::crypto::codec;
use crate::protocol::ErrorCode;
use crate::protocol::api::{Endpoint as _, GetDeviceList, PutDeviceList};
use crate::protocol::ws::DeviceId;

/// Rebases tried before giving up until the next connection.
const MAX_REBASES: u8 = 3;

/// One intended change to our own list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OwnChange {
    /// A device that consented joins.
    Add(DeviceEntry),
    /// A device leaves.
    Remove(DeviceId),
}

impl OwnChange {
    fn apply(&self, devices: &mut Vec<DeviceEntry>) {
        match self {
            Self::Add(e) => {
                if !devices.iter().any(|d| d.device_id() == e.device_id()) {
                    devices.push(e.clone());
                }
            }
            Self::Remove(id) => devices.retain(|d| d.device_id() != *id),
        }
    }
}

pub(super) fn decode(b: &[u8]) -> Result<Vec<OwnChange>, super::error::EngineError> {
    Ok(codec::decode(RECORD_VERSION, b)?)
}

impl Engine {
    /// Remembers a change until the relay has a list with it.
    pub(super) fn intend(&mut self, change: OwnChange) {
        self.own_changes.push(change);
        self.save_own_changes();
    }

    fn save_own_changes(&mut self) {
        if self.own_changes.is_empty() {
            self.pending
                .push(StoreOp::Delete(key::OWN_CHANGES.to_owned()));
        } else {
            self.pending
                .push(put(key::OWN_CHANGES.to_owned(), &self.own_changes));
        }
    }

    /// The relay's answer to publishing our list.
    pub(super) fn own_list_answered(&mut self, reply: &Reply) {
        match super::http::decode::<PutDeviceList>(reply) {
            Ok(_) => {
                if let Some(own) = self.own.as_mut() {
                    own.published = true;
                }
                self.own_changes.clear();
                self.rebases = 0;
                self.save_own();
                self.save_own_changes();
                self.commit();
                self.flush_outbox();
            }
            // Another of our devices published first: build on its list.
            Err(f) if f.is(ErrorCode::Conflict) && self.rebases < MAX_REBASES => {
                self.rebases += 1;
                if let Some(account) = self.account_public().map(|a| a.id()) {
                    let req = GetDeviceList { account }.request(&());
                    self.http(Purpose::OwnRebase, req);
                }
            }
            // Anything else: published again on the next `Ready`.
            Err(_) => {}
        }
    }

    /// The relay's current list, to apply our intents on.
    pub(super) fn own_rebase(&mut self, reply: &Reply) {
        let Ok(bytes) = super::http::decode::<GetDeviceList>(reply) else {
            return;
        };
        let Some(own) = self.own.as_ref() else {
            return;
        };
        let Ok(signed) = SignedDeviceList::from_bytes(&bytes.0) else {
            return;
        };
        let Ok(base) = signed.verify(&own.key.public()) else {
            return;
        };
        if base.device(self.device_id()).is_none() {
            // Removed by another device: the relay erased this one.
            self.own_changes.clear();
            self.save_own_changes();
            self.commit();
            return;
        }
        let mut devices = base.devices().to_vec();
        for c in &self.own_changes {
            c.apply(&mut devices);
        }
        let key = &own.key;
        let next = if devices == base.devices() {
            Ok((signed, base))
        } else {
            DeviceList::new(key.public(), base.counter() + 1, devices)
                .and_then(|list| Ok((key.sign(&list)?, list)))
        };
        let Ok((signed, list)) = next else {
            return;
        };
        // (Intents already in the relay's list: it is published again as it
        // is, which the relay answers as a resend.)
        if let Some(own) = self.own.as_mut() {
            own.list = list.clone();
            own.signed = signed;
            own.published = false;
        }
        self.save_own();
        self.follow_own_list(&list);
        self.commit();
        self.publish_own();
    }
}
