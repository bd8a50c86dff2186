//! Room messages on their way to the relay (ADR 0025, ADR 0026). A message
//! is kept as plaintext until it is sealed: encrypted once with this
//! device's sender key for the member devices known then, after the key
//! itself went pairwise to the devices that lack it. A `StaleMany` answer
//! (some member's list changed) adopts the new lists and seals the same
//! plaintext again for the new set, so nothing acknowledged is lost and a
//! device that left never gets it.

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::super::content::{Content, MessageId};
use super::super::core::{Effect, Engine, StoreOp, put};
use super::super::error::EngineError;
use super::super::model::{ListProblem, Status};
use super::super::outbox::random16;
use super::content::{RoomContent, RoomPairwise};
use super::messages::message_key;
use crate::crypto::account::AccountId;
use crate::crypto::codec::bytes;
use crate::group::{RoomId, SenderKeyShare};
use crate::map::MapExt as _;
use crate::protocol::ErrorCode;
use crate::protocol::ws::{ClientFrame, DeviceId, EnvelopeId, Recipient, StaleRecipient};
use crate::time::UnixMs;

/// A room message sealed for a set of devices.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Sealed {
    pub(crate) id: EnvelopeId,
    pub(crate) recipients: Vec<DeviceId>,
    #[serde(with = "bytes")]
    pub(crate) payload: Vec<u8>,
}

/// A room message waiting for the relay's `Accepted`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoomOut {
    pub(crate) seq: u64,
    pub(crate) room: RoomId,
    pub(crate) message: MessageId,
    /// The padded plaintext, kept until the relay accepted it.
    #[serde(with = "bytes")]
    pub(crate) plain: Vec<u8>,
    pub(crate) sealed: Option<Sealed>,
    /// Accounts left out of this message: their list was refused, or the
    /// relay kept calling it stale ([`MAX_STALE_ROUNDS`]).
    pub(crate) skip: Vec<AccountId>,
    #[serde(skip)]
    pub(crate) in_flight: bool,
    #[serde(skip)]
    pub(crate) stale_rounds: u8,
}

/// `StaleMany` answers one message takes before the accounts still called
/// stale are left out of it (the relay could otherwise keep it looping).
pub(crate) const MAX_STALE_ROUNDS: u8 = 3;

impl RoomOut {
    pub(crate) fn new(seq: u64, room: RoomId, message: MessageId, content: &RoomContent) -> Self {
        Self {
            seq,
            room,
            message,
            plain: content.to_padded(),
            sealed: None,
            skip: Vec::new(),
            in_flight: false,
            stale_rounds: 0,
        }
    }
}

pub(crate) fn out_key(seq: u64) -> String {
    format!("rout/{seq:016x}")
}

