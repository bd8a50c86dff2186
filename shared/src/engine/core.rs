//! The engine: its state, what the UI reads, the connection, pairing and
//! the conversation intents. Loading, sending, the relay account, key reset,
//! prekeys, sessions and presence live in their own modules.

use std::collections::VecDeque;

use rand_core::CryptoRng;

use super::content::{Content, MessageId, Profile, ReceiptKind};
pub(super) use super::effects::put;
pub use super::effects::{Effect, MemoryStore, StoreOp};
pub use super::error::EngineError;
use super::model::{AccountRecord, Body, Contact, Message, Notice, OutboxEntry, Status, key};
use super::prekeys::KeysRecord;
use super::rotation::PendingRotation;
use super::sync::SyncEvent;
use crate::crypto::account::AccountId;
use crate::crypto::keys::{IdentityKeyPair, PreKeyBundle};
use crate::crypto::pairing::Paired;
use crate::crypto::safety::SafetyNumber;
use crate::crypto::session::Session;
use crate::map::{Map, MapExt as _};
use crate::protocol::ws::{ClientFrame, DeviceId};
use crate::time::{Millis, UnixMs};

/// Longest disappearing-message timer (4 weeks).
pub(super) const MAX_TIMER_SECS: u32 = 28 * 86_400;

/// The client's state and logic.
pub struct Engine {
    pub(super) identity: IdentityKeyPair,
    pub(super) account: AccountRecord,
    pub(super) contacts: Map<DeviceId, Contact>,
    pub(super) history: Map<DeviceId, Vec<Message>>,
    pub(super) outbox: Map<u64, OutboxEntry>,
    pub(super) next_seq: u64,
    pub(super) online: bool,
    pub(super) effects: VecDeque<Effect>,
    pub(super) pending: Vec<StoreOp>,
    pub(super) rotation: Option<PendingRotation>,
    pub(super) prefs: super::typing::Prefs,
    /// Contacts that moved to a successor identity this run (old → new), so
    /// an open conversation can follow.
    pub(super) moved: Map<DeviceId, DeviceId>,
    /// Earliest message expiry ([`UnixMs::NEVER`]: none, the epoch:
    /// unknown), so the once-a-second tick does not walk the whole history.
    pub(super) next_expiry: UnixMs,
    /// Archived sessions per contact (see `sessions`).
    pub(super) archives: Map<DeviceId, Vec<Session>>,
    /// Prekey schedule and accepted starts (see `prekeys`).
    pub(super) account_keys: KeysRecord,
    /// The next prekey status check (the epoch: at the next tick).
    pub(super) next_prekey_check: UnixMs,
    /// REST requests in flight.
    pub(super) requests: super::http::Requests,
    /// The account flow (registration, login, key reset).
    pub(super) auth: super::account::AuthState,
    /// This person's account key and device list (see `own`).
    pub(super) own: Option<super::own::OwnAccount>,
    /// Contacts' accounts, by conversation (see `peers`).
    pub(super) peers: Map<DeviceId, super::peers::PeerAccount>,
    /// A contact's other device → its conversation.
    pub(super) owners: Map<DeviceId, DeviceId>,
    /// Envelopes from unknown devices held while lists are fetched.
    pub(super) parked: Vec<super::lists::Parked>,
    /// When lists were last fetched for an unknown sender.
    pub(super) lists_fetched_at: Option<UnixMs>,
    /// List fetches for parked envelopes not answered yet.
    pub(super) lists_pending: usize,
    /// Waiting to be linked into an existing account (makes none of its own).
    pub(super) linking: bool,
    /// A new device paired with the device linking it (`engine::link`).
    pub(super) link_pin: Option<super::link::LinkPin>,
    /// This device asked to leave its account (not stored: it is about to
    /// be deleted).
    pub(super) leaving: bool,
    /// Changes to our own list not yet on the relay (see `own_changes`).
    pub(super) own_changes: Vec<super::own_changes::OwnChange>,
    /// Rebases of our list tried since the last success.
    pub(super) rebases: u8,
    /// Sessions with this account's other devices (see `sync`).
    pub(super) own_devices: Map<DeviceId, super::peers::PeerDevice>,
    /// The restore flow (see `restore`).
    pub(super) restore: super::restore::RestoreState,
    /// Group rooms this device is in (see `rooms`).
    pub(super) rooms: Map<crate::group::RoomId, super::rooms::RoomEntry>,
    /// Room messages waiting for the relay (see `rooms::outbound`).
    pub(super) room_out: Map<u64, super::rooms::outbound::RoomOut>,
    /// Room members who are not contacts (see `rooms::members`).
    pub(super) members: Map<AccountId, super::rooms::members::MemberAccount>,
    /// A member's device → its account.
    pub(super) member_of: Map<DeviceId, AccountId>,
    /// Room messages waiting for their sender key (see `rooms::held`).
    pub(super) room_held: Vec<super::rooms::held::Held>,
    /// Our devices new since the last look, owed our rooms' logs (not
    /// stored: a restart sends them again from the list).
    pub(super) rooms_to_tell: Map<DeviceId, ()>,
    /// Room logs that came from our other device before this (newly
    /// linked) device had its account; joined once it has.
    pub(super) early_rooms: Vec<(crate::group::RoomId, Vec<crate::group::SignedChange>)>,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("identity", &self.identity)
            .field("contacts", &self.contacts.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    // ------------------------------------------------------------ accessors

    /// This device's id (Ed25519 public key).
    pub fn device_id(&self) -> DeviceId {
        self.identity.device_id()
    }

    /// The identity key pair (for pairing flows; never leaves the client).
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }

