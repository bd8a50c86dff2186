//! The incoming side: relay frames.

use rand_core::CryptoRng;

use super::content::{Content, ReceiptKind, clean_name};
use super::core::{Effect, Engine, MAX_TIMER_SECS, StoreOp, put};
use super::lists::Parked;
use super::model::{Body, Message, Notice, SEEN_WINDOW, Status, key};
use crate::crypto::session::{Session, Start};
use crate::map::MapExt as _;
use crate::protocol::ErrorCode;
use crate::protocol::auth::{CTX_SUCCESSOR, successor_statement};
use crate::protocol::ws::{ClientFrame, DeviceId, EnvelopeId, ServerFrame};
use crate::time::{Millis, UnixMs};

impl Engine {
    /// Handles one frame from the relay.
    pub fn handle_frame<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        frame: ServerFrame,
        now: UnixMs,
    ) {
        self.tell_new_devices_rooms(rng);
        self.join_early_rooms(rng, now);
        match frame {
            ServerFrame::Ready { .. } => self.on_ready(rng, now),
            ServerFrame::Accepted { id } => self.on_accepted(&id),
            ServerFrame::Deliver {
                from,
                id,
                ephemeral,
                payload,
                ..
            } => self.on_deliver(rng, from, id, ephemeral, &payload, now),
            ServerFrame::Error { code, message, id } => {
                if let Some(id) = id {
                    self.on_send_error(&id, code, &message, now);
                }
            }
            ServerFrame::Stale { id, list } => self.on_stale(rng, &id, list, now),
            ServerFrame::StaleMany { id, stale } => self.on_stale_many(rng, &id, stale, now),
            ServerFrame::Presence { device, online } => {
                let conv = self.conversation_of(&device).unwrap_or(device);
                if let Some(c) = self.contacts.get_mut(&conv) {
                    c.online = online;
                    if !online {
                        c.typing_until = UnixMs::EPOCH;
                    }
                    self.effects.push_back(Effect::Changed);
                }
            }
        }
    }

    fn on_accepted(&mut self, id: &EnvelopeId) {
        let Some(seq) = self.outbox.values().find(|o| &o.id == id).map(|o| o.seq) else {
            self.room_accepted(id);
            return;
        };
        let Some(entry) = self.outbox.remove(&seq) else {
            return;
        };
        self.pending.push(StoreOp::Delete(key::outbox(seq)));
        if let Some(m) = entry.message
            && let Some(conv) = self.conversation_of(&entry.to)
        {
            self.set_status(&conv, &m, Status::Sent);
        }
        self.commit();
    }

    fn on_send_error(&mut self, id: &EnvelopeId, code: ErrorCode, why: &str, now: UnixMs) {
        let Some(seq) = self.outbox.values().find(|o| &o.id == id).map(|o| o.seq) else {
            self.room_send_error(id, code);
            return;
        };
        if matches!(
            code,
            ErrorCode::RateLimited | ErrorCode::Unavailable | ErrorCode::Internal
        ) {
            // Transient: the relay refuses what we pipelined after it too
            // (until this one is sent again), so everything from here on is
            // resent in order by the next tick or reconnect.
            for o in self.outbox.values_from_mut(&seq) {
                o.in_flight = false;
            }
            return;
        }
        let Some(entry) = self.outbox.remove(&seq) else {
            return;
        };
        self.pending.push(StoreOp::Delete(key::outbox(seq)));
        if let Some(conv) = self.conversation_of(&entry.to) {
            self.push_notice(&conv, Notice::SendFailed(why.to_owned()), now);
        }
        self.commit();
    }

    pub(super) fn on_deliver<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        from: DeviceId,
        id: EnvelopeId,
        ephemeral: bool,
        payload: &[u8],
        now: UnixMs,
    ) {
        if !ephemeral && crate::group::GroupMessage::is_group(payload) {
            self.on_room_message(rng, from, id, payload, now);
            return;
        }
        let ack = Effect::Send(ClientFrame::Ack { from, id });
        let known = self.slot(&from).map(|s| s.seen.contains(&id));
        match known {
            // Strangers cannot write to us: only paired identities, their
            // accounts' devices (and a contact's signed successor) have a
            // conversation. Anything else is acked so the relay forgets it,
            // unless it may come from a contact's device not known yet.
            None if ephemeral => return,
            None => {
                if !self.try_successor(rng, from, payload, now) {
                    let parked = Parked {
                        from,
                        id,
                        payload: payload.to_vec(),
                    };
                    if Start::of(payload).is_none() || !self.park(parked, now) {
                        self.effects.push_back(ack);
                    }
                    return;
                }
            }
            Some(true) => {
                if !ephemeral {
                    self.effects.push_back(ack);
                }
                return;
            }
            Some(false) => {}
        }
        let conv = self.conversation_of(&from).unwrap_or(from);
        let own = self.own_devices.contains_key(&from);
        let member = self.member_account_of(&from);
        // A successor's first message was handled by `try_successor`.
        let result = known.map(|_| self.decrypt(rng, &from, payload));
        match result {
            None => {}
            // Our own devices only tell us what they did.
            Some(Ok(plaintext)) if own => match Content::from_padded(&plaintext) {
                Ok(Content::Sync(event)) => self.apply_sync(event, now),
                Ok(Content::Handover(offer)) => self.handover_arrived(&from, offer),
                Ok(Content::Room(r)) => {
                    let me = self.account_public().map(|a| a.id());
                    self.room_pairwise(rng, &from, me, r, now);
                }
                _ => {}
            },
            // A room member who is not a contact: room content only.
            Some(Ok(plaintext)) if member.is_some() => {
                if let Ok(Content::Room(r)) = Content::from_padded(&plaintext) {
                    self.room_pairwise(rng, &from, member, r, now);
                }
            }
            Some(Ok(plaintext)) => match Content::from_padded(&plaintext) {
                Ok(Content::Room(r)) => {
                    let account = self.peers.get(&conv).map(|p| p.account.id());
                    self.room_pairwise(rng, &from, account, r, now);
                }
                Ok(content) => self.apply(rng, &conv, content, now),
                // Authentic but not understood: a newer client's ephemeral
                // extra (like typing) is not worth a warning in the chat.
                Err(_) if ephemeral => {}
                Err(e) => self.push_notice(&conv, Notice::Undecryptable(e.to_string()), now),
            },
            Some(Err(_)) if own || member.is_some() => {}
            Some(Err(e)) => self.push_notice(&conv, Notice::Undecryptable(e.to_string()), now),
        }
        if let Some(c) = self.slot(&from) {
            c.seen.push_back(id);
            while c.seen.len() > SEEN_WINDOW {
                c.seen.pop_front();
            }
        }
        self.save_device(&from);
        // Stored first, acknowledged after (see the module docs).
        self.commit();
        if !ephemeral {
            self.effects.push_back(ack);
        }
        // A session may have just started: send what waited for it.
        if self.slot(&from).is_some_and(|c| c.session.is_some()) {
            let _ = self.drain_waiting(rng, &from);
        }
        self.maybe_refill(rng);
    }

    /// A new incoming message: count it unread and send a delivery receipt.
    fn unread_and_delivered<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        from: &DeviceId,
        id: super::content::MessageId,
    ) {
        if let Some(c) = self.contacts.get_mut(from) {
            c.unread = c.unread.saturating_add(1);
        }
        let receipt = Content::Receipt {
            kind: ReceiptKind::Delivered,
            ids: vec![id],
        };
        let _ = self.send_content(rng, from, receipt, None);
    }

    /// A PreKey message from an unknown device is accepted only if it is the
    /// signed successor of a contact (that contact reset its keys). The
    /// contact then moves to the new identity, flagged as changed.
    fn try_successor<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        from: DeviceId,
        payload: &[u8],
        now: UnixMs,
    ) -> bool {
        let Some(start) = Start::of(payload) else {
            return false;
        };
        if self
            .account_keys
            .starts
            .iter()
            .any(|s| s.digest == start.digest)
        {
            return false;
        }
        let Ok(accepted) = Session::accept(rng, &self.identity, &self.account.prekeys, payload)
        else {
            return false;
        };
        let new_identity = accepted.session.peer().clone();
        if new_identity.device_id() != from {
            return false;
        }
        let Ok(Content::Successor { old, signature }) = Content::from_padded(&accepted.plaintext)
        else {
            return false;
        };
        let vouched = self.contacts.get(&old).is_some_and(|prev| {
            prev.identity
                .verify(
                    CTX_SUCCESSOR,
                    &[&successor_statement(&new_identity)],
                    &signature,
                )
                .is_ok()
        });
        if !vouched {
            return false;
        }
        let Some(mut c) = self.contacts.remove(&old) else {
            return false;
        };
        c.identity = new_identity;
        c.session = Some(accepted.session);
        c.identity_changed = true;
        c.verified = false;
        c.initiator = false;
        c.waiting.clear();
        c.seen.clear();
        c.online = false;
        self.contacts.insert(from, c);
        self.moved.insert(old, from);
        self.move_peer(&old, &from);
        self.remember_start(start);
        self.drop_archive(&old);
        self.pending.push(StoreOp::Delete(key::contact(&old)));
        if let Some(h) = self.history.remove(&old) {
            for m in &h {
                self.pending
                    .push(StoreOp::Delete(key::message(&old, m.seq)));
                self.pending.push(put(key::message(&from, m.seq), m));
            }
            self.history.insert(from, h);
        }
        let stale: Vec<u64> = self
            .outbox
            .values()
            .filter(|o| o.to == old)
            .map(|o| o.seq)
            .collect();
        for seq in stale {
            self.outbox.remove(&seq);
            self.pending.push(StoreOp::Delete(key::outbox(seq)));
        }
        if let Some(used) = accepted.consumed_one_time_prekey {
            self.account.prekeys.remove_one_time(used);
            self.save_account();
        }
        self.push_notice(&from, Notice::IdentityChanged, now);
        self.send_presence();
        true
    }

    fn apply<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        from: &DeviceId,
        content: Content,
        now: UnixMs,
    ) {
        match content {
            Content::Text {
                id,
                text,
                expire_secs,
                ..
            } => {
                if self
                    .messages(from)
                    .iter()
                    .any(|m| !m.outgoing && m.id == id)
                {
                    return;
                }
                let expire_secs = expire_secs.filter(|s| *s > 0 && *s <= MAX_TIMER_SECS);
                let m = Message {
                    id,
                    seq: self.take_seq(),
                    outgoing: false,
                    body: Body::Text(text),
                    at: now,
                    status: Status::Delivered,
                    expires_at: expire_secs.map(|s| now + Millis::from_secs(u64::from(s))),
                };
                self.insert_message(from, m, now);
                self.unread_and_delivered(rng, from, id);
            }
            Content::Receipt { kind, ids } => {
                let status = match kind {
                    ReceiptKind::Delivered => Status::Delivered,
                    ReceiptKind::Read => Status::Read,
                };
                for id in ids.iter().take(1024) {
                    self.set_status(from, id, status);
                }
            }
            Content::Timer { secs } => {
                let secs = secs.filter(|s| *s > 0 && *s <= MAX_TIMER_SECS);
                if let Some(c) = self.contacts.get_mut(from) {
                    c.timer_secs = secs;
                }
                self.push_notice(from, Notice::Timer { secs, by_me: false }, now);
            }
            // Handled when it starts a session (see `try_successor`).
            Content::Successor { .. } => {}
            Content::File {
                id,
                offer,
                expire_secs,
            } => {
                if self.receive_file(from, id, offer, expire_secs, now) {
                    self.unread_and_delivered(rng, from, id);
                }
            }
            Content::FileState { id, state } => self.update_file(from, &id, state, true),
            Content::Typing(typing) => self.typing_received(from, typing, now),
            // Only the account's own devices may say what "we" did.
            Content::Sync(_) | Content::Handover(_) => {}
            // Needs the sending device, not only its conversation: taken in
            // by `on_deliver` before it gets here.
            Content::Room(_) => {}
            Content::Call(signal) => {
                if signal.is_acceptable(now) {
                    self.effects.push_back(Effect::Call(*from, signal));
                }
            }
            Content::Profile(p) => {
                let name = clean_name(&p.name);
                if let Some(c) = self.contacts.get_mut(from)
                    && !name.is_empty()
                {
                    c.name = name;
                    self.effects.push_back(Effect::Changed);
                }
            }
        }
    }
}
