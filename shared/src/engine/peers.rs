//! A contact's account and its devices (ADR 0017): which account key is
//! pinned for the contact, the list last adopted, and the account's devices
//! other than the one paired with, each with its own session.
//!
//! A contact is first a device (the one paired with, which keys the
//! conversation). The account is learned from the relay's `Stale` answer,
//! and pinned only if the paired device itself signed its consent to that
//! account: the relay cannot attach a device to an account of its choosing.
//! Later lists must be signed by the pinned key and newer than the last one
//! adopted; a lower counter (rollback) or another list under the same
//! counter (equivocation) is shown and refused.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::content::Content;
use super::core::{Engine, put};
use super::error::EngineError;
use super::model::{ListProblem, RECORD_VERSION, key};
use crate::crypto::account::{
    AccountError, AccountPublic, Change, DeviceEntry, DeviceList, SignedDeviceList, accept_newer,
};
use crate::crypto::codec;
use crate::crypto::keys::IdentityPublic;
use crate::crypto::session::Session;
use crate::map::Map;
use crate::protocol::ws::{DeviceId, EnvelopeId};

/// One device of a contact's account other than the paired one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PeerDevice {
    pub(crate) identity: IdentityPublic,
    pub(crate) session: Option<Session>,
    /// Contents waiting for a session with this device.
    pub(crate) waiting: Vec<Content>,
    /// Recently processed envelope ids from this device.
    pub(crate) seen: VecDeque<EnvelopeId>,
}

/// A contact's account, stored as `peer/<paired device>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PeerAccountRecord {
    account: AccountPublic,
    list: SignedDeviceList,
    others: Vec<PeerDevice>,
    paired_left: bool,
}

/// A contact's account as the engine uses it.
#[derive(Debug, Clone)]
pub(crate) struct PeerAccount {
    pub(crate) account: AccountPublic,
    pub(crate) list: DeviceList,
    pub(crate) signed: SignedDeviceList,
    pub(crate) others: Map<DeviceId, PeerDevice>,
    /// The last list adopted does not name the paired device: nothing goes
    /// to it (until a list names it again, or it hands over to a successor).
    pub(crate) paired_left: bool,
}

impl PeerAccount {
    /// Decodes and re-verifies a stored record (`conv`: the paired device).
    pub(crate) fn decode(b: &[u8]) -> Result<Self, EngineError> {
        let r: PeerAccountRecord = codec::decode(RECORD_VERSION, b)?;
        let list = r
            .list
            .verify(&r.account)
            .map_err(|e| EngineError::Corrupt(e.to_string()))?;
        Ok(Self {
            account: r.account,
            list,
            signed: r.list,
            others: r
                .others
                .into_iter()
                .map(|d| (d.identity.device_id(), d))
                .collect(),
            paired_left: r.paired_left,
        })
    }

    fn record(&self) -> PeerAccountRecord {
        PeerAccountRecord {
            account: self.account,
            list: self.signed.clone(),
            others: self.others.values().cloned().collect(),
            paired_left: self.paired_left,
        }
    }
}

impl From<AccountError> for ListProblem {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Rollback { .. } => Self::Rollback,
            AccountError::Equivocation(_) => Self::Equivocation,
            _ => Self::Forged,
        }
    }
}

impl Engine {
    /// The conversation (paired device) a device belongs to.
    pub(super) fn conversation_of(&self, device: &DeviceId) -> Option<DeviceId> {
        if self.contacts.contains_key(device) {
            return Some(*device);
        }
        self.owners.get(device).copied()
    }

    /// Every device of the contact that messages go to: the paired one
    /// while its account lists it, and the account's others.
    pub(super) fn targets(&self, conv: &DeviceId) -> Vec<DeviceId> {
        match self.peers.get(conv) {
            None => vec![*conv],
            Some(p) => {
                let mut v: Vec<DeviceId> = Vec::with_capacity(1 + p.others.len());
                if !p.paired_left {
                    v.push(*conv);
                }
                v.extend(p.others.keys().copied());
                v
            }
        }
    }

    /// The counter of the list a device's account was adopted at, for
    /// `Send.list` (`None`: no account known for it).
    pub(super) fn list_counter_of(&self, device: &DeviceId) -> Option<u64> {
        if self.own_devices.contains_key(device) {
            return self.own.as_ref().map(|o| o.list.counter());
        }
        if let Some(account) = self.member_of.get(device) {
            return self
                .members
                .get(account)?
                .list
                .as_ref()
                .map(|(l, _)| l.counter());
        }
        let conv = self.conversation_of(device)?;
        self.peers.get(&conv).map(|p| p.list.counter())
    }

