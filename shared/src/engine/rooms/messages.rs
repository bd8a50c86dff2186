//! Room messages: encrypted once with this device's sender key (shared
//! first over the pairwise sessions with the devices that lack it) and sent
//! to every member device in one `SendMany`; received, decrypted and kept
//! per room (ADR 0025, ADR 0026).

use std::collections::BTreeMap;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::super::content::{Content, MessageId};
use super::super::core::{Effect, Engine, put};
use super::super::error::EngineError;
use super::super::model::Status;
use super::super::outbox::random16;
use super::content::{RoomContent, RoomPairwise};
use crate::crypto::account::AccountId;
use crate::crypto::codec::bytes;
use crate::group::{GroupMessage, RoomId, SenderKeyShare};
use crate::protocol::ws::{ClientFrame, DeviceId, EnvelopeId, Recipient};
use crate::time::UnixMs;

/// Longest room text, bytes.
pub const MAX_ROOM_TEXT: usize = 64 * 1024;

/// One entry of a room's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMessage {
    /// Sender-chosen id.
    pub id: MessageId,
    /// Local order.
    pub seq: u64,
    /// The sender's account (`None`: this device).
    pub from: Option<AccountId>,
    /// The text.
    pub text: String,
    /// Sent (outgoing) or received (incoming), Unix ms.
    pub at: UnixMs,
    /// Outgoing: queued or sent.
    pub status: Status,
}

/// A room message waiting for the relay's `Accepted`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoomOut {
    pub(crate) seq: u64,
    pub(crate) id: EnvelopeId,
    pub(crate) room: RoomId,
    pub(crate) recipients: Vec<DeviceId>,
    #[serde(with = "bytes")]
    pub(crate) payload: Vec<u8>,
    pub(crate) message: MessageId,
    #[serde(skip)]
    pub(crate) in_flight: bool,
}

pub(crate) fn out_key(seq: u64) -> String {
    format!("rout/{seq:016x}")
}

pub(crate) fn message_key(room: &RoomId, seq: u64) -> String {
    format!("rmsg/{}/{seq:016x}", super::super::model::key::hex(&room.0))
}

impl Engine {
    /// A room's history, oldest first.
    pub fn room_messages(&self, room: &RoomId) -> &[RoomMessage] {
        self.rooms
            .get(room)
            .map_or(&[][..], |r| r.history.as_slice())
    }

    /// The current devices of every member account this device can reach
    /// now: its own, and its contacts'. (Members who are not contacts come
    /// with their own sessions, next.)
    fn member_devices(&self, room: &RoomId) -> BTreeMap<AccountId, Vec<DeviceId>> {
        let mut out = BTreeMap::new();
        let Some(entry) = self.rooms.get(room) else {
            return out;
        };
        let me = self.account_public().map(|a| a.id());
        for account in entry.room.state().members.keys() {
            if Some(*account) == me {
                let mut mine: Vec<DeviceId> = self.own_devices.keys().copied().collect();
                mine.push(self.device_id());
                out.insert(*account, mine);
            } else if let Some((conv, _)) =
                self.peers.iter().find(|(_, p)| p.account.id() == *account)
            {
                out.insert(*account, self.targets(conv));
            }
        }
        out
    }

