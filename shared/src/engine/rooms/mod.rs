//! Group rooms in the engine (issue 15, ADR 0025): which rooms this device
//! is in, creating one, and taking in membership changes from other
//! members. The room logic itself (log, sender keys) is `crate::group`.
//!
//! Not yet here (issue 15): files and typing in rooms.

pub mod admin;
pub mod content;
pub mod expiry;
pub mod files;
pub mod held;
pub mod members;
pub mod messages;
pub mod outbound;
pub mod pairwise;
pub mod typing;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use self::content::RoomPairwise;
use super::content::Content;
use super::content::MessageId;
use super::core::{Engine, put};
use super::error::EngineError;
use super::model::{RECORD_VERSION, key};
use crate::crypto::account::{AccountId, AccountPublic};
use crate::crypto::codec;
use crate::crypto::safety::SafetyNumber;
use crate::group::room::StoredRoom;
use crate::group::{ChangeHash, GroupError, Invitee, Lifetime, Room, RoomId, RoomLog};
use crate::map::Map;
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
    /// Members typing, until when (not stored).
    pub typing: Map<AccountId, UnixMs>,
    /// When this device last said it is typing here (not stored).
    pub(crate) typing_sent_at: UnixMs,
}

#[derive(Serialize, Deserialize)]
struct RoomRecord {
    room: StoredRoom,
    unread: u32,
    last_activity: UnixMs,
}

impl RoomEntry {
    pub(crate) fn new(room: Room, now: UnixMs) -> Self {
        Self {
            room,
            unread: 0,
            last_activity: now,
            history: Vec::new(),
            typing: Map::new(),
            typing_sent_at: UnixMs::EPOCH,
        }
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, EngineError> {
        let r: RoomRecord = codec::decode(RECORD_VERSION, b)?;
        Ok(Self {
            room: Room::from_stored(&r.room).map_err(|e| EngineError::Corrupt(e.to_string()))?,
            unread: r.unread,
            last_activity: r.last_activity,
            history: Vec::new(),
            typing: Map::new(),
            typing_sent_at: UnixMs::EPOCH,
        })
    }
}

/// A notice's id: from the change it reports, so every device of ours
/// shows the same one.
pub(crate) fn notice_id(hash: &ChangeHash) -> MessageId {
    let mut id = [0u8; 16];
    id.copy_from_slice(&hash.0[..16]);
    id
}

impl From<GroupError> for EngineError {
    fn from(e: GroupError) -> Self {
        Self::Room(e)
    }
}

/// A member as a room's member list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// The member's account.
    pub account: AccountId,
    /// The name the room was given for them.
    pub name: String,
    /// May change the room.
    pub admin: bool,
    /// This account.
    pub me: bool,
    /// The digits to compare with them, over both account keys (the key
    /// from the room's signed log); `None` for this account.
    pub safety: Option<String>,
}

impl Engine {
    /// A contact's account (`None` until its list was adopted).
    pub fn contact_account(&self, conv: &DeviceId) -> Option<AccountId> {
        self.peers.get(conv).map(|p| p.account.id())
    }

    /// One room.
    pub fn room(&self, id: &RoomId) -> Option<&RoomEntry> {
        self.rooms.get(id)
    }

    /// A room's members: admins first, then by name.
    pub fn room_members(&self, id: &RoomId) -> Vec<MemberInfo> {
        let Some(e) = self.rooms.get(id) else {
            return Vec::new();
        };
        let ours = self.account_public();
        let me = ours.as_ref().map(AccountPublic::id);
        let mut v: Vec<MemberInfo> = e
            .room
            .state()
            .members
            .iter()
            .map(|(a, m)| MemberInfo {
                account: *a,
                name: m.name.clone(),
                admin: m.admin,
                me: Some(*a) == me,
                safety: ours
                    .as_ref()
                    .filter(|_| Some(*a) != me)
                    .map(|o| SafetyNumber::for_accounts(o, &m.account).grouped()),
            })
            .collect();
        crate::sort::sort_by(&mut v, |x, y| (!x.admin, &x.name).cmp(&(!y.admin, &y.name)));
        v
    }

    /// The rooms this device is in, most recent first.
    pub fn rooms(&self) -> Vec<(&RoomId, &RoomEntry)> {
        let mut v: Vec<_> = self.rooms.iter().collect();
        crate::sort::sort_by_key(&mut v, |(_, r)| std::cmp::Reverse(r.last_activity));
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
            RoomEntry::new(Room::new(log, me, self.device_id()), now),
        );
        self.save_room(&id)?;
        let tell = Content::Room(RoomPairwise::Changes {
            room: id,
            changes: vec![create.clone()],
        });
        for conv in members {
            self.send_content(rng, conv, tell.clone(), None)?;
        }
        self.tell_own_devices(rng, &tell)?;
        self.room_notice(
            &id,
            notice_id(&create.hash()),
            messages::RoomNotice::Created {
                by: self.account.name.clone(),
            },
            now,
        );
        self.commit();
        self.sync_members(now);
        self.effects.push_back(super::core::Effect::Changed);
        Ok(id)
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
    use crate::time::UnixMs;

    #[test]
    fn room_content_is_padded_to_buckets_and_round_trips() {
        let c = RoomContent::Text {
            id: [1; 16],
            text: "hi".to_owned(),
            sent_at: UnixMs::EPOCH,
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
