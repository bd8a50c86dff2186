//! Room lifetimes (the seed's "TTL on rooms", ADR 0025): a room ends at a
//! fixed time or after a stretch without messages or changes, as its
//! signed state says. When it ends every member device deletes the room,
//! its history and whatever of it still waits to be sent; the relay never
//! knew the room, and its envelopes were acknowledged as they came. The
//! room's disappearing-message timer deletes single entries with the
//! conversations' ones (`Engine::tick`).

use super::super::core::{Effect, Engine, StoreOp};
use super::messages::message_key;
use super::outbound::out_key;
use crate::group::RoomId;
use crate::time::UnixMs;

impl Engine {
    /// When a room ends (`None`: never).
    pub fn room_ends_at(&self, room: &RoomId) -> Option<UnixMs> {
        let e = self.rooms.get(room)?;
        let life = &e.room.state().lifetime;
        let idle = life.idle.map(|i| e.last_activity.saturating_add(i));
        match (life.ends_at, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Deletes the rooms that have ended; returns when the next one ends.
    pub(crate) fn expire_rooms(&mut self, now: UnixMs) -> Option<UnixMs> {
        let mut next: Option<UnixMs> = None;
        let mut ended = Vec::new();
        let ids: Vec<RoomId> = self.rooms.keys().copied().collect();
        for id in ids {
            match self.room_ends_at(&id) {
                Some(t) if t <= now => ended.push(id),
                Some(t) => next = Some(next.map_or(t, |n| n.min(t))),
                None => {}
            }
        }
        for id in &ended {
            self.delete_room(id);
        }
        if !ended.is_empty() {
            self.commit();
            self.sync_members(now);
            self.effects.push_back(Effect::Changed);
        }
        next
    }

    /// Deletes a room and everything of it on this device.
    pub fn delete_room(&mut self, id: &RoomId) {
        let Some(e) = self.rooms.remove(id) else {
            return;
        };
        for m in &e.history {
            self.pending.push(StoreOp::Delete(message_key(id, m.seq)));
        }
        let outs: Vec<u64> = self
            .room_out
            .values()
            .filter(|o| o.room == *id)
            .map(|o| o.seq)
            .collect();
        for seq in outs {
            self.room_out.remove(&seq);
            self.pending.push(StoreOp::Delete(out_key(seq)));
        }
        self.pending
            .push(StoreOp::Delete(super::super::model::key::room(id)));
    }
}
