//! Room history: what a room shows (texts and notices, with per-member
//! delivery and read state for ours), sending a text, and taking in a room
//! message (ADR 0025). The envelope side of sending is `outbound`.

use std::collections::BTreeSet;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::super::content::MessageId;
use super::super::core::{Effect, Engine, put};
use super::super::error::EngineError;
use super::super::files::{FileOffer, FileState};
use super::super::model::Status;
use super::super::outbox::random16;
use super::content::RoomContent;
use super::outbound::RoomOut;
use crate::crypto::account::AccountId;
use crate::group::{GroupError, GroupMessage, RoomId};
use crate::map::Map;
use crate::protocol::ws::{ClientFrame, DeviceId, EnvelopeId};
use crate::time::UnixMs;

/// Longest room text, bytes.
pub const MAX_ROOM_TEXT: usize = 64 * 1024;

/// What a room entry shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoomBody {
    /// A chat message.
    Text(String),
    /// Something that happened to the room.
    Notice(RoomNotice),
    /// A file and where it is.
    File(RoomFile),
}

/// A file in a room's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomFile {
    /// What to fetch and how to open it.
    pub offer: FileOffer,
    /// Offered, downloaded (by this device) or gone.
    pub state: FileState,
}

/// A system line in a room ("Bob joined").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RoomNotice {
    /// `by` created the room.
    Created {
        /// Who.
        by: String,
    },
    /// `by` added `name`.
    Added {
        /// The new member.
        name: String,
        /// The admin.
        by: String,
    },
    /// `by` removed `name`.
    Removed {
        /// The member removed.
        name: String,
        /// The admin.
        by: String,
    },
    /// `by` removed this account: the room is read-only from here on.
    RemovedYou {
        /// The admin.
        by: String,
    },
    /// `name` left.
    Left {
        /// Who.
        name: String,
    },
    /// This account left.
    YouLeft,
    /// `by` made `name` an admin.
    Promoted {
        /// The new admin.
        name: String,
        /// The admin.
        by: String,
    },
    /// `by` renamed the room.
    Renamed {
        /// The new name.
        name: String,
        /// The admin.
        by: String,
    },
    /// `by` set the disappearing-message timer (`None`: off).
    Timer {
        /// Seconds.
        secs: Option<u32>,
        /// The admin.
        by: String,
    },
    /// `by` changed when the room ends.
    LifetimeChanged {
        /// The admin.
        by: String,
    },
    /// `name` added or removed a device (their messages now come from, and
    /// go to, the new set).
    DevicesChanged {
        /// The member.
        name: String,
    },
    /// A change `by` was not allowed to make: ignored.
    Ignored {
        /// Its author.
        by: String,
    },
}

/// One entry of a room's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMessage {
    /// Sender-chosen id (random for notices).
    pub id: MessageId,
    /// Local order.
    pub seq: u64,
    /// The sender's account (`None`: this device, or a notice).
    pub from: Option<AccountId>,
    /// Text or notice.
    pub body: RoomBody,
    /// Sent (outgoing) or received (incoming), Unix ms.
    pub at: UnixMs,
    /// Outgoing: queued or sent; incoming: delivered or read.
    pub status: Status,
    /// Outgoing: the members whose device stored it.
    pub delivered: BTreeSet<AccountId>,
    /// Outgoing: the members who saw it.
    pub read: BTreeSet<AccountId>,
    /// Outgoing: how many other members it was sent to ("read by 3 of 5").
    pub audience: u32,
    /// When it disappears (the room's timer when it was stored).
    pub expires_at: Option<UnixMs>,
}

impl RoomMessage {
    /// The text, if this is one.
    pub fn text(&self) -> Option<&str> {
        match &self.body {
            RoomBody::Text(t) => Some(t),
            RoomBody::Notice(_) | RoomBody::File(_) => None,
        }
    }
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

    /// The current devices of every member account this device can reach:
    /// its own, its contacts', and other members' (from their verified
    /// lists). Accounts whose list was refused get nothing.
    pub(crate) fn member_devices(&self, room: &RoomId) -> Map<AccountId, Vec<DeviceId>> {
        let mut out = Map::new();
        let Some(entry) = self.rooms.get(room) else {
            return out;
        };
        for account in entry.room.state().members.keys() {
            if let Some(devices) = self.account_devices(account) {
                out.insert(*account, devices);
            }
        }
        out
    }

    /// One account's current devices as this device knows them: ours, a
    /// contact's, or a room member's (`None`: not known, or its list was
    /// refused).
    pub(crate) fn account_devices(&self, account: &AccountId) -> Option<Vec<DeviceId>> {
        if self.account_public().map(|a| a.id()) == Some(*account) {
            let mut mine: Vec<DeviceId> = self.own_devices.keys().copied().collect();
            mine.push(self.device_id());
            return Some(mine);
        }
        if let Some((conv, _)) = self.peers.iter().find(|(_, p)| p.account.id() == *account) {
            return Some(self.targets(conv));
        }
        self.members
            .get(account)
            .filter(|m| m.refused.is_none())
            .map(|m| m.devices.keys().copied().collect())
    }

    /// Whether every other member's devices are known, so a message can be
    /// encrypted for all of them.
    pub(crate) fn room_settled(&self, room: &RoomId) -> bool {
        let Some(entry) = self.rooms.get(room) else {
            return false;
        };
        let me = self.account_public().map(|a| a.id());
        entry.room.state().members.keys().all(|a| {
            Some(*a) == me
                || self.peers.values().any(|p| p.account.id() == *a)
                || self.members.get(a).is_some_and(|m| m.settled())
        })
    }