    /// Our display name.
    pub fn name(&self) -> &str {
        &self.account.name
    }

    /// Our profile, as sent while pairing.
    pub fn profile(&self) -> Vec<u8> {
        Profile {
            name: self.account.name.clone(),
        }
        .to_bytes()
    }

    /// Whether the relay has accepted our registration.
    pub fn registered(&self) -> bool {
        self.account.registered
    }

    /// The session token, if one is held and not expired at `now` (ms).
    pub fn token(&self, now: UnixMs) -> Option<&str> {
        self.account
            .token
            .as_deref()
            .filter(|_| self.account.token_expires_at > now + Millis::from_secs(60))
    }

    /// Contacts, most recent conversation first.
    pub fn contacts(&self) -> Vec<&Contact> {
        let mut v: Vec<&Contact> = self.contacts.values().collect();
        crate::sort::sort_by_key(&mut v, |c| std::cmp::Reverse(c.last_activity));
        v
    }

    /// One contact.
    pub fn contact(&self, peer: &DeviceId) -> Option<&Contact> {
        self.contacts.get(peer)
    }

    /// Where a contact went if it reset its keys since start-up.
    pub fn moved_to(&self, old: &DeviceId) -> Option<DeviceId> {
        self.moved.get(old).copied()
    }

    /// The conversation with `peer`, oldest first.
    pub fn messages(&self, peer: &DeviceId) -> &[Message] {
        self.history.get(peer).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Envelopes not yet accepted by the relay.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Whether the relay connection is up (after `Ready`).
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// The safety number with `peer`, over the two account keys. `None`
    /// until both are known (from the first exchange after pairing): a
    /// number people compare must never change afterwards.
    pub fn safety_number(&self, peer: &DeviceId) -> Option<SafetyNumber> {
        self.contacts.get(peer)?;
        let ours = self.account_public()?;
        let theirs = self.peers.get(peer)?;
        Some(SafetyNumber::for_accounts(&ours, &theirs.account))
    }

    /// How many devices the contact's account lists (1 until it is known).
    pub fn device_count(&self, peer: &DeviceId) -> usize {
        self.peers.get(peer).map_or(1, |p| p.list.devices().len())
    }

    /// Effects or writes are waiting for the adapter.
    pub fn has_effects(&self) -> bool {
        !self.effects.is_empty() || !self.pending.is_empty()
    }

    /// Next effect to carry out.
    pub fn next_effect(&mut self) -> Option<Effect> {
        self.commit();
        self.effects.pop_front()
    }

    // ------------------------------------------------------------ connection

    /// The WebSocket opened: authenticate first.
    pub fn on_open(&mut self, now: UnixMs) {
        if let Some(t) = self.token(now).map(str::to_owned) {
            self.effects
                .push_back(Effect::Send(ClientFrame::Auth { token: t }));
        }
    }

    /// The WebSocket closed: everything in flight is resent on reconnect.
    pub fn on_close(&mut self) {
        self.online = false;
        for o in self.outbox.values_mut() {
            o.in_flight = false;
        }
        for o in self.room_out.values_mut() {
            o.in_flight = false;
        }
        for c in self.contacts.values_mut() {
            c.online = false;
        }
        // Unacknowledged: the relay delivers them again.
        self.parked.clear();
        self.room_held.clear();
        self.effects.push_back(Effect::Changed);
    }

    pub(super) fn on_ready<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, now: UnixMs) {
        self.online = true;
        self.ensure_account(rng, now);
        self.check_prekeys(now);
        self.send_presence();
        // Sessions we owe the peer (pairing finished while offline).
        let owed: Vec<DeviceId> = self
            .contacts
            .values()
            .filter(|c| c.initiator && c.session.is_none())
            .map(Contact::device)
            .collect();
        for d in owed {
            self.fetch_bundle(d);
        }
        // A contact's other devices, or ours, we have something for.
        let owed: Vec<DeviceId> = self
            .peers
            .values()
            .flat_map(|p| p.others.iter())
            .chain(self.own_devices.iter())
            .chain(self.members.values().flat_map(|m| m.devices.iter()))
            .filter(|(_, d)| d.session.is_none() && !d.waiting.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for d in owed {
            self.fetch_bundle(d);
        }
        // Room messages written while offline, and members not known yet.
        self.ask_member_lists(now);
        self.seal_room_out(rng, now);
        self.flush_outbox();
        self.effects.push_back(Effect::Changed);
    }

    // ------------------------------------------------------------ pairing

    /// A pairing finished: adds the contact. The joiner (`initiator`) starts
    /// the session by fetching the inviter's bundle; the inviter waits for
    /// the joiner's first message.
    pub fn add_contact(&mut self, paired: Paired, initiator: bool, now: UnixMs) {
        let dev = paired.peer.device_id();
        let name = Profile::from_bytes(&paired.profile).name;
        let contact = self.new_contact(paired.peer, name, initiator, now);
        self.contacts.insert(dev, contact);
        self.push_notice(&dev, Notice::Paired, now);
        self.save_contact(&dev);
        self.commit();
        if initiator && self.online {
            self.fetch_bundle(dev);
        }
        self.send_presence();
        self.effects.push_back(Effect::Changed);
    }

    /// A contact with no session yet: our profile waits for the first one.
    pub(super) fn new_contact(
        &self,
        identity: crate::crypto::keys::IdentityPublic,
        name: String,
        initiator: bool,
        now: UnixMs,
    ) -> Contact {
        Contact {
            identity,
            name,
            unread: 0,
            timer_secs: None,
            paired_at: now,
            last_activity: now,
            verified: false,
            identity_changed: false,
            session: None,
            initiator,
            waiting: vec![Content::Profile(Profile {
                name: self.account.name.clone(),
            })],
            seen: VecDeque::new(),
            online: false,
            typing_until: UnixMs::EPOCH,
            typing_sent_at: UnixMs::EPOCH,
        }
    }

    /// A contact's bundle arrived (asked for by an [`Effect::Http`]; a failed
    /// fetch is retried on the next `Ready`).
    pub fn bundle_fetched<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        bundle: &[u8],
    ) -> Result<(), EngineError> {
        let bundle = PreKeyBundle::from_bytes(bundle).map_err(|_| EngineError::BadBundle)?;
        let c = self.slot(peer).ok_or(EngineError::UnknownContact)?;
        if c.session.is_some() {
            return Ok(());
        }
        // The bundle is signed by the identity pinned at pairing (or listed
        // by the contact's account), or refused.
        if bundle.identity() != c.identity {
            return Err(EngineError::BadBundle);
        }
        let session = Session::initiate(rng, &self.identity, &bundle)?;
        if let Some(c) = self.slot(peer) {
            *c.session = Some(session);
        }
        self.drain_waiting(rng, peer)?;
        Ok(())
    }