    /// Sends a text to a room: the sender key first to the devices that
    /// lack it (pairwise), then the message once to all.
    pub fn send_room_text<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        text: &str,
        now: UnixMs,
    ) -> Result<MessageId, EngineError> {
        if text.trim().is_empty() || text.len() > MAX_ROOM_TEXT {
            return Err(EngineError::BadText);
        }
        let devices = self.member_devices(room);
        let id = random16(rng);
        let plain = RoomContent::Text {
            id,
            text: text.to_owned(),
            sent_at: now,
        }
        .to_padded();
        let entry = self.rooms.get_mut(room).ok_or(EngineError::UnknownRoom)?;
        let prepared = entry.room.encrypt(now, &devices, &plain)?;
        // The key's new state is stored before anything leaves.
        self.save_room(room)?;
        if let Some(share) = prepared.share {
            self.share_key(rng, &prepared.share_to, share)?;
        }
        let seq = self.take_seq();
        let out = RoomOut {
            seq,
            id: random16(rng),
            room: *room,
            recipients: prepared.recipients,
            payload: prepared.message.to_bytes(),
            message: id,
            in_flight: false,
        };
        self.pending.push(put(out_key(seq), &out));
        self.room_out.insert(seq, out);
        let m = RoomMessage {
            id,
            seq: self.take_seq(),
            from: None,
            text: text.to_owned(),
            at: now,
            status: Status::Queued,
        };
        self.pending.push(put(message_key(room, m.seq), &m));
        if let Some(e) = self.rooms.get_mut(room) {
            e.history.push(m);
            e.last_activity = now;
        }
        self.save_room(room)?;
        self.commit();
        self.flush_outbox();
        self.effects.push_back(Effect::Changed);
        Ok(id)
    }

    fn share_key<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        to: &[DeviceId],
        share: SenderKeyShare,
    ) -> Result<(), EngineError> {
        for d in to {
            self.encrypt_for(
                rng,
                d,
                Content::Room(RoomPairwise::Key(share.clone())),
                None,
            )?;
        }
        Ok(())
    }

    /// The `SendMany` frames due now, by sequence (with the pairwise ones,
    /// see `flush_outbox`).
    pub(crate) fn room_frames_due(&mut self) -> Vec<(u64, ClientFrame)> {
        let due: Vec<u64> = self
            .room_out
            .values()
            .filter(|o| !o.in_flight)
            .map(|o| o.seq)
            .collect();
        let mut out = Vec::with_capacity(due.len());
        for seq in due {
            let Some(o) = self.room_out.get(&seq) else {
                continue;
            };
            let to = o
                .recipients
                .iter()
                .map(|d| Recipient {
                    device: *d,
                    list: self.list_counter_of(d),
                })
                .collect();
            let frame = ClientFrame::SendMany {
                id: o.id,
                to,
                payload: o.payload.clone(),
            };
            if let Some(o) = self.room_out.get_mut(&seq) {
                o.in_flight = true;
            }
            out.push((seq, frame));
        }
        out
    }

    /// The relay stored a room message.
    pub(crate) fn room_accepted(&mut self, id: &EnvelopeId) -> bool {
        let Some(seq) = self.room_out.values().find(|o| &o.id == id).map(|o| o.seq) else {
            return false;
        };
        let Some(out) = self.room_out.remove(&seq) else {
            return false;
        };
        self.pending
            .push(super::super::core::StoreOp::Delete(out_key(seq)));
        if let Some(e) = self.rooms.get_mut(&out.room)
            && let Some(m) = e
                .history
                .iter_mut()
                .find(|m| m.from.is_none() && m.id == out.message)
        {
            m.status = Status::Sent;
            let (k, v) = (message_key(&out.room, m.seq), m.clone());
            self.pending.push(put(k, &v));
            self.effects.push_back(Effect::Changed);
        }
        self.commit();
        true
    }

    /// A sender key from a member device over its pairwise session.
    pub(crate) fn room_key(&mut self, from: &DeviceId, account: AccountId, share: &SenderKeyShare) {
        let room = share.room;
        let Some(e) = self.rooms.get_mut(&room) else {
            return;
        };
        if e.room.accept_share(share, *from, account).is_ok() {
            let _ = self.save_room(&room);
            self.commit();
        }
    }

    /// A room message envelope. Whatever happens it is acknowledged once
    /// handled: a message this device cannot read now never will be (its
    /// key would have come first, over the same sender's ordered queue).
    pub(crate) fn on_room_message(
        &mut self,
        from: DeviceId,
        id: EnvelopeId,
        payload: &[u8],
        now: UnixMs,
    ) {
        let ack = Effect::Send(ClientFrame::Ack { from, id });
        let Ok(msg) = GroupMessage::from_bytes(payload) else {
            self.effects.push_back(ack);
            return;
        };
        let room = msg.room;
        let Some(e) = self.rooms.get_mut(&room) else {
            self.effects.push_back(ack);
            return;
        };
        let Ok((account, plain)) = e.room.decrypt(from, &msg) else {
            self.effects.push_back(ack);
            return;
        };
        if let Ok(RoomContent::Text { id: mid, text, .. }) = RoomContent::from_padded(&plain) {
            let m = RoomMessage {
                id: mid,
                seq: self.take_seq(),
                from: Some(account),
                text,
                at: now,
                status: Status::Delivered,
            };
            self.pending.push(put(message_key(&room, m.seq), &m));
            if let Some(e) = self.rooms.get_mut(&room) {
                e.history.push(m);
                e.unread = e.unread.saturating_add(1);
                e.last_activity = now;
            }
            self.effects.push_back(Effect::Changed);
        }
        // The key's replay memory is stored before the ack.
        let _ = self.save_room(&room);
        self.commit();
        self.effects.push_back(ack);
    }
}
