//! "Bob is typing…" in rooms: the same rules as for pairs (`engine::typing`:
//! off both ways in Settings, at most every 3 s, shown for 6 s), sent as
//! ephemeral pairwise envelopes to the member devices that have a session
//! (a `SendMany` is always durable, ADR 0026).

use rand_core::CryptoRng;

use super::super::content::Content;
use super::super::core::{Effect, Engine};
use super::super::typing::{RESEND_MS, SHOW_MS};
use super::content::RoomPairwise;
use crate::crypto::account::AccountId;
use crate::group::RoomId;
use crate::map::MapExt as _;
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

impl Engine {
    /// The draft in `room` holds text (`true`) or was cleared unsent.
    pub fn room_typing<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        room: &RoomId,
        typing: bool,
        now: UnixMs,
    ) {
        if !self.prefs().typing_indicators || !self.online {
            return;
        }
        let Some(e) = self.rooms.get_mut(room) else {
            return;
        };
        if !e.room.joined() {
            return;
        }
        let due = if typing {
            now.since(e.typing_sent_at) >= RESEND_MS
        } else {
            e.typing_sent_at != UnixMs::EPOCH
        };
        if !due {
            return;
        }
        e.typing_sent_at = if typing { now } else { UnixMs::EPOCH };
        let me = self.device_id();
        let devices: Vec<DeviceId> = self
            .member_devices(room)
            .into_values()
            .flatten()
            .filter(|d| *d != me)
            .collect();
        let typing = Content::Room(RoomPairwise::Typing {
            room: *room,
            active: typing,
        });
        // A device without a session simply does not see it.
        let _ = self.send_ephemeral_to(rng, &devices, &typing);
    }

    /// A member says it is typing (or stopped).
    pub(crate) fn room_typing_received(
        &mut self,
        room: &RoomId,
        account: AccountId,
        active: bool,
        now: UnixMs,
    ) {
        if !self.prefs().typing_indicators || self.account_public().map(|a| a.id()) == Some(account)
        {
            return;
        }
        let Some(e) = self.rooms.get_mut(room) else {
            return;
        };
        if !e.room.state().is_member(&account) {
            return;
        }
        if active {
            e.typing.insert(account, now + SHOW_MS);
        } else {
            e.typing.remove(&account);
        }
        self.effects.push_back(Effect::Changed);
    }

    /// Who is typing in `room` now.
    pub fn room_typists(&self, room: &RoomId, now: UnixMs) -> Vec<AccountId> {
        self.rooms.get(room).map_or_else(Vec::new, |e| {
            e.typing
                .iter()
                .filter(|(_, until)| **until > now)
                .map(|(a, _)| *a)
                .collect()
        })
    }

    /// Forgets indicators that ran out; true if one did.
    pub(crate) fn expire_room_typing(&mut self, now: UnixMs) -> bool {
        let mut changed = false;
        for e in self.rooms.values_mut() {
            let before = e.typing.len();
            e.typing.retain(|_, until| *until > now);
            changed |= e.typing.len() != before;
        }
        changed
    }
}
