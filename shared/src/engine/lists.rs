//! Contacts' device lists arriving: the relay's `Stale` answer to a send
//! (Signal's mismatched-devices rule), and the lists fetched when a device
//! nobody knows writes to us (a contact's new device, before any `Stale`
//! told us of it). Adopting a list starts sessions with the added devices,
//! re-encrypts for them the messages still waiting for the relay, stops
//! encrypting to removed ones and says so in the conversation.

use rand_core::CryptoRng;

use super::content::Content;
use super::core::{Engine, StoreOp};
use super::http::{Purpose, Reply};
use super::model::{Body, ListProblem, Notice, Status, key};
use crate::crypto::account::{Change, SignedDeviceList};
use crate::protocol::api::{Endpoint as _, GetDeviceList};
use crate::protocol::ws::{DeviceId, EnvelopeId};
use crate::time::{Millis, UnixMs};

/// Envelopes from unknown devices held (unacknowledged) while lists are
/// fetched; beyond this they stay on the relay until the next connection.
pub(super) const MAX_PARKED: usize = 64;
/// Lists are fetched for unknown senders at most this often.
pub(super) const REFRESH_EVERY: Millis = Millis::from_secs(30);

/// An envelope from a device no contact lists (yet).
#[derive(Debug, Clone)]
pub(super) struct Parked {
    pub(super) from: DeviceId,
    pub(super) id: EnvelopeId,
    pub(super) payload: Vec<u8>,
}

