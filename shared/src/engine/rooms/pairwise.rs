//! Room content arriving over a pairwise session: membership changes,
//! sender keys and receipts, from a contact's device, one of ours, or a
//! room member's; and the read receipts this device sends when its person
//! opens a room.

use rand_core::CryptoRng;

use super::super::content::{MessageId, ReceiptKind};
use super::super::core::{Effect, Engine, put};
use super::super::model::Status;
use super::content::{MAX_RECEIPT_IDS, RoomPairwise};
use super::messages::message_key;
use crate::crypto::account::AccountId;
use crate::group::{RoomId, SenderKeyShare};
use crate::map::Map;
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

impl Engine {
    /// Room content from `from`, a device of `account` (`None`: a contact
    /// whose account is not known yet; only changes are taken from it, as
    /// they carry their own signatures).
    pub(crate) fn room_pairwise<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        from: &DeviceId,
        account: Option<AccountId>,
        content: RoomPairwise,
        now: UnixMs,
    ) {
        match (content, account) {
            // A change that does not verify changes nothing (ADR 0025).
            (RoomPairwise::Changes { room, changes }, _) => {
                let _ = self.room_changes(rng, room, &changes, now);
            }
            (RoomPairwise::Key(share), Some(a)) => self.room_key(rng, from, a, &share, now),
            (RoomPairwise::Receipt { room, kind, ids }, Some(a)) => {
                self.room_receipt(&room, a, kind, &ids);
            }
            (RoomPairwise::Typing { room, active }, Some(a)) => {
                self.room_typing_received(&room, a, active, now);
            }
            (_, None) => {}
        }
    }

    /// A sender key from a member device; held messages may now be read.
    fn room_key<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        from: &DeviceId,
        account: AccountId,
        share: &SenderKeyShare,
        now: UnixMs,
    ) {
        let room = share.room;
        let Some(e) = self.rooms.get_mut(&room) else {
            return;
        };
        if e.room.accept_share(share, *from, account).is_ok() {
            let _ = self.save_room(&room);
            self.commit();
            self.retry_held(rng, now);
        }
    }

    /// A member's device stored, or the member saw, messages of ours.
    fn room_receipt(
        &mut self,
        room: &RoomId,
        account: AccountId,
        kind: ReceiptKind,
        ids: &[MessageId],
    ) {
        let me = self.account_public().map(|a| a.id());
        let Some(e) = self.rooms.get_mut(room) else {
            return;
        };
        if !e.room.state().is_member(&account) {
            return;
        }
        let mut changed = Vec::new();
        for id in ids.iter().take(MAX_RECEIPT_IDS) {
            let Some(m) = e
                .history
                .iter_mut()
                .find(|m| (m.from.is_none() || m.from == me) && &m.id == id)
            else {
                continue;
            };
            let fresh = match kind {
                ReceiptKind::Delivered => m.delivered.insert(account),
                // Seen implies stored.
                ReceiptKind::Read => m.read.insert(account) | m.delivered.insert(account),
            };
            if fresh {
                let all = u32::try_from(m.delivered.len()).unwrap_or(u32::MAX) >= m.audience;
                let all_read = u32::try_from(m.read.len()).unwrap_or(u32::MAX) >= m.audience;
                let status = if all_read {
                    Status::Read
                } else if all {
                    Status::Delivered
                } else {
                    m.status.max(Status::Sent)
                };
                m.status = m.status.max(status);
                changed.push(m.clone());
            }
        }
        for m in &changed {
            self.pending.push(put(message_key(room, m.seq), m));
        }
        if !changed.is_empty() {
            self.commit();
            self.effects.push_back(Effect::Changed);
        }
    }

    /// The person saw the room: its unread messages become read, and each
    /// author's devices get one read receipt.
    pub fn mark_room_read<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, room: &RoomId) {
        let Some(e) = self.rooms.get_mut(room) else {
            return;
        };
        let mut by_author: Map<AccountId, Vec<MessageId>> = Map::new();
        let mut changed = Vec::new();
        for m in e.history.iter_mut() {
            if let Some(a) = m.from
                && m.status < Status::Read
                && m.text().is_some()
            {
                m.status = Status::Read;
                by_author.entry(a).or_default().push(m.id);
                changed.push(m.clone());
            }
        }
        let had_unread = e.unread > 0;
        e.unread = 0;
        for m in &changed {
            self.pending.push(put(message_key(room, m.seq), m));
        }
        if had_unread || !changed.is_empty() {
            let _ = self.save_room(room);
            self.commit();
            self.effects.push_back(Effect::Changed);
        }
        for (author, ids) in by_author {
            for chunk in ids.chunks(MAX_RECEIPT_IDS) {
                self.send_room_receipt(rng, room, author, ReceiptKind::Read, chunk.to_vec());
            }
        }
    }
}
