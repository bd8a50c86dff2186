//! Room messages whose sender key has not come yet. The key travels in the
//! sender's ordered queue before the message, but it may still be on its
//! way: its session start is being checked against a list being fetched,
//! or the room itself comes from another member's queue. Such messages are
//! held unacknowledged (the relay keeps them if this device stops) and
//! tried again whenever a key or a room arrives; after [`HOLD_FOR`] they
//! are acknowledged and dropped, as a key that never came will not.

use rand_core::CryptoRng;

use super::super::core::{Effect, Engine};
use crate::protocol::ws::{ClientFrame, DeviceId, EnvelopeId};
use crate::time::{Millis, UnixMs};

/// Most room messages held at once.
pub(crate) const MAX_HELD: usize = 256;
/// How long a message waits for its key.
pub(crate) const HOLD_FOR: Millis = Millis::from_secs(300);

/// One held room message.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) from: DeviceId,
    pub(crate) id: EnvelopeId,
    pub(crate) payload: Vec<u8>,
    pub(crate) since: UnixMs,
}

impl Engine {
    /// Holds a room message; false when it cannot be held (full).
    pub(crate) fn hold(
        &mut self,
        from: DeviceId,
        id: EnvelopeId,
        payload: &[u8],
        now: UnixMs,
    ) -> bool {
        if self.room_held.iter().any(|h| h.id == id && h.from == from) {
            return true;
        }
        if self.room_held.len() >= MAX_HELD {
            return false;
        }
        self.room_held.push(Held {
            from,
            id,
            payload: payload.to_vec(),
            since: now,
        });
        true
    }

    /// Tries the held messages again (a key or a room came), in arrival
    /// order; those that still cannot be read stay held.
    pub(crate) fn retry_held<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, now: UnixMs) {
        for h in std::mem::take(&mut self.room_held) {
            self.on_room_message(rng, h.from, h.id, &h.payload, now);
            // Still waiting: since it first arrived, not since now.
            if let Some(again) = self
                .room_held
                .iter_mut()
                .find(|x| x.id == h.id && x.from == h.from)
            {
                again.since = h.since;
            }
        }
    }

    /// Drops (and acknowledges) what waited too long.
    pub(crate) fn expire_held(&mut self, now: UnixMs) {
        let (old, keep): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.room_held)
            .into_iter()
            .partition(|h| now >= h.since.saturating_add(HOLD_FOR));
        self.room_held = keep;
        for h in old {
            self.effects.push_back(Effect::Send(ClientFrame::Ack {
                from: h.from,
                id: h.id,
            }));
        }
    }
}