    pub(super) fn save_peer(&mut self, conv: &DeviceId) {
        if let Some(p) = self.peers.get(conv) {
            self.pending.push(put(key::peer(conv), &p.record()));
        }
    }

    /// Stores whichever record holds `device`'s session.
    pub(super) fn save_device(&mut self, device: &DeviceId) {
        if self.contacts.contains_key(device) {
            self.save_contact(device);
        } else if let Some(conv) = self.owners.get(device).copied() {
            self.save_peer(&conv);
        } else if self.own_devices.contains_key(device) {
            self.save_own_devices();
        } else if let Some(account) = self.member_of.get(device).copied() {
            self.save_member(&account);
        }
    }

    /// Checks `signed` for the contact `conv` and adopts it: returns what
    /// changed. Nothing changes on a refusal.
    pub(super) fn adopt_list(
        &mut self,
        conv: &DeviceId,
        signed: SignedDeviceList,
    ) -> Result<Change, ListProblem> {
        let paired = self
            .contacts
            .get(conv)
            .map(|c| c.identity.clone())
            .ok_or(ListProblem::Forged)?;
        let (list, change) = match self.peers.get(conv) {
            Some(p) => {
                let list = signed.verify(&p.account)?;
                let change = accept_newer(Some(&p.list), &list)?;
                (list, change)
            }
            None => {
                // First list: the account is pinned only if the device we
                // paired with agreed to belong to it.
                let list = signed.verify_named()?;
                match list.device(*conv) {
                    Some(e) if e.identity() == &paired => {}
                    _ => return Err(ListProblem::Forged),
                }
                let change = accept_newer(None, &list)?;
                (list, change)
            }
        };
        let mut others = self
            .peers
            .remove(conv)
            .map(|p| p.others)
            .unwrap_or_default();
        for d in &change.removed {
            others.remove(d);
            self.owners.remove(d);
            self.drop_archive(d);
            self.drop_outbox_to(d);
        }
        let paired_left = !list.device(*conv).is_some_and(|e| e.identity() == &paired);
        if paired_left {
            // The paired device left the account: nothing more goes to it.
            self.drop_outbox_to(conv);
        }
        for e in list.devices() {
            let d = e.device_id();
            if d != *conv && !others.contains_key(&d) {
                others.insert(d, PeerDevice::new(e));
                self.owners.insert(d, *conv);
            }
        }
        self.peers.insert(
            *conv,
            PeerAccount {
                account: *list.account(),
                list,
                signed,
                others,
                paired_left,
            },
        );
        self.save_peer(conv);
        Ok(change)
    }

    /// Removes every outbox entry addressed to `device`.
    pub(super) fn drop_outbox_to(&mut self, device: &DeviceId) {
        let gone: Vec<u64> = self
            .outbox
            .values()
            .filter(|o| &o.to == device)
            .map(|o| o.seq)
            .collect();
        for seq in gone {
            self.outbox.remove(&seq);
            self.pending
                .push(super::core::StoreOp::Delete(key::outbox(seq)));
        }
    }

    /// The contact handed over to a signed successor: its account moves to
    /// the new conversation key, and the successor receives messages until
    /// a newer list says otherwise.
    pub(super) fn move_peer(&mut self, old: &DeviceId, new: &DeviceId) {
        let Some(mut p) = self.peers.remove(old) else {
            return;
        };
        for d in p.others.keys() {
            self.owners.insert(*d, *new);
        }
        p.paired_left = false;
        self.peers.insert(*new, p);
        self.pending
            .push(super::core::StoreOp::Delete(key::peer(old)));
        self.save_peer(new);
    }

    /// Forgets a contact's account and other devices (conversation deleted).
    pub(super) fn forget_peer(&mut self, conv: &DeviceId) {
        let Some(p) = self.peers.remove(conv) else {
            return;
        };
        for d in p.others.keys() {
            self.owners.remove(d);
            self.drop_archive(d);
            self.drop_outbox_to(d);
        }
        self.pending
            .push(super::core::StoreOp::Delete(key::peer(conv)));
    }
}

impl PeerDevice {
    /// A listed device we have no session with yet.
    pub(crate) fn new(e: &DeviceEntry) -> Self {
        Self {
            identity: e.identity().clone(),
            session: None,
            waiting: Vec::new(),
            seen: VecDeque::new(),
        }
    }
}