impl Engine {
    /// Seals the room messages whose rooms have every member's devices
    /// known, oldest first; a room that is not settled holds its later
    /// messages too, so they keep their order.
    pub(crate) fn seal_room_out<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, now: UnixMs) {
        let waiting: Vec<(u64, RoomId)> = self
            .room_out
            .values()
            .filter(|o| o.sealed.is_none())
            .map(|o| (o.seq, o.room))
            .collect();
        let mut blocked: Vec<RoomId> = Vec::new();
        for (seq, room) in waiting {
            if blocked.contains(&room) || !self.room_settled(&room) {
                blocked.push(room);
                continue;
            }
            if self.seal(rng, seq, now).is_err() {
                // Not a member any more (or the key store failed): it
                // cannot go; the entry stays queued in the history.
                self.drop_room_out(seq);
            }
        }
        self.commit();
        self.flush_outbox();
    }

    fn seal<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        seq: u64,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        let Some(room) = self.room_out.get(&seq).map(|o| o.room) else {
            return Ok(());
        };
        let mut devices = self.member_devices(&room);
        if let Some(o) = self.room_out.get(&seq) {
            devices.retain(|a, _| !o.skip.contains(a));
        }
        let Some(plain) = self
            .room_out
            .get(&seq)
            .map(|o| Zeroizing::new(o.plain.clone()))
        else {
            return Ok(());
        };
        let prepared = self
            .rooms
            .get_mut(&room)
            .ok_or(EngineError::UnknownRoom)?
            .room
            .encrypt(now, &devices, &plain)?;
        let Some(out) = self.room_out.remove(&seq) else {
            return Ok(());
        };
        // The key's new state is stored before anything leaves.
        self.save_room(&out.room)?;
        if let Some(share) = prepared.share {
            self.share_key(rng, &prepared.share_to, &share);
        }
        // After the shares, so the relay queues the key first.
        let new_seq = self.take_seq();
        let mut out = out;
        out.seq = new_seq;
        out.in_flight = false;
        out.sealed = Some(Sealed {
            id: random16(rng),
            recipients: prepared.recipients,
            payload: prepared.message.to_bytes(),
        });
        self.pending.push(StoreOp::Delete(out_key(seq)));
        self.pending.push(put(out_key(new_seq), &out));
        self.room_out.insert(new_seq, out);
        Ok(())
    }

    fn share_key<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        to: &[DeviceId],
        share: &SenderKeyShare,
    ) {
        for d in to {
            // A device with no slot (gone since) simply gets nothing.
            let _ = self.encrypt_for(
                rng,
                d,
                Content::Room(RoomPairwise::Key(share.clone())),
                None,
            );
        }
    }

    fn drop_room_out(&mut self, seq: u64) {
        if self.room_out.remove(&seq).is_some() {
            self.pending.push(StoreOp::Delete(out_key(seq)));
        }
    }

    /// The `SendMany` frames due now, by sequence (merged with the pairwise
    /// ones by `flush_outbox`).
    pub(crate) fn room_frames_due(&mut self) -> Vec<(u64, ClientFrame)> {
        let mut out = Vec::new();
        let due: Vec<u64> = self
            .room_out
            .values()
            .filter(|o| !o.in_flight && o.sealed.is_some())
            .map(|o| o.seq)
            .collect();
        for seq in due {
            let Some(o) = self.room_out.get(&seq) else {
                continue;
            };
            let Some(s) = &o.sealed else {
                continue;
            };
            if s.recipients.is_empty() {
                // Nobody else to tell (alone in the room): done at once.
                let id = s.id;
                self.room_accepted(&id);
                continue;
            }
            let to = s
                .recipients
                .iter()
                .map(|d| Recipient {
                    device: *d,
                    list: self.list_counter_of(d),
                })
                .collect();
            let frame = ClientFrame::SendMany {
                id: s.id,
                to,
                payload: s.payload.clone(),
            };
            if let Some(o) = self.room_out.get_mut(&seq) {
                o.in_flight = true;
            }
            out.push((seq, frame));
        }
        out
    }

    fn room_out_by_id(&self, id: &EnvelopeId) -> Option<u64> {
        self.room_out
            .values()
            .find(|o| o.sealed.as_ref().is_some_and(|s| &s.id == id))
            .map(|o| o.seq)
    }

    /// The relay stored a room message.
    pub(crate) fn room_accepted(&mut self, id: &EnvelopeId) -> bool {
        let Some(seq) = self.room_out_by_id(id) else {
            return false;
        };
        let Some(out) = self.room_out.remove(&seq) else {
            return false;
        };
        self.pending.push(StoreOp::Delete(out_key(seq)));
        self.set_room_status(&out.room, &out.message, Status::Sent);
        self.commit();
        true
    }

    pub(crate) fn set_room_status(&mut self, room: &RoomId, message: &MessageId, status: Status) {
        if let Some(e) = self.rooms.get_mut(room)
            && let Some(m) = e
                .history
                .iter_mut()
                .find(|m| m.from.is_none() && &m.id == message)
            && m.status < status
        {
            m.status = status;
            let (k, v) = (message_key(room, m.seq), m.clone());
            self.pending.push(put(k, &v));
            self.effects.push_back(Effect::Changed);
        }
    }

    /// A `SendMany` failed as a whole. Transient: sent again by the next
    /// tick or connection. Otherwise the message is dropped and marked.
    pub(crate) fn room_send_error(&mut self, id: &EnvelopeId, code: ErrorCode) -> bool {
        let Some(seq) = self.room_out_by_id(id) else {
            return false;
        };
        if matches!(
            code,
            ErrorCode::RateLimited | ErrorCode::Unavailable | ErrorCode::Internal
        ) {
            for o in self.room_out.values_from_mut(&seq) {
                o.in_flight = false;
            }
            return true;
        }
        self.drop_room_out(seq);
        self.commit();
        true
    }

    /// Some members' lists changed: adopt them, then seal again.
    pub(crate) fn on_stale_many<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        id: &EnvelopeId,
        stale: Vec<StaleRecipient>,
        now: UnixMs,
    ) {
        let Some(seq) = self.room_out_by_id(id) else {
            return;
        };
        let rounds = self.room_out.get(&seq).map_or(0, |o| o.stale_rounds) + 1;
        let mut skip = Vec::new();
        for s in stale {
            let account = self.account_of_device(&s.device);
            let adopted = self.adopt_for_device(rng, &s.device, s.list, now);
            if let Some(a) = account
                && (!adopted || rounds > MAX_STALE_ROUNDS)
            {
                skip.push(a);
            }
        }
        if let Some(o) = self.room_out.get_mut(&seq) {
            o.sealed = None;
            o.in_flight = false;
            o.stale_rounds = rounds;
            o.skip.extend(skip);
        }
        let o = self.room_out.get(&seq).cloned();
        if let Some(o) = o {
            self.pending.push(put(out_key(seq), &o));
        }
        self.seal_room_out(rng, now);
    }

    /// The account a device belongs to (ours, a contact's, a member's).
    fn account_of_device(&self, device: &DeviceId) -> Option<AccountId> {
        if self.own_devices.contains_key(device) {
            return self.account_public().map(|a| a.id());
        }
        if let Some(conv) = self.conversation_of(device) {
            return self.peers.get(&conv).map(|p| p.account.id());
        }
        self.member_account_of(device)
    }

    /// Adopts `list` for whichever account `device` belongs to (ours, a
    /// contact's, a member's); false when it was refused.
    fn adopt_for_device<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        device: &DeviceId,
        list: Option<crate::crypto::account::SignedDeviceList>,
        now: UnixMs,
    ) -> bool {
        let adopted = if self.own_devices.contains_key(device) {
            list.is_some_and(|l| self.adopt_own_list(l).is_ok())
        } else if let Some(conv) = self.conversation_of(device) {
            match list
                .ok_or(ListProblem::Rollback)
                .and_then(|l| self.adopt_list(&conv, l))
            {
                Ok(change) => {
                    self.list_adopted(rng, &conv, &change, now);
                    true
                }
                Err(p) => {
                    self.list_refused(&conv, p, now);
                    false
                }
            }
        } else if let Some(account) = self.member_account_of(device) {
            let adopted = list
                .ok_or(ListProblem::Rollback)
                .and_then(|l| self.adopt_member_list(&account, l, now));
            if adopted.is_err()
                && let Some(m) = self.members.get_mut(&account)
            {
                m.refused.get_or_insert(ListProblem::Rollback);
                self.save_member(&account);
            }
            adopted.is_ok()
        } else {
            false
        };
        self.commit();
        adopted
    }

    /// Sends a delivery or read receipt for room messages to their author's
    /// devices (none to our own account).
    pub(crate) fn send_room_receipt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        author: AccountId,
        kind: super::super::content::ReceiptKind,
        ids: Vec<MessageId>,
    ) {
        if self.account_public().map(|a| a.id()) == Some(author) || ids.is_empty() {
            return;
        }
        let content = Content::Room(RoomPairwise::Receipt {
            room: *room,
            kind,
            ids,
        });
        // Only the author's devices: not the whole room's (once per message).
        for d in self.account_devices(&author).unwrap_or_default() {
            let _ = self.encrypt_for(rng, &d, content.clone(), None);
        }
        self.flush_outbox();
    }
}
