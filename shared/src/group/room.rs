//! One room as one member device holds it: the membership log, this
//! device's sender key and the other member devices' keys (ADR 0025).
//!
//! Rules kept here, not in the engine:
//! - a member who leaves or is removed takes every key with them: this
//!   device starts a new sender key before its next message, shared only
//!   with the devices of the members that remain, and drops the keys of the
//!   devices that went;
//! - a device that disappears from a member's list also forces a new key;
//! - a key is accepted only from a member device over its pairwise session,
//!   and a message only from the device that shared its key.
#![deny(clippy::indexing_slicing)]

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::GroupError;
use super::change::{RoomId, SignedChange};
use super::log::{Outcome, RoomLog, RoomState, StoredLog};
use super::message::GroupMessage;
use super::sender_key::{
    InboundKey, OutboundKey, SenderKeyShare, SessionId, StoredInbound, StoredOutbound,
};
use crate::crypto::account::AccountId;
use crate::map::Map;
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

/// Sender keys kept per other device (older ones still read late messages).
pub const KEYS_PER_DEVICE: usize = 4;

/// A message ready to send: the share first, over the pairwise sessions, to
/// `share_to`; then the message once, to `recipients`.
#[derive(Debug)]
pub struct Prepared {
    /// Devices that must get `share` before the message.
    pub share_to: Vec<DeviceId>,
    /// The sender key share (at the index of this message), when
    /// `share_to` names anyone (making one costs a signature).
    pub share: Option<SenderKeyShare>,
    /// Every member device except this one.
    pub recipients: Vec<DeviceId>,
    /// The message.
    pub message: GroupMessage,
    /// Whether a new sender key was started for it.
    pub rotated: bool,
}

/// One room on one device.
#[derive(Debug)]
pub struct Room {
    log: RoomLog,
    me: AccountId,
    device: DeviceId,
    outbound: Option<OutboundKey>,
    inbound: Map<SessionId, InboundKey>,
}

/// Stored form of a [`Room`].
#[derive(Serialize, Deserialize)]
pub struct StoredRoom {
    log: StoredLog,
    me: AccountId,
    device: DeviceId,
    outbound: Option<StoredOutbound>,
    inbound: Vec<StoredInbound>,
}

impl Room {
    /// A room this device is in (as `me`, on `device`).
    pub fn new(log: RoomLog, me: AccountId, device: DeviceId) -> Self {
        Self {
            log,
            me,
            device,
            outbound: None,
            inbound: Map::new(),
        }
    }

    /// The room id.
    pub fn id(&self) -> RoomId {
        self.log.state().id
    }

    /// The membership state.
    pub fn state(&self) -> &RoomState {
        self.log.state()
    }

    /// The log (to sign changes on and to bring new members up to date).
    pub fn log(&self) -> &RoomLog {
        &self.log
    }

    /// Whether this account is still a member.
    pub fn joined(&self) -> bool {
        self.state().is_member(&self.me)
    }

    /// Applies membership changes (any order, see [`RoomLog::insert`]).
    /// When someone left, this device's sender key is dropped (the next
    /// message starts a new one) and the keys of those who left go too.
    pub fn apply(&mut self, changes: &[SignedChange]) -> Result<Outcome, GroupError> {
        let out = self.log.insert(changes)?;
        if !out.gone.is_empty() {
            self.outbound = None;
            let gone: BTreeSet<AccountId> = out.gone.iter().copied().collect();
            self.inbound.retain(|_, k| !gone.contains(&k.account()));
        }
        Ok(out)
    }

    /// Drops this device's sender key: the next message starts a new one
    /// (after a device left a member's list, or when the user asks).
    pub fn rotate_sender_key(&mut self) {
        self.outbound = None;
    }

