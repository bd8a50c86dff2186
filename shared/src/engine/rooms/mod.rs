//! Group rooms in the engine (issue 15, ADR 0025): which rooms this device
//! is in, creating one, and taking in membership changes from other
//! members. The room logic itself (log, sender keys) is `crate::group`.
//!
//! Not yet here (issue 15): sessions with members who are not contacts,
//! `StaleMany` answers, receipts, files, lifetimes and the screens.

pub mod content;
pub mod messages;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use self::content::RoomPairwise;
use super::content::Content;
use super::core::{Engine, put};
use super::error::EngineError;
use super::model::{RECORD_VERSION, key};
use crate::crypto::codec;
use crate::group::room::StoredRoom;
use crate::group::{GroupError, Invitee, Lifetime, Room, RoomId, RoomLog, SignedChange};
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

/// One room on this device.
#[derive(Debug)]
pub struct RoomEntry {
    /// The room (log and keys).
    pub room: Room,
    /// Unread messages.
    pub unread: u32,
    /// Last message or change (list order).
    pub last_activity: UnixMs,
    /// Messages, oldest first (stored one record each).
    pub history: Vec<messages::RoomMessage>,
}

#[derive(Serialize, Deserialize)]
struct RoomRecord {
    room: StoredRoom,
    unread: u32,
    last_activity: UnixMs,
}

impl RoomEntry {
    pub(crate) fn decode(b: &[u8]) -> Result<Self, EngineError> {
        let r: RoomRecord = codec::decode(RECORD_VERSION, b)?;
        Ok(Self {
            room: Room::from_stored(&r.room).map_err(|e| EngineError::Corrupt(e.to_string()))?,
            unread: r.unread,
            last_activity: r.last_activity,
            history: Vec::new(),
        })
    }
}

impl From<GroupError> for EngineError {
    fn from(e: GroupError) -> Self {
        Self::Room(e)
    }
}

impl Engine {
    /// The rooms this device is in, most recent first.
    pub fn rooms(&self) -> Vec<(&RoomId, &RoomEntry)> {
        let mut v: Vec<_> = self.rooms.iter().collect();
        v.sort_by_key(|(_, r)| std::cmp::Reverse(r.last_activity));
        v
    }

    /// Creates a room with these contacts (their conversations), tells
    /// their devices and ours, and returns its id.
    pub fn create_room<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        name: &str,
        members: &[DeviceId],
        lifetime: Lifetime,
        now: UnixMs,
    ) -> Result<RoomId, EngineError> {
        let own = self.own.as_ref().ok_or(EngineError::NoAccount)?;
        let mut invitees = Vec::with_capacity(members.len());
        for conv in members {
            let c = self.contacts.get(conv).ok_or(EngineError::UnknownContact)?;
            let p = self.peers.get(conv).ok_or(EngineError::SafetyPending)?;
            invitees.push(Invitee {
                account: p.account,
                name: c.name.clone(),
            });
        }
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        let id = RoomId(id);
        let (log, create) = RoomLog::create(
            &own.key,
            id,
            super::content::clean_name(name),
            self.account.name.clone(),
            invitees,
            lifetime,
            now,
        )?;
        let me = own.key.public().id();
        self.rooms.insert(
            id,
            RoomEntry {
                room: Room::new(log, me, self.device_id()),
                unread: 0,
                last_activity: now,
                history: Vec::new(),
            },
        );
        self.save_room(&id)?;
        let tell = Content::Room(RoomPairwise::Changes {
            room: id,
            changes: vec![create],
        });
        for conv in members {
            self.send_content(rng, conv, tell.clone(), None)?;
        }
        self.tell_own_devices(rng, &tell)?;
        self.commit();
        self.effects.push_back(super::core::Effect::Changed);
        Ok(id)
    }

    /// Membership changes from a contact's device (or one of ours): a room
    /// we are added to is joined from its `Create`; known rooms take the
    /// changes in. Changes that do not verify change nothing.
    pub(crate) fn room_changes(
        &mut self,
        room: RoomId,
        changes: &[SignedChange],
        now: UnixMs,
    ) -> Result<(), EngineError> {
        let me = self.account_public().ok_or(EngineError::NoAccount)?.id();
        if let Some(entry) = self.rooms.get_mut(&room) {
            let out = entry.room.apply(changes)?;
            if !out.new.is_empty() {
                entry.last_activity = now;
            }
        } else {
            let create = changes
                .iter()
                .find(|c| c.verify().is_ok_and(|b| b.seq == 0))
                .ok_or(EngineError::Room(GroupError::Malformed))?;
            let mut log = RoomLog::new(create)?;
            if log.state().id != room {
                return Err(EngineError::Room(GroupError::WrongRoom));
            }
            log.insert(changes)?;
            if !log.state().is_member(&me) {
                // Not for us (or we already left): nothing is kept.
                return Ok(());
            }
            self.rooms.insert(
                room,
                RoomEntry {
                    room: Room::new(log, me, self.device_id()),
                    unread: 0,
                    last_activity: now,
                    history: Vec::new(),
                },
            );
        }
        self.save_room(&room)?;
        self.commit();
        self.effects.push_back(super::core::Effect::Changed);
        Ok(())
    }

    fn tell_own_devices<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        content: &Content,
    ) -> Result<(), EngineError> {
        let mine: Vec<DeviceId> = self.own_devices.keys().copied().collect();
        for d in mine {
            self.encrypt_for(rng, &d, content.clone(), None)?;
        }
        self.flush_outbox();
        Ok(())
    }

    pub(super) fn save_room(&mut self, id: &RoomId) -> Result<(), EngineError> {
        if let Some(e) = self.rooms.get(id) {
            let record = RoomRecord {
                room: e.room.to_stored()?,
                unread: e.unread,
                last_activity: e.last_activity,
            };
            self.pending.push(put(key::room(id), &record));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::content::RoomContent;
    use crate::engine::content::ReceiptKind;

    #[test]
    fn room_content_is_padded_to_buckets_and_round_trips() {
        let c = RoomContent::Receipt {
            kind: ReceiptKind::Read,
            ids: vec![[1; 16]],
        };
        let p = c.to_padded();
        assert_eq!(p.len() % 128, 0);
        assert_eq!(RoomContent::from_padded(&p), Ok(c));
        let mut bad = p.clone();
        if let Some(last) = bad.last_mut() {
            *last = 1;
        }
        assert!(RoomContent::from_padded(&bad).is_err());
    }
}
