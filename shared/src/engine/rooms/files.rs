//! Files in rooms (issue 15, ADR 0026): the uploader names every member
//! device as a recipient of one encrypted object, offers it once in the
//! room (the key travels inside the sender-key message), and each member
//! device may download it until it expires; with delete-after-download the
//! relay deletes it when the last recipient has taken it.

use rand_core::CryptoRng;

use super::super::content::MessageId;
use super::super::core::{Effect, Engine, put};
use super::super::error::EngineError;
use super::super::files::{FileOffer, FileState};
use super::super::outbox::random16;
use super::content::RoomContent;
use super::messages::{RoomBody, RoomFile, message_key};
use crate::group::{GroupError, RoomId};
use crate::map::MapExt as _;
use crate::protocol::attachments::valid_object_id;
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

impl Engine {
    /// The devices that may download a file sent to `room` now: every
    /// member device but this one. The room must have every member's
    /// devices known, so nobody is left out of the object's recipients.
    pub fn room_file_devices(&self, room: &RoomId) -> Result<Vec<DeviceId>, EngineError> {
        let e = self.rooms.get(room).ok_or(EngineError::UnknownRoom)?;
        if !e.room.joined() {
            return Err(EngineError::Room(GroupError::NotMember));
        }
        if !self.room_settled(room) {
            return Err(EngineError::NotSettled);
        }
        let me = self.device_id();
        let mut v: Vec<DeviceId> = self
            .member_devices(room)
            .into_values()
            .flatten()
            .filter(|d| *d != me)
            .collect();
        crate::sort::sort(&mut v);
        v.dedup();
        Ok(v)
    }

    /// How long the relay should keep a file sent to `room` now: `wanted`,
    /// but never past the room's end (at least the relay's 1 s minimum).
    pub fn room_file_ttl(&self, room: &RoomId, wanted: Millis, now: UnixMs) -> Millis {
        self.room_ends_at(room)
            .map_or(wanted, |end| end.since(now).min(wanted))
            .max(Millis::from_secs(1))
    }

    /// Offers an uploaded file in a room.
    pub fn send_room_file<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        offer: FileOffer,
        now: UnixMs,
    ) -> Result<MessageId, EngineError> {
        if !valid_object_id(&offer.object) {
            return Err(EngineError::Corrupt("object id".to_owned()));
        }
        let id = random16(rng);
        let content = RoomContent::File {
            id,
            offer: offer.clone(),
        };
        let body = RoomBody::File(RoomFile {
            offer,
            state: FileState::Offered,
        });
        self.queue_room(rng, room, id, &content, body, now)?;
        Ok(id)
    }

    /// Records what became of a room file on this device (downloaded,
    /// declined, deleted); only forward moves count.
    pub fn room_file_state(
        &mut self,
        room: &RoomId,
        id: &MessageId,
        state: FileState,
    ) -> Result<(), EngineError> {
        let e = self.rooms.get_mut(room).ok_or(EngineError::UnknownRoom)?;
        let Some(m) = e
            .history
            .iter_mut()
            .find(|m| &m.id == id && matches!(&m.body, RoomBody::File(f) if f.state != state))
        else {
            return Ok(());
        };
        if let RoomBody::File(f) = &mut m.body
            && f.state == FileState::Offered
        {
            f.state = state;
            let (k, v) = (message_key(room, m.seq), m.clone());
            self.pending.push(put(k, &v));
            self.commit();
            self.effects.push_back(Effect::Changed);
        }
        Ok(())
    }
}