    /// Encrypts one message for every device of every member.
    /// `devices` gives each member account's current devices (from its
    /// verified signed list); members missing from it get nothing yet.
    pub fn encrypt(
        &mut self,
        now: UnixMs,
        devices: &Map<AccountId, Vec<DeviceId>>,
        plaintext: &[u8],
    ) -> Result<Prepared, GroupError> {
        if !self.joined() {
            return Err(GroupError::NotMember);
        }
        let recipients: BTreeSet<DeviceId> = self
            .state()
            .members
            .keys()
            .filter_map(|a| devices.get(a))
            .flatten()
            .copied()
            .filter(|d| *d != self.device)
            .collect();
        let stale = match &self.outbound {
            None => true,
            Some(k) => k.worn_out(now) || !k.holders().is_subset(&recipients),
        };
        if stale {
            self.outbound = Some(OutboundKey::new(now)?);
        }
        let room = self.id();
        let key = self.outbound.as_mut().ok_or(GroupError::UnknownSenderKey)?;
        let share_to: Vec<DeviceId> = recipients.difference(key.holders()).copied().collect();
        let share = (!share_to.is_empty()).then(|| key.share(room));
        key.shared_with(share_to.iter().copied());
        let message = key.encrypt(room, plaintext);
        Ok(Prepared {
            share_to,
            share,
            recipients: recipients.into_iter().collect(),
            message,
            rotated: stale,
        })
    }

    /// Takes another member device's sender key, received over the pairwise
    /// session with `from` (a device of `account`, per its signed list). A
    /// key already held is kept as is, so a repeated share cannot reset
    /// replay protection.
    pub fn accept_share(
        &mut self,
        share: &SenderKeyShare,
        from: DeviceId,
        account: AccountId,
    ) -> Result<(), GroupError> {
        if share.room != self.id() {
            return Err(GroupError::WrongRoom);
        }
        if !self.joined() || !self.state().is_member(&account) || from == self.device {
            return Err(GroupError::NotMember);
        }
        // Later shares get higher numbers: the order they arrived in.
        let order = self
            .inbound
            .values()
            .map(InboundKey::order)
            .max()
            .map_or(0, |o| o + 1);
        let key = InboundKey::accept(share, from, account, order)?;
        if self.inbound.contains_key(&key.id()) {
            return Ok(());
        }
        self.inbound.insert(key.id(), key);
        // Bound what one device can make us keep: the keys it shared last.
        let mut mine: Vec<(u64, SessionId)> = self
            .inbound
            .values()
            .filter(|k| k.sender() == from)
            .map(|k| (k.order(), k.id()))
            .collect();
        if mine.len() > KEYS_PER_DEVICE {
            crate::sort::sort(&mut mine);
            for (_, id) in mine.iter().take(mine.len() - KEYS_PER_DEVICE) {
                self.inbound.remove(id);
            }
        }
        Ok(())
    }

    /// Decrypts a room message delivered from `from`. Returns the sender's
    /// account and the plaintext; on any error nothing changes.
    pub fn decrypt(
        &mut self,
        from: DeviceId,
        msg: &GroupMessage,
    ) -> Result<(AccountId, Zeroizing<Vec<u8>>), GroupError> {
        if msg.room != self.id() {
            return Err(GroupError::WrongRoom);
        }
        if !self.joined() {
            return Err(GroupError::NotMember);
        }
        let key = self
            .inbound
            .get_mut(&msg.session)
            .ok_or(GroupError::UnknownSenderKey)?;
        if key.sender() != from {
            return Err(GroupError::WrongSender);
        }
        let account = key.account();
        if !self.log.state().is_member(&account) {
            return Err(GroupError::NotMember);
        }
        let plain = key.decrypt(msg)?;
        Ok((account, plain))
    }

    /// Messages sent under this device's current sender key (`None`: none yet).
    pub fn sender_key_index(&self) -> Option<u32> {
        self.outbound.as_ref().map(OutboundKey::index)
    }

    /// How many other devices' keys are held.
    pub fn inbound_keys(&self) -> usize {
        self.inbound.len()
    }

    /// Stored form (secret).
    pub fn to_stored(&self) -> Result<StoredRoom, GroupError> {
        Ok(StoredRoom {
            log: self.log.to_stored(),
            me: self.me,
            device: self.device,
            outbound: self
                .outbound
                .as_ref()
                .map(OutboundKey::to_stored)
                .transpose()?,
            inbound: self
                .inbound
                .values()
                .map(InboundKey::to_stored)
                .collect::<Result<_, _>>()?,
        })
    }

    /// From [`Self::to_stored`].
    pub fn from_stored(s: &StoredRoom) -> Result<Self, GroupError> {
        let mut inbound = Map::new();
        for k in &s.inbound {
            let k = InboundKey::from_stored(k)?;
            inbound.insert(k.id(), k);
        }
        Ok(Self {
            log: RoomLog::from_stored(&s.log)?,
            me: s.me,
            device: s.device,
            outbound: s
                .outbound
                .as_ref()
                .map(OutboundKey::from_stored)
                .transpose()?,
            inbound,
        })
    }
}