    /// The user has seen the conversation: read receipts for what is unread.
    pub fn mark_read<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
    ) -> Result<(), EngineError> {
        let Some(h) = self.history.get_mut(peer) else {
            return Ok(());
        };
        let mut ids = Vec::new();
        let mut changed = Vec::new();
        for m in h.iter_mut() {
            if !m.outgoing && m.status < Status::Read && !matches!(m.body, Body::Notice(_)) {
                m.status = Status::Read;
                ids.push(m.id);
                changed.push(m.clone());
            }
        }
        for m in &changed {
            self.pending.push(put(key::message(peer, m.seq), m));
        }
        if let Some(c) = self.contacts.get_mut(peer)
            && c.unread > 0
        {
            c.unread = 0;
            self.save_contact(peer);
        }
        if !ids.is_empty() {
            self.send_content(
                rng,
                peer,
                Content::Receipt {
                    kind: ReceiptKind::Read,
                    ids: ids.clone(),
                },
                None,
            )?;
            let read = SyncEvent::Read {
                conversation: *peer,
                ids,
            };
            self.sync_own(rng, read)?;
            self.effects.push_back(Effect::Changed);
        }
        self.commit();
        Ok(())
    }

    /// Sets the conversation's disappearing-message timer (both sides).
    pub fn set_timer<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        secs: Option<u32>,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        if secs.is_some_and(|s| s == 0 || s > MAX_TIMER_SECS) {
            return Err(EngineError::BadTimer);
        }
        let c = self
            .contacts
            .get_mut(peer)
            .ok_or(EngineError::UnknownContact)?;
        c.timer_secs = secs;
        self.push_notice(peer, Notice::Timer { secs, by_me: true }, now);
        self.save_contact(peer);
        self.send_content(rng, peer, Content::Timer { secs }, None)?;
        let timer = SyncEvent::Timer {
            conversation: *peer,
            secs,
        };
        self.sync_own(rng, timer)?;
        self.effects.push_back(Effect::Changed);
        Ok(())
    }

    /// Marks the peer's safety number as compared (or not).
    pub fn set_verified(&mut self, peer: &DeviceId, verified: bool) -> Result<(), EngineError> {
        let c = self
            .contacts
            .get_mut(peer)
            .ok_or(EngineError::UnknownContact)?;
        c.verified = verified;
        self.save_contact(peer);
        self.commit();
        self.effects.push_back(Effect::Changed);
        Ok(())
    }

    /// Deletes the conversation and the contact (pairing again starts
    /// anew), here and on this account's other devices.
    pub fn delete_conversation<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
    ) -> Result<(), EngineError> {
        self.forget_conversation(peer)?;
        let deleted = SyncEvent::Deleted {
            conversation: *peer,
        };
        self.sync_own(rng, deleted)
    }

    pub(super) fn forget_conversation(&mut self, peer: &DeviceId) -> Result<(), EngineError> {
        self.contacts
            .remove(peer)
            .ok_or(EngineError::UnknownContact)?;
        for m in self.history.remove(peer).unwrap_or_default() {
            self.pending
                .push(StoreOp::Delete(key::message(peer, m.seq)));
        }
        let dropped: Vec<u64> = self
            .outbox
            .values()
            .filter(|o| &o.to == peer)
            .map(|o| o.seq)
            .collect();
        for seq in dropped {
            self.outbox.remove(&seq);
            self.pending.push(StoreOp::Delete(key::outbox(seq)));
        }
        self.pending.push(StoreOp::Delete(key::contact(peer)));
        self.drop_archive(peer);
        self.forget_peer(peer);
        self.commit();
        self.send_presence();
        self.effects.push_back(Effect::Changed);
        Ok(())
    }

    /// Once a second: deletes disappearing messages whose time is up,
    /// resends (in order) what the relay refused for a moment, and asks for
    /// a prekey check when one is due. Returns the next expiry.
    pub fn tick(&mut self, now: UnixMs) -> Option<UnixMs> {
        self.flush_outbox();
        if self.expire_typing(now) | self.expire_room_typing(now) {
            self.effects.push_back(Effect::Changed);
        }
        if self.online && now >= self.next_prekey_check {
            self.check_prekeys(now);
        }
        if self.online && !self.parked.is_empty() {
            self.fetch_lists_if_due(now);
        }
        self.expire_held(now);
        self.ask_member_lists(now);
        let room_end = self.expire_rooms(now);
        let sooner = |t: Option<UnixMs>| match (t, room_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if now < self.next_expiry {
            return sooner((self.next_expiry != UnixMs::NEVER).then_some(self.next_expiry));
        }
        // Conversations and rooms share one next expiry, so this walk runs
        // only when something is due.
        let mut next: Option<UnixMs> = None;
        let mut gone = Vec::new();
        for (d, h) in &mut self.history {
            prune_expired(
                h,
                now,
                |m| m.expires_at,
                &mut next,
                |m| {
                    gone.push(key::message(d, m.seq));
                },
            );
        }
        for (id, e) in &mut self.rooms {
            prune_expired(
                &mut e.history,
                now,
                |m| m.expires_at,
                &mut next,
                |m| {
                    gone.push(super::rooms::messages::message_key(id, m.seq));
                },
            );
        }
        if !gone.is_empty() {
            self.pending.extend(gone.into_iter().map(StoreOp::Delete));
            self.commit();
            self.effects.push_back(Effect::Changed);
        }
        self.next_expiry = next.unwrap_or(UnixMs::NEVER);
        sooner(next)
    }

    pub(super) fn insert_message(&mut self, peer: &DeviceId, m: Message, now: UnixMs) {
        if let Some(t) = m.expires_at {
            self.next_expiry = self.next_expiry.min(t);
        }
        self.pending.push(put(key::message(peer, m.seq), &m));
        self.typing_done(peer, !m.outgoing);
        self.history.entry(*peer).or_default().push(m);
        if let Some(c) = self.contacts.get_mut(peer) {
            c.last_activity = now;
            self.save_contact(peer);
        }
        self.effects.push_back(Effect::Changed);
    }

    pub(super) fn push_notice(&mut self, peer: &DeviceId, n: Notice, now: UnixMs) {
        let id = [0u8; 16];
        let m = Message {
            id,
            seq: self.take_seq(),
            outgoing: false,
            body: Body::Notice(n),
            at: now,
            status: Status::Read,
            expires_at: None,
        };
        self.insert_message(peer, m, now);
    }

    pub(super) fn set_status(&mut self, peer: &DeviceId, id: &MessageId, status: Status) {
        let Some(h) = self.history.get_mut(peer) else {
            return;
        };
        if let Some(m) = h
            .iter_mut()
            .find(|m| m.outgoing && &m.id == id && m.status < status)
        {
            m.status = status;
            self.pending.push(put(key::message(peer, m.seq), &*m));
            self.effects.push_back(Effect::Changed);
        }
    }

    pub(super) fn save_contact(&mut self, peer: &DeviceId) {
        if let Some(c) = self.contacts.get(peer) {
            self.pending.push(put(key::contact(peer), c));
        }
    }

    pub(super) fn save_prefs(&mut self) {
        self.pending.push(put(key::PREFS.to_owned(), &self.prefs));
    }

    pub(super) fn save_account(&mut self) {
        self.pending
            .push(put(key::ACCOUNT.to_owned(), &self.account));
    }

    /// Queues the pending writes as one atomic store effect.
    pub(super) fn commit(&mut self) {
        if !self.pending.is_empty() {
            let ops = std::mem::take(&mut self.pending);
            self.effects.push_back(Effect::Store(ops));
        }
    }
}

/// Drops the entries of `list` whose expiry has come (`dropped` hears of
/// each) and lowers `next` to the earliest expiry left.
pub(super) fn prune_expired<M>(
    list: &mut Vec<M>,
    now: UnixMs,
    expires: impl Fn(&M) -> Option<UnixMs>,
    next: &mut Option<UnixMs>,
    mut dropped: impl FnMut(&M),
) {
    list.retain(|m| match expires(m) {
        Some(t) if t <= now => {
            dropped(m);
            false
        }
        Some(t) => {
            *next = Some(next.map_or(t, |n| n.min(t)));
            true
        }
        None => true,
    });
}