impl Engine {
    /// The relay refused envelope `id`: the recipient's account has another
    /// list than the one we named.
    pub(super) fn on_stale<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        id: &EnvelopeId,
        list: Option<SignedDeviceList>,
        now: UnixMs,
    ) {
        let Some(entry) = self.outbox.values().find(|o| &o.id == id).cloned() else {
            return;
        };
        if self.own_devices.contains_key(&entry.to) {
            // Another of our devices changed our list.
            let adopted = list
                .ok_or(ListProblem::Rollback)
                .and_then(|l| self.adopt_own_list(l));
            if adopted.is_err() {
                self.outbox.remove(&entry.seq);
                self.pending.push(StoreOp::Delete(key::outbox(entry.seq)));
            }
            self.resend(entry.seq);
            return;
        }
        if let Some(account) = self.member_account_of(&entry.to) {
            // A room member's list changed.
            let adopted = list
                .ok_or(ListProblem::Rollback)
                .and_then(|l| self.adopt_member_list(&account, l, now));
            if adopted.is_err() {
                self.outbox.remove(&entry.seq);
                self.pending.push(StoreOp::Delete(key::outbox(entry.seq)));
            }
            self.resend(entry.seq);
            return;
        }
        let Some(conv) = self.conversation_of(&entry.to) else {
            self.drop_outbox_to(&entry.to);
            self.commit();
            return;
        };
        // `None`: the relay says the device is in no account although we
        // adopted one for it: it withholds the list.
        let adopted = list
            .ok_or(ListProblem::Rollback)
            .and_then(|l| self.adopt_list(&conv, l));
        match adopted {
            Ok(change) => self.list_adopted(rng, &conv, &change, now),
            Err(problem) => {
                // Not sent to a set of devices we cannot trust.
                self.outbox.remove(&entry.seq);
                self.pending.push(StoreOp::Delete(key::outbox(entry.seq)));
                self.list_refused(&conv, problem, now);
            }
        }
        self.resend(entry.seq);
    }

    /// Sends the refused envelope again under the counter now adopted (if
    /// it is still due). The others in flight are not touched: those to the
    /// same account get their own `Stale` answer (they named the same
    /// counter), the rest their own acceptance.
    fn resend(&mut self, seq: u64) {
        self.commit();
        if let Some(o) = self.outbox.get_mut(&seq) {
            o.in_flight = false;
        }
        self.flush_outbox();
    }

    /// A list was adopted for `conv`: tell the user, start sessions with
    /// new devices and give them what still waits for the relay.
    pub(super) fn list_adopted<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        conv: &DeviceId,
        change: &Change,
        now: UnixMs,
    ) {
        let added: Vec<DeviceId> = change
            .added
            .iter()
            .filter(|d| *d != conv)
            .copied()
            .collect();
        let removed = change.removed.len();
        if !added.is_empty() || removed > 0 {
            let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            let notice = Notice::DevicesChanged {
                added: count(added.len()),
                removed: count(removed),
            };
            self.push_notice(conv, notice, now);
            if let Some(account) = self.peers.get(conv).map(|p| p.account.id()) {
                self.devices_changed_in_rooms(&account, now);
            }
        }
        if added.is_empty() {
            return;
        }
        // Texts still waiting for the relay were encrypted for the old set.
        let waiting: Vec<_> = self
            .outbox
            .values()
            .filter(|o| self.conversation_of(&o.to) == Some(*conv))
            .filter_map(|o| o.message)
            .collect();
        let mut texts = Vec::new();
        for id in waiting {
            let found = self
                .messages(conv)
                .iter()
                .find(|m| m.outgoing && m.id == id);
            if let Some(m) = found
                && let Body::Text(text) = &m.body
                && m.status < Status::Delivered
                && !texts.iter().any(|(i, _)| *i == id)
            {
                let expire_secs = m
                    .expires_at
                    .map(|t| u32::try_from(t.since(m.at).as_secs()).unwrap_or(u32::MAX));
                let content = Content::Text {
                    id,
                    text: text.clone(),
                    sent_at: m.at,
                    expire_secs,
                };
                texts.push((id, content));
            }
        }
        for d in added {
            for (id, content) in &texts {
                let _ = self.encrypt_for(rng, &d, content.clone(), Some(*id));
            }
        }
    }

    /// Shows once per streak that a list for `conv` was refused.
    pub(super) fn list_refused(&mut self, conv: &DeviceId, problem: ListProblem, now: UnixMs) {
        let notice = Notice::DeviceListRefused(problem);
        let last = self
            .messages(conv)
            .iter()
            .rev()
            .find_map(|m| match &m.body {
                Body::Notice(n) => Some(n.clone()),
                _ => None,
            });
        if last.as_ref() != Some(&notice) {
            self.push_notice(conv, notice, now);
        }
    }

    /// An envelope from a device no contact lists: perhaps a contact's (or
    /// our own) new device. False when it should be acknowledged and
    /// dropped now (nobody could list it). Otherwise it is held while the
    /// lists are fetched (at most every [`REFRESH_EVERY`]); once they are in,
    /// it is handled if a list names its sender and acknowledged and
    /// dropped if not, so a stranger's envelopes never pile up on the relay.
    /// Between refreshes it is left unacknowledged on the relay for the
    /// next connection.
    pub(super) fn park(&mut self, parked: Parked, now: UnixMs) -> bool {
        if self.peers.is_empty() && self.own.is_none() {
            return false;
        }
        self.fetch_lists_if_due(now);
        let held = self
            .parked
            .iter()
            .any(|p| p.id == parked.id && p.from == parked.from);
        // Held until the lists come in, now or at the next refresh (`tick`
        // asks for it), never left on the relay until a reconnect.
        if !held && self.parked.len() < MAX_PARKED {
            self.parked.push(parked);
        }
        true
    }

    /// Fetches the lists for parked envelopes when a refresh is due.
    pub(super) fn fetch_lists_if_due(&mut self, now: UnixMs) {
        let last = self.lists_fetched_at;
        let due = last.is_none_or(|t| now >= t.saturating_add(REFRESH_EVERY));
        // Replies an adapter lost must not stop refreshes for good.
        if last.is_some_and(|t| now >= t.saturating_add(Millis::from_secs(120))) {
            self.lists_pending = 0;
        }
        if due && self.lists_pending == 0 {
            self.lists_fetched_at = Some(now);
            let accounts: Vec<_> = self
                .peers
                .iter()
                .map(|(c, p)| (*c, p.account.id()))
                .collect();
            for (conv, account) in accounts {
                self.lists_pending += 1;
                self.http(Purpose::List(conv), GetDeviceList { account }.request(&()));
            }
            // Or a room member's.
            let members: Vec<_> = self.members.keys().copied().collect();
            for account in members {
                self.lists_pending += 1;
                self.http(
                    Purpose::MemberList {
                        account,
                        parked: true,
                    },
                    GetDeviceList { account }.request(&()),
                );
            }
            // Or one of our own devices, new since our list.
            if let Some(account) = self.account_public().map(|a| a.id()) {
                self.lists_pending += 1;
                self.http(Purpose::OwnList, GetDeviceList { account }.request(&()));
            }
        }
    }

    /// Our own list fetched because of a parked envelope.
    pub(super) fn own_list_fetched<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        reply: &Reply,
        now: UnixMs,
    ) {
        if let Ok(bytes) = super::http::decode::<GetDeviceList>(reply)
            && let Ok(l) = SignedDeviceList::from_bytes(&bytes.0)
        {
            let _ = self.adopt_own_list(l);
            self.commit();
        }
        self.list_arrived(rng, now);
    }

    /// A contact's list fetched because of a parked envelope.
    pub(super) fn list_fetched<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        conv: &DeviceId,
        reply: &Reply,
        now: UnixMs,
    ) {
        let Ok(bytes) = super::http::decode::<GetDeviceList>(reply) else {
            self.list_arrived(rng, now);
            return;
        };
        let adopted = SignedDeviceList::from_bytes(&bytes.0)
            .map_err(ListProblem::from)
            .and_then(|l| self.adopt_list(conv, l));
        match adopted {
            Ok(change) => self.list_adopted(rng, conv, &change, now),
            Err(problem) => self.list_refused(conv, problem, now),
        }
        self.commit();
        self.list_arrived(rng, now);
    }

    /// One of the lists fetched for parked envelopes is in (or failed).
    /// Once all are, parked envelopes whose sender a list now names are
    /// handled, and the others acknowledged and dropped.
    pub(super) fn list_arrived<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, now: UnixMs) {
        self.lists_pending = self.lists_pending.saturating_sub(1);
        if self.lists_pending > 0 {
            return;
        }
        for p in std::mem::take(&mut self.parked) {
            let known = self.conversation_of(&p.from).is_some()
                || self.own_devices.contains_key(&p.from)
                || self.member_of.contains_key(&p.from);
            if known {
                self.on_deliver(rng, p.from, p.id, false, &p.payload, now);
            } else {
                self.effects.push_back(super::core::Effect::Send(
                    crate::protocol::ws::ClientFrame::Ack {
                        from: p.from,
                        id: p.id,
                    },
                ));
            }
        }
        self.flush_outbox();
        // Room messages held behind those envelopes can be read now.
        self.retry_held(rng, now);
    }
}