    /// Sends a text to a room. It is stored at once and leaves when every
    /// member's devices are known: the sender key first to the devices
    /// that lack it (pairwise), then the message once to all.
    pub fn send_room_text<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        text: &str,
        now: UnixMs,
    ) -> Result<MessageId, EngineError> {
        let text = text.trim_end();
        if text.trim().is_empty() || text.len() > MAX_ROOM_TEXT {
            return Err(EngineError::BadText);
        }
        let id = random16(rng);
        let content = RoomContent::Text {
            id,
            text: text.to_owned(),
            sent_at: now,
        };
        self.queue_room(
            rng,
            room,
            id,
            &content,
            RoomBody::Text(text.to_owned()),
            now,
        )?;
        Ok(id)
    }

    /// Stores an outgoing room entry and queues its content: it leaves
    /// when every member's devices are known.
    pub(crate) fn queue_room<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        id: MessageId,
        content: &RoomContent,
        body: RoomBody,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        let entry = self.rooms.get(room).ok_or(EngineError::UnknownRoom)?;
        if !entry.room.joined() {
            return Err(EngineError::Room(GroupError::NotMember));
        }
        let audience =
            u32::try_from(entry.room.state().members.len().saturating_sub(1)).unwrap_or(u32::MAX);
        let seq = self.take_seq();
        let out = RoomOut::new(seq, *room, id, content);
        self.pending.push(put(super::outbound::out_key(seq), &out));
        self.room_out.insert(seq, out);
        if let Some(e) = self.rooms.get_mut(room) {
            // Sent: the next keystroke says "typing" again at once (the
            // receivers end the indicator with the message).
            e.typing_sent_at = UnixMs::EPOCH;
        }
        let m = RoomMessage {
            id,
            seq: self.take_seq(),
            from: None,
            body,
            at: now,
            status: Status::Queued,
            delivered: BTreeSet::new(),
            read: BTreeSet::new(),
            audience,
            expires_at: self.room_expiry(room, now),
        };
        self.push_room_entry(room, m, now);
        self.commit();
        self.seal_room_out(rng, now);
        self.effects.push_back(Effect::Changed);
        Ok(())
    }

    /// When an entry stored now disappears, by the room's timer.
    fn room_expiry(&self, room: &RoomId, now: UnixMs) -> Option<UnixMs> {
        let secs = self.rooms.get(room)?.room.state().timer?;
        Some(now + crate::time::Millis::from_secs(u64::from(secs)))
    }

    /// Appends to a room's history and stores the entry.
    pub(crate) fn push_room_entry(&mut self, room: &RoomId, m: RoomMessage, now: UnixMs) {
        if let Some(t) = m.expires_at {
            self.next_expiry = self.next_expiry.min(t);
        }
        self.pending.push(put(message_key(room, m.seq), &m));
        if let Some(e) = self.rooms.get_mut(room) {
            e.history.push(m);
            e.last_activity = now;
        }
        let _ = self.save_room(room);
    }

    /// A notice in a room's history.
    pub(crate) fn room_notice(
        &mut self,
        room: &RoomId,
        id: MessageId,
        notice: RoomNotice,
        now: UnixMs,
    ) {
        let m = RoomMessage {
            id,
            seq: self.take_seq(),
            from: None,
            body: RoomBody::Notice(notice),
            at: now,
            status: Status::Delivered,
            delivered: BTreeSet::new(),
            read: BTreeSet::new(),
            audience: 0,
            expires_at: None,
        };
        self.push_room_entry(room, m, now);
    }

    /// A room message envelope. It is acknowledged once handled; one whose
    /// sender key has not come yet is held unacknowledged (see `held`).
    pub(crate) fn on_room_message<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
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
        // The sender's earlier envelopes (its key) are still being sorted
        // out, or the room or key has not come yet: wait for them.
        let behind = self.parked.iter().any(|p| p.from == from);
        let decrypted = match self.rooms.get_mut(&room) {
            _ if behind => Err(GroupError::UnknownSenderKey),
            None => Err(GroupError::UnknownSenderKey),
            Some(e) => e.room.decrypt(from, &msg),
        };
        let (account, plain) = match decrypted {
            Ok(ok) => ok,
            Err(GroupError::UnknownSenderKey) if self.hold(from, id, payload, now) => return,
            Err(_) => {
                self.effects.push_back(ack);
                return;
            }
        };
        let taken = match RoomContent::from_padded(&plain) {
            Ok(RoomContent::Text { id, text, .. }) => Some((id, RoomBody::Text(text))),
            Ok(RoomContent::File { id, offer }) => Some((
                id,
                RoomBody::File(RoomFile {
                    offer,
                    state: FileState::Offered,
                }),
            )),
            Err(_) => None,
        };
        if let Some((mid, body)) = taken {
            let dup = self
                .room_messages(&room)
                .iter()
                .any(|m| m.from == Some(account) && m.id == mid);
            if !dup {
                let m = RoomMessage {
                    id: mid,
                    seq: self.take_seq(),
                    from: Some(account),
                    body,
                    at: now,
                    status: Status::Delivered,
                    delivered: BTreeSet::new(),
                    read: BTreeSet::new(),
                    audience: 0,
                    expires_at: self.room_expiry(&room, now),
                };
                self.push_room_entry(&room, m, now);
                if let Some(e) = self.rooms.get_mut(&room) {
                    e.unread = e.unread.saturating_add(1);
                    // A message ends its author's typing indicator.
                    e.typing.remove(&account);
                }
                self.send_room_receipt(
                    rng,
                    &room,
                    account,
                    super::super::content::ReceiptKind::Delivered,
                    vec![mid],
                );
                self.effects.push_back(Effect::Changed);
            }
        }
        // The key's replay memory is stored before the ack.
        let _ = self.save_room(&room);
        self.commit();
        self.effects.push_back(ack);
    }
}
